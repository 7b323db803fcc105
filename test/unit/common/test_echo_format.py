"""`topic echo` shortens long arrays and strings like ros2 topic echo (128 elements, --no-arr)."""

from dynofa_ros.core.common.echo_format import echo_dict
from dynofa_ros.msg import LabelInfo, VisionClass
from sensor_msgs.msg import Image


def _image():
    return Image(height=480, width=640, encoding='rgb8', step=1920,
                 data=bytes(range(256)) * 3600)


def test_an_image_prints_its_first_128_bytes_then_an_ellipsis():
    printed = echo_dict(_image())
    assert printed['data'] == list(range(128)) + ['...']
    assert (printed['height'], printed['encoding']) == (480, 'rgb8')


def test_no_arr_and_no_str_print_a_summary_and_full_length_prints_all():
    assert echo_dict(_image(), no_arr=True)['data'] == '<sequence type: uint8, length: 921600>'
    assert echo_dict(_image(), no_str=True)['encoding'] == '<string length: 4>'
    assert len(echo_dict(_image(), truncate_length=0)['data']) == 921600
    assert echo_dict(_image(), truncate_length=3)['encoding'] == 'rgb...'


def test_nested_message_arrays_are_truncated_element_by_element():
    info = LabelInfo(class_map=[VisionClass(class_id=i, class_name=f'c{i}') for i in range(200)])
    printed = echo_dict(info)['class_map']
    assert len(printed) == 129 and printed[-1] == '...'
    assert printed[5] == {'class_id': 5, 'class_name': 'c5'}
    assert echo_dict(info, truncate_length=2)['class_map'][:2] == [
        {'class_id': 0, 'class_name': 'c0'}, {'class_id': 1, 'class_name': 'c1'}]
