"""
Integration test of perception_node on a CompressedImage stream, in a namespace, without weights.

The node starts from the shipped config/perception.yaml (namespaced, overridden where needed) with
the default sensor-data QoS (best effort), so frames are re-sent until their result arrives; what
is asserted does not depend on a frame getting through the first time.
"""

import os

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.system.board import board_model
from dynofa_ros.msg import Classification, PerceptionStats
import pytest
from sensor_msgs.msg import CompressedImage
from support import REPO
from support.perception import camera_frames, compressed_msg, SMALL_ID, write_small_catalog
from support.ros import RosProbe
import yaml

NS = '/second'


def test_compressed_stream_with_random_weights(node_processes, tmp_path):
    catalog = write_small_catalog(tmp_path)
    # The shipped parameter file as it is: its /**/perception key applies in the namespace.
    params_file = os.path.join(REPO, 'config', 'perception.yaml')
    with open(params_file) as f:
        shipped = yaml.safe_load(f)
    node = node_processes('perception_node', ros_args=[
        '--params-file', params_file,
        '-r', f'__ns:={NS}', '-p', f'catalog:={catalog}', '-p', 'compressed:=true',
        '-p', 'app_id:=cam2', '-p', 'num_threads:=1', '-p', 'top_k:=2'])
    probe = RosProbe('perception_compressed_probe')
    try:
        stats = probe.subscribe(PerceptionStats, f'{NS}/perception_stats')
        results = probe.subscribe(Classification, f'{NS}/classification')
        diagnostics = probe.subscribe(DiagnosticArray, '/diagnostics')
        camera = probe.publisher(CompressedImage, f'{NS}/camera/image_raw/compressed')
        probe.wait_for_subscribers(camera, timeout=60)
        frames = camera_frames(120, 90)
        sent = []

        def send_until(make, predicate, tries=40):
            """Publish fresh frames from make() until a PerceptionStats satisfies predicate."""
            for _ in range(tries):
                msg = make()
                msg.header.frame_id = f'f{len(sent)}'
                sent.append(msg.header.frame_id)
                camera.publish(msg)
                try:
                    return probe.wait_for(stats, lambda m: m.header.frame_id == sent[-1] and
                                          predicate(m), timeout=1.5)
                except TimeoutError:
                    continue
            pytest.fail(f'no matching result after {tries} frames:\n{node.output()[-3000:]}')

        file_values = shipped['/**/perception']['ros__parameters']
        assert probe.get_parameters(f'{NS}/perception', ['qos_depth', 'cache_budget_mb']) == [
            file_values['qos_depth'], file_values['cache_budget_mb']]
        first = send_until(lambda: compressed_msg(frames[0], '.jpg'), lambda m: True)
        assert first.app_id == 'cam2' and first.subnet_id != SMALL_ID  # the most accurate
        result = probe.wait_for(results, lambda m: m.header.frame_id == first.header.frame_id)
        assert len(result.class_ids) == 2
        send_until(lambda: compressed_msg(frames[1], '.png'), lambda m: True)

        def garbage():
            msg = CompressedImage(format='jpeg')
            msg.data = b'\xff\xd8 this is not a jpeg' * 20
            return msg

        # Undecodable data is refused (counted) and the next good frame is still classified.
        for _ in range(3):
            camera.publish(garbage())
        after = send_until(lambda: compressed_msg(frames[2], '.jpg'),
                           lambda m: m.frames_rejected >= 1)
        assert after.frames_processed >= 3
        assert 'undecodable' in node.output()

        array = probe.wait_for(diagnostics, lambda a: any(
            s.name == f'{NS}/perception: perception' for s in a.status))
        status = next(s for s in array.status if s.name == f'{NS}/perception: perception')
        assert status.level == b'\x01' and 'RANDOM' in status.message  # WARN: no checkpoint
        assert status.hardware_id == board_model()  # the board, not the device 'cpu'
        assert 'RANDOM WEIGHTS' in node.output()
    finally:
        probe.close()
    code = node.stop()
    with open(node.log_path) as f:
        assert code == 0, f.read()
