"""Command-line message values are converted to the field's type, as ros2cli does, or refused."""

from dynofa_ros.core.common import msg_dict
import pytest
from sensor_msgs.msg import CameraInfo, Image, Range


def test_yaml_numbers_take_the_type_of_their_field():
    rng = msg_dict.fill(Range(), {'field_of_view': 1, 'radiation_type': 1.0, 'max_range': 2.5})
    assert type(rng.field_of_view) is float and rng.field_of_view == 1.0
    assert type(rng.radiation_type) is int and rng.radiation_type == 1
    info = msg_dict.fill(CameraInfo(), {'k': [1, 0, 0, 0, 1, 0, 0, 0, 1], 'd': [0, 0.5],
                                        'header': {'frame_id': 7, 'stamp': {'sec': 3}}})
    assert list(info.k) == [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0] and list(info.d) == [0.0, 0.5]
    assert info.header.frame_id == '7' and info.header.stamp.sec == 3


@pytest.mark.parametrize('values, match', [
    ({'height': -1}, r'height: -1 is out of range for uint32'),
    ({'height': 2.5}, r'height: 2.5 does not fit type uint32'),
    ({'height': 'tall'}, r"height: 'tall' does not fit"),
    ({'height': True}, r'height: True does not fit'),
    ({'is_bigendian': 256}, r'is_bigendian: 256 is out of range for uint8'),
    ({'data': [1, 300]}, r'data\[1\]: 300 is out of range'),
    ({'data': 3}, r'data: 3 does not fit type sequence<uint8>'),
    ({'encoding': [1]}, r'encoding: \[1\] does not fit type string'),
    ({'header': {'stamp': {'sec': 'now'}}}, r"header.stamp.sec: 'now' does not fit"),
    ({'colour': 1}, r'colour: no such field'),
])
def test_values_that_do_not_fit_are_refused_naming_the_field(values, match):
    with pytest.raises(ValueError, match=match):
        msg_dict.fill(Image(), values)
