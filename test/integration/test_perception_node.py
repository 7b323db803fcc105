"""
Integration tests of perception_node: a real node process, real torch inference, real DDS.

One node process (two small sub-networks, a checkpoint saved from a fresh supernet) serves the
tests of this module in order; each test measures what it checks as a change, so the order
does not matter. Commands are made deterministic by waiting for the node's immediate
diagnostics report of having handled them before the next frame is sent.
"""

import time

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.perception.labels import IMAGENET_LABELS
from dynofa_ros.msg import Classification, MappingCommand, PerceptionStats, SubnetCommand
from dynofa_ros.nodes.qos import camera_qos, COMMAND_QOS
from dynofa_ros.nodes.vision_results import LABEL_QOS, vision_types
import pytest
from sensor_msgs.msg import Image
from support.perception import (camera_frames, image_msg, LARGE_ID, SMALL_ID,
                                write_checkpoint, write_small_catalog)
from support.ros import NodeProcess, RosProbe

CAMERA_QOS = camera_qos('reliable', depth=20)


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp('perception_model')
    return write_small_catalog(folder), write_checkpoint(folder)


class Session:
    """The probe's side of one running perception node: publish frames and commands, wait."""

    def __init__(self, probe, node, app_id='cam', namespace=''):
        self.probe, self.node, self.app_id = probe, node, app_id
        self.status_name = f'{namespace}/perception: perception'
        self.stats = probe.subscribe(PerceptionStats, f'{namespace}/perception_stats')
        self.results = probe.subscribe(Classification, f'{namespace}/classification')
        self.hypotheses = probe.subscribe(vision_types().classification,
                                          f'{namespace}/classification/hypotheses')
        self.diagnostics = probe.subscribe(DiagnosticArray, '/diagnostics')
        self.camera = probe.publisher(Image, f'{namespace}/camera/image_raw', CAMERA_QOS)
        self.subnet_pub = probe.publisher(SubnetCommand, f'{namespace}/subnet_command',
                                          COMMAND_QOS)
        self.mapping_pub = probe.publisher(MappingCommand, f'{namespace}/mapping_command',
                                           COMMAND_QOS)
        self.frames = camera_frames()
        self.sent = 0
        self.wait(lambda: probe.wait_for_subscribers(self.camera, timeout=60))

    def wait(self, what):
        """Run a wait; on timeout fail with the node's output, which says why."""
        try:
            return what()
        except TimeoutError as exc:
            alive = 'running' if self.node.alive() else f'exited {self.node.proc.returncode}'
            pytest.fail(f'{exc}; node {alive}, its output:\n{self.node.output()[-4000:]}')

    def publish(self, msg):
        self.sent += 1
        msg.header.frame_id = f'frame{self.sent}'
        msg.header.stamp = self.probe.node.get_clock().now().to_msg()
        self.camera.publish(msg)
        return msg.header.frame_id

    def classify(self, encoding='rgb8', rgb=None):
        """Publish one frame; return its PerceptionStats and Classification."""
        rgb = self.frames[self.sent % len(self.frames)] if rgb is None else rgb
        frame_id = self.publish(image_msg(rgb, encoding))
        return self.result_of(frame_id)

    def result_of(self, frame_id):
        def mine(msg):
            return msg.header.frame_id == frame_id
        return (self.wait(lambda: self.probe.wait_for(self.stats, mine)),
                self.wait(lambda: self.probe.wait_for(self.results, mine)))

    def status(self, array):
        """Return this node's diagnostics as (level, message, values), or None."""
        for status in array.status:
            if status.name == self.status_name:
                return (status.level[0], status.message,
                        {kv.key: kv.value for kv in status.values})
        return None

    def handled(self):
        seen = [self.status(a) for a in list(self.diagnostics)]
        return max([int(s[2]['commands_handled']) for s in seen if s] + [0])

    def command(self, publisher, msg):
        """Publish a command and wait for the diagnostics saying the node handled it."""
        before = self.handled()
        publisher.publish(msg)
        array = self.wait(lambda: self.probe.wait_for(self.diagnostics, lambda a: bool(
            self.status(a) and int(self.status(a)[2]['commands_handled']) > before)))
        return self.status(array)

    def switch(self, subnet_id, app_id=None):
        return self.command(self.subnet_pub, SubnetCommand(
            app_id=app_id or self.app_id, subnet_id=subnet_id, subnet_index=-1,
            reason='test'))


