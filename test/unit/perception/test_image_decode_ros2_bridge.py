"""Raw and compressed frames decode with the ROS 2 cv_bridge API, not only with the pip port."""

from array import array
from types import SimpleNamespace

import cv2
import cv_bridge
from dynofa_ros.core.images.image_decode import ImageDecoder, ImageRejected
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from support.perception import encoding_cases
from support.ros2_cv_bridge import Ros2CvBridge, StrictImage

RGB, GRAY, CASES = encoding_cases(12, 20, seed=11)


@pytest.fixture
def decoder(monkeypatch):
    """Return an ImageDecoder whose CvBridge is the ROS 2 one (strict stand-in)."""
    monkeypatch.setattr(cv_bridge, 'CvBridge', Ros2CvBridge)
    Ros2CvBridge.reads.clear()
    return ImageDecoder()


def raw(cls, pixels, encoding, pad=0, bigendian=0):
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.full((h, pad), 0xCD, np.uint8)], axis=1)
    return cls(height=h, width=w, encoding=encoding, step=rows.shape[1], is_bigendian=bigendian,
               data=array('B', np.ascontiguousarray(rows).tobytes()))


def test_stand_ins_are_as_strict_as_the_real_ones():
    msg = raw(StrictImage, RGB, 'rgb8')
    with pytest.raises(AttributeError):
        msg.frame_id
    with pytest.raises(AttributeError):
        msg.extra = 1
    # What the decoder handed the bridge before: no step, so the ROS 2 bridge cannot read it.
    old = SimpleNamespace(height=12, width=20, encoding='rgb8', is_bigendian=0,
                          data=RGB.tobytes())
    with pytest.raises(AttributeError, match='step'):
        Ros2CvBridge().imgmsg_to_cv2(old, desired_encoding='rgb8')


@pytest.mark.parametrize('bigendian', [0, 1])
@pytest.mark.parametrize('pad', [0, 3])
@pytest.mark.parametrize('cls', [StrictImage, Image], ids=['strict', 'sensor_msgs'])
@pytest.mark.parametrize('encoding', sorted(CASES))
def test_raw_frames_decode_with_the_ros2_bridge(decoder, cls, encoding, pad, bigendian):
    pixels, expected = CASES[encoding]
    out = decoder.decode(raw(cls, pixels, encoding, pad, bigendian))
    assert out.dtype == np.uint8 and out.shape == (12, 20, 3)
    np.testing.assert_array_equal(out, expected)
    assert 'step' in Ros2CvBridge.reads


def test_a_plain_frame_is_handed_to_the_bridge_as_is(decoder, monkeypatch):
    msg = raw(Image, RGB, 'rgb8')
    seen = []
    convert = Ros2CvBridge.imgmsg_to_cv2
    monkeypatch.setattr(Ros2CvBridge, 'imgmsg_to_cv2',
                        lambda self, m, **kw: seen.append(m) or convert(self, m, **kw))
    decoder.decode(msg)
    assert seen == [msg]


def test_malformed_frames_are_still_refused_before_the_bridge(decoder):
    msg = raw(StrictImage, RGB, 'rgb8')
    msg.step = 59
    with pytest.raises(ImageRejected) as info:
        decoder.decode(msg)
    assert info.value.kind == 'step' and not Ros2CvBridge.reads


def test_compressed_frames_decode_with_the_ros2_bridge(decoder):
    ok, buf = cv2.imencode('.png', RGB[:, :, ::-1])
    msg = CompressedImage(format='png')
    msg.data = buf.tobytes()
    np.testing.assert_array_equal(decoder.decode_compressed(msg), RGB)
