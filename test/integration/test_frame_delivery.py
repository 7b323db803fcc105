"""
Large camera frames reach a best-effort perception node (the package's FastDDS profile).

A perception node with its default camera QoS (best effort, depth 5) and a publisher in this
process (reliable, as `ros2 bag play` and most drivers publish) send 1280x720 bgr8 frames at
15 Hz, and 640x480 rgb8 frames at 30 Hz. Every frame that reaches the node is counted
(processed, dropped from its depth-1 queue while the worker was busy, or rejected), so the count
is what DDS delivered. Without the profile
(FastDDS's 512 KB shared-memory segment) about one frame in ten arrived here; the threshold
leaves room for a loaded machine while failing by far without the fix.
"""

import os
import time

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.system import dds_profile
from dynofa_ros.nodes.qos import camera_qos
import numpy as np
import pytest
from sensor_msgs.msg import Image
from support.perception import image_msg, SMALL_ID, write_checkpoint, write_small_catalog
from support.ros import NodeProcess, RosProbe

FRAMES = 60
STREAMS = [(1280, 720, 'bgr8', 15.0), (640, 480, 'rgb8', 30.0)]


def received(array):
    for status in array.status:
        if status.name.endswith('perception: perception'):
            values = {kv.key: kv.value for kv in status.values}
            return sum(int(values[k]) for k in ('frames_processed', 'frames_dropped',
                                                'frames_rejected'))
    return None


@pytest.mark.parametrize('width, height, encoding, rate_hz', STREAMS)
def test_best_effort_node_receives_large_frames(tmp_path, width, height, encoding, rate_hz):
    dds_profile.apply()     # the publisher's segment is the one that must hold a frame
    assert os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE')
    catalog, checkpoint = write_small_catalog(tmp_path), write_checkpoint(tmp_path)
    node = NodeProcess('perception_node', ros_args=[
        '-p', f'catalog:={catalog}', '-p', f'checkpoint:={checkpoint}',
        '-p', f'initial_subnet:={SMALL_ID}', '-p', 'num_threads:=1', '-p', 'backend:=torch'],
        log_dir=str(tmp_path))
    probe = RosProbe('delivery_probe')
    try:
        diagnostics = probe.subscribe(DiagnosticArray, '/diagnostics')
        camera = probe.publisher(Image, 'camera/image_raw', camera_qos('reliable', depth=5))
        probe.wait_for_subscribers(camera, timeout=90)
        time.sleep(1.0)
        rgb = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
        msg = image_msg(rgb, encoding)
        start = time.monotonic()
        for i in range(FRAMES):
            time.sleep(max(0.0, start + i / rate_hz - time.monotonic()))
            msg.header.frame_id = f'f{i}'
            msg.header.stamp = probe.node.get_clock().now().to_msg()
            camera.publish(msg)
        probe.wait_until(lambda: any(received(a) == FRAMES for a in list(diagnostics)),
                         timeout=15, what='not every frame counted yet')
    except TimeoutError:
        pass
    finally:
        counts = [received(a) for a in list(diagnostics)]
        probe.close()
        code = node.stop()
    got = max([c for c in counts if c is not None] + [0])
    print(f'{width}x{height} {encoding} at {rate_hz} Hz: {got}/{FRAMES} frames reached the node')
    assert code == 0, node.output()[-3000:]
    assert got >= 0.9 * FRAMES, f'{got}/{FRAMES} frames reached the node'