@pytest.fixture(scope='module')
def session(model_files, tmp_path_factory):
    catalog, checkpoint = model_files
    node = NodeProcess('perception_node', ros_args=[
        '-p', f'catalog:={catalog}', '-p', f'checkpoint:={checkpoint}',
        '-p', f'initial_subnet:={SMALL_ID}', '-p', 'qos_reliability:=reliable',
        '-p', 'qos_depth:=20', '-p', 'num_threads:=1', '-p', 'app_id:=cam'],
        log_dir=str(tmp_path_factory.mktemp('perception_logs')))
    probe = RosProbe('perception_test_probe')
    try:
        yield Session(probe, node)
    finally:
        probe.close()
        code = node.stop()
        assert code == 0, f'node exited with {code}:\n{_log_of(node)[-3000:]}'


def test_camera_stream_is_classified_with_top_k_labels_and_stats(session):
    stats, result = session.classify()
    assert result.app_id == stats.app_id == 'cam'
    assert result.subnet_id == stats.subnet_id == SMALL_ID  # the initial_subnet parameter
    assert len(result.class_ids) == len(result.labels) == len(result.scores) == 5
    assert result.labels == [IMAGENET_LABELS[i] for i in result.class_ids]
    assert list(result.scores) == sorted(result.scores, reverse=True)
    assert all(0.0 < s <= 1.0 for s in result.scores)
    assert stats.subnet_index == 0 and stats.expected_accuracy == pytest.approx(60.0)
    assert stats.device == 'cpu' and stats.num_threads == 1
    assert 0 < stats.inference_latency_ms < stats.end_to_end_latency_ms
    assert stats.queue_delay_ms >= 0 and stats.frame_rate_hz >= 1.0

    before = stats.frames_processed
    for encoding in ('bgr8', 'rgba8', 'bgra8', 'mono8', 'rgb8'):
        stats, result = session.classify(encoding)
        assert len(result.class_ids) == 5
    assert stats.frames_processed == before + 5
    assert stats.header.stamp == result.header.stamp


def test_result_in_the_vision_msgs_shape_with_labels_published_once(session):
    _, result = session.classify()
    frame = result.header.frame_id
    hypotheses = session.wait(lambda: session.probe.wait_for(
        session.hypotheses, lambda m: m.header.frame_id == frame))
    assert hypotheses.header == result.header
    assert [(h.class_id, h.score) for h in hypotheses.results] == [
        (str(i), pytest.approx(s)) for i, s in zip(result.class_ids, result.scores)]
    # A subscriber that joins late still gets the label map, once (transient local).
    labels = session.probe.subscribe(vision_types().label_info, '/classification/label_info',
                                     LABEL_QOS)
    info = session.wait(lambda: session.probe.wait_for(labels, timeout=15))
    names = {c.class_id: c.class_name for c in info.class_map}
    assert len(info.class_map) == len(IMAGENET_LABELS) == 1000 and info.threshold == 0.0
    assert [names[int(h.class_id)] for h in hypotheses.results] == list(result.labels)
    session.classify()
    assert len(labels) == 1


def test_burst_keeps_the_newest_frame_and_counts_the_dropped(session):
    first, _ = session.classify()
    last = None
    # Faster than inference: most frames are replaced in the depth-1 queue. Reliable QoS with
    # history depth 20 on both sides, so DDS itself loses none of the 12.
    for _ in range(12):
        last = session.publish(image_msg(session.frames[0]))
    stats, _ = session.result_of(last)  # the newest frame is always processed
    processed = stats.frames_processed - first.frames_processed
    dropped = stats.frames_dropped - first.frames_dropped
    assert processed + dropped == 12 and processed >= 1


def test_subnet_command_switches_at_the_next_frame(session):
    session.switch(SMALL_ID)
    assert session.classify()[0].subnet_id == SMALL_ID
    level, message, values = session.switch(LARGE_ID)
    assert values['requested_subnet'] == LARGE_ID and 'accepted' in values['last_command']
    stats, result = session.classify()  # the first frame after the command runs the new one
    assert stats.subnet_id == result.subnet_id == LARGE_ID
    assert stats.subnet_index == 1 and stats.expected_accuracy == pytest.approx(65.0)
    session.switch(SMALL_ID)
    assert session.classify()[0].subnet_id == SMALL_ID


def test_command_for_another_app_is_ignored(session):
    session.switch(SMALL_ID)
    before = session.handled()
    # Same topic, reliable: the other app's command arrives before ours does.
    session.subnet_pub.publish(SubnetCommand(app_id='other_app', subnet_id=LARGE_ID))
    _, _, values = session.switch(SMALL_ID)
    assert int(values['commands_handled']) == before + 1
    assert session.classify()[0].subnet_id == SMALL_ID


