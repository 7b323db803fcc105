"""
A decompression bomb sent to a real perception node process is refused before decoding.

The 20000 x 20000 grey PNG of issue 13 (389 kB on the wire, 1.2 GB once decoded to BGR) goes
over DDS to the node; the node's peak resident memory (VmHWM, reset through
/proc/<pid>/clear_refs just before the bomb) must stay within 100 MB of its resident memory
before it, the frame must be counted as 'too_large', and the next good frame classified.
"""

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.msg import PerceptionStats
import pytest
from sensor_msgs.msg import CompressedImage
from support.perception import camera_frames, compressed_msg, png_bomb, write_small_catalog
from support.ros import RosProbe

MB = 1024 * 1024


def memory_kb(pid):
    """Return (VmRSS, VmHWM) of a process in kB."""
    with open(f'/proc/{pid}/status') as f:
        fields = dict(line.split(':', 1) for line in f)
    return int(fields['VmRSS'].split()[0]), int(fields['VmHWM'].split()[0])


def test_png_bomb_is_refused_and_memory_stays_flat(node_processes, tmp_path):
    catalog = write_small_catalog(tmp_path)
    node = node_processes('perception_node', ros_args=[
        '-p', f'catalog:={catalog}', '-p', 'compressed:=true', '-p', 'num_threads:=1',
        '-p', 'qos_reliability:=reliable'])
    probe = RosProbe('image_bomb_probe')
    try:
        stats = probe.subscribe(PerceptionStats, 'perception_stats')
        diagnostics = probe.subscribe(DiagnosticArray, '/diagnostics')
        camera = probe.publisher(CompressedImage, 'camera/image_raw/compressed')
        probe.wait_for_subscribers(camera, timeout=60)
        frames = camera_frames(160, 120)
        sent = []

        def classify(i):
            """Send good frames until one is classified (the first ones warm the node up)."""
            for _ in range(40):
                msg = compressed_msg(frames[i % len(frames)], '.png',
                                     frame_id=f'good{len(sent)}')
                sent.append(msg.header.frame_id)
                camera.publish(msg)
                try:
                    return probe.wait_for(stats, lambda m: m.header.frame_id == sent[-1],
                                          timeout=2.0)
                except TimeoutError:
                    continue
            pytest.fail(f'no frame classified:\n{node.output()[-3000:]}')

        for i in range(4):  # warm up: first inference, first decode
            classify(i)
        pid = node.proc.pid
        rss_before, _ = memory_kb(pid)
        with open(f'/proc/{pid}/clear_refs', 'w') as f:
            f.write('5')  # reset the peak (VmHWM) to the current resident size

        bomb = CompressedImage(format='png')
        bomb.data = png_bomb(20000, 20000)
        assert len(bomb.data) < 400_000
        camera.publish(bomb)

        after = classify(5)  # the bomb went before it on a reliable, ordered stream
        _, peak = memory_kb(pid)
        assert (peak - rss_before) * 1024 < 100 * MB, (
            f'peak {peak // 1024} MB after the bomb, {rss_before // 1024} MB before')

        def refused(array):
            return any(kv.key == 'rejected_too_large' and kv.value == '1'
                       for status in array.status for kv in status.values)

        try:
            probe.wait_for(diagnostics, refused, timeout=30)
        except TimeoutError:
            pytest.fail(f'the bomb was not counted as too_large:\n{node.output()[-3000:]}')
        assert after.frames_rejected == 1
        assert 'too_large' in node.output() and '20000x20000' in node.output()
    finally:
        probe.close()