def test_unknown_subnet_is_refused_and_the_current_one_keeps_running(session):
    session.switch(LARGE_ID)
    _, _, values = session.switch('no_such_net')
    assert 'refused' in values['last_command'] and 'no_such_net' in values['last_command']
    assert values['requested_subnet'] == LARGE_ID
    assert session.classify()[0].subnet_id == LARGE_ID
    assert 'no_such_net' in session.node.output()  # the logged reason names it
    session.switch(SMALL_ID)


def test_mapping_command_applies_valid_and_refuses_invalid(session):
    _, _, values = session.command(session.mapping_pub, MappingCommand(
        app_id='cam', num_threads=2, reason='test'))
    assert 'accepted' in values['last_command']
    assert session.classify()[0].num_threads == 2
    for bad in (MappingCommand(app_id='cam', device='cuda'),
                MappingCommand(app_id='cam', cpu_affinity=[4095])):
        _, _, values = session.command(session.mapping_pub, bad)
        assert 'refused' in values['last_command']
    stats, _ = session.classify()
    assert (stats.device, stats.num_threads) == ('cpu', 2)
    session.command(session.mapping_pub, MappingCommand(app_id='cam', num_threads=1))
    assert session.classify()[0].num_threads == 1


def _log_of(node):
    """Return a node's output, also after stop() (NodeProcess.output() needs it running)."""
    with open(node.log_path) as f:
        return f.read()


def _bad_frames(rgb):
    good = image_msg(rgb)
    h, w = rgb.shape[:2]
    frames = {
        'encoding': image_msg(rgb), 'empty': Image(encoding='rgb8'), 'step': image_msg(rgb),
        'truncated': image_msg(rgb), 'size': image_msg(rgb),
    }
    frames['encoding'].encoding = '16UC1'
    frames['step'].step = w * 3 - 3
    frames['truncated'].data = good.data[:len(good.data) // 2]
    frames['size'].height = h - 1
    return frames


def test_bad_frames_are_counted_and_skipped_and_good_ones_still_classified(session):
    before, _ = session.classify()
    bad = _bad_frames(session.frames[1])
    for msg in bad.values():
        session.publish(msg)
    stats, result = session.classify()
    assert stats.frames_rejected == before.frames_rejected + len(bad)
    assert stats.frames_processed == before.frames_processed + 1  # bad frames never ran
    assert len(result.class_ids) == 5
    array = session.wait(lambda: session.probe.wait_for(session.diagnostics, lambda a: bool(
        session.status(a) and session.status(a)[0] == 1 and 'refused' in session.status(a)[1])))
    values = session.status(array)[2]
    assert all(int(values[f'rejected_{kind}']) >= 1 for kind in bad)
    assert 'frame refused' in session.node.output()
    assert session.node.alive()


def test_parameters_set_on_the_running_node(session):
    probe = session.probe
    ok, = probe.set_parameters('perception', {'top_k': 3})
    assert ok.successful
    assert len(session.classify()[1].class_ids) == 3
    for name, value, why in (('top_k', 42, 'range'), ('qos_reliability', 'reliable', 'read-only'),
                             ('initial_subnet', LARGE_ID, 'read-only'),
                             ('cpu_affinity', [0, 0], 'twice'), ('num_threads', 99, 'outside'),
                             ('num_threads', 0, 'only at start')):
        refused, = probe.set_parameters('perception', {name: value})
        assert not refused.successful and why in refused.reason, (name, refused.reason)
    assert probe.get_parameters('perception', ['top_k']) == [3]
    assert len(session.classify()[1].class_ids) == 3
    results = probe.set_parameters('perception', {'top_k': 5, 'num_threads': 2})
    assert [r.successful for r in results] == [True, True]
    stats, result = session.classify()
    assert len(result.class_ids) == 5 and stats.num_threads == 2


def test_start_refuses_bad_parameters_with_a_reason(model_files, tmp_path):
    catalog, _ = model_files
    cases = ((['-p', 'top_k:=0'], 'top_k'),
             (['-p', f'catalog:={catalog}', '-p', 'initial_subnet:=nope'], 'nope'),
             (['-p', 'catalog:=/nonexistent/catalog.yaml'], 'not found'))
    nodes = [NodeProcess('perception_node', ros_args=args, log_dir=str(tmp_path))
             for args, _ in cases]  # side by side: each spends seconds importing torch
    deadline = time.monotonic() + 60
    while any(node.alive() for node in nodes) and time.monotonic() < deadline:
        time.sleep(0.1)
    for node, (_, reason) in zip(nodes, cases):
        code = node.stop()
        assert code == 1 and reason in _log_of(node), _log_of(node)
