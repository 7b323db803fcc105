"""
Perception node: classify camera frames with a Dynamic-OFA sub-network that can switch per frame.

The subscription decodes each frame and puts it in a drop-oldest queue of depth 1; one worker
thread runs the engine on the newest frame and publishes Classification and PerceptionStats.
SubnetCommand / MappingCommand for this node's app_id are handed to the engine, which applies
them at the next frame boundary.
"""

from collections import namedtuple
from dataclasses import asdict
from functools import partial
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.common import catalog as catalogs
from dynofa_ros.core.common import paths
from dynofa_ros.core.common.latest_frame import LatestFrame
from dynofa_ros.core.common.untrusted import clip, quote, RefusalThrottle
from dynofa_ros.core.fake_hardware.dvfs_emulation import DvfsEmulation
from dynofa_ros.core.images.image_decode import ImageDecoder, ImageRejected
from dynofa_ros.core.perception import params as params
from dynofa_ros.core.perception import placement as task_mapping
from dynofa_ros.core.perception.engine import DynamicOfaEngine, EngineError
from dynofa_ros.core.perception.labels import IMAGENET_LABELS, top_k
from dynofa_ros.core.perception.stats import health, PerceptionStats
from dynofa_ros.core.system import board
from dynofa_ros.msg import Classification, MappingCommand, SubnetCommand
from dynofa_ros.msg import PerceptionStats as PerceptionStatsMsg
from dynofa_ros.nodes import node_main
from dynofa_ros.nodes import params as node_params
from dynofa_ros.nodes import vision_results
from dynofa_ros.nodes.diagnostics import diagnostic_array
from dynofa_ros.nodes.qos import camera_qos, COMMAND_QOS, TELEMETRY_QOS
from rclpy.exceptions import NameValidationException, ParameterException
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

_WARN_EVERY_S = 5.0
# A decoded frame waiting for the worker; received is time.monotonic() at its arrival.
Frame = namedtuple('Frame', 'rgb header received')


class PerceptionNode(Node):
    """Camera frames in, top-k ImageNet classes and per-frame statistics out."""

    def __init__(self, **kwargs):
        super().__init__('perception', **kwargs)
        self.engine, self._worker, self._queue = None, None, LatestFrame()
        self.spec_params = node_params.SpecParameters(self, params.SPEC)
        p = self.spec_params.declare()
        self._app_id, self._top_k = p['app_id'], p['top_k']
        self._random_weights = not p['checkpoint']
        catalog = catalogs.load(paths.resolve(p['catalog'], 'catalog'))
        checkpoint = paths.resolve(p['checkpoint'], 'checkpoint') if p['checkpoint'] else ''
        self.engine = DynamicOfaEngine(
            catalog, checkpoint=checkpoint, initial_subnet=p['initial_subnet'],
            device=p['device'], num_threads=p['num_threads'],
            cpu_affinity=tuple(p['cpu_affinity'] or ()), cache_budget_mb=p['cache_budget_mb'],
            logger=self.get_logger(), backend=p['backend'], onnx_cache_dir=p['onnx_cache_dir'])
        self._requested = self.engine.active.id
        self._commands, self._last_command, self._reported_rejects = 0, 'none', 0
        self._decoder = ImageDecoder(p['max_image_pixels'], p['max_image_bytes'])
        self._stats = PerceptionStats()
        self._refusals = RefusalThrottle(_WARN_EVERY_S)

        self._classification_pub = self.create_publisher(
            Classification, p['classification_topic'], TELEMETRY_QOS)
        # The same result in the vision_msgs shape, and its label map once (docs/interfaces.md).
        self._vision = vision_results.vision_types()
        results = p['classification_topic']
        self._hypotheses_pub = self.create_publisher(
            self._vision.classification, f'{results}/hypotheses', TELEMETRY_QOS)
        self._label_info_pub = self.create_publisher(
            self._vision.label_info, f'{results}/label_info', vision_results.LABEL_QOS)
        self._label_info_pub.publish(vision_results.label_info(
            self._vision, self.get_clock().now().to_msg(), IMAGENET_LABELS))
        self._stats_pub = self.create_publisher(
            PerceptionStatsMsg, p['stats_topic'], TELEMETRY_QOS)
        self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', TELEMETRY_QOS)
        self._emulation = None
        if p['dvfs_emulation.cur_freq_file']:
            self._emulation = DvfsEmulation(p['dvfs_emulation.cur_freq_file'],
                                            sensitivity=p['dvfs_emulation.sensitivity'],
                                            log=self.get_logger().warning)
            self.get_logger().warning(
                'SIMULATED HARDWARE: inference is stretched by the frequency in '
                f'{self._emulation.path} (reference {self._emulation.ref_khz} kHz)')
        compressed = p['compressed']
        topic = params.compressed_topic(p['image_topic']) if compressed else p['image_topic']
        decode = self._decoder.decode_compressed if compressed else self._decoder.decode
        self.create_subscription(CompressedImage if compressed else Image, topic,
                                 partial(self._enqueue, decode=decode),
                                 camera_qos(p['qos_reliability'], p['qos_depth']))
        self.create_subscription(SubnetCommand, p['subnet_command_topic'], self._on_subnet_command,
                                 COMMAND_QOS)
        self.create_subscription(MappingCommand, p['mapping_command_topic'],
                                 self._on_mapping_command, COMMAND_QOS)
        self.create_timer(1.0, self._publish_diagnostics)
        self.spec_params.start(check=self._check_parameters, apply=self._apply_parameters)
        self._worker = threading.Thread(target=self._work, name='inference', daemon=True)
        self._worker.start()
        self.get_logger().info(
            f'app {self._app_id!r}: classifying {self.resolve_topic_name(topic)} with '
            f'{self.engine.active.id} on {self.engine.device} ({self.engine.backend}); results '
            f'also as {self._vision.package} Classification on '
            f'{self._hypotheses_pub.topic_name}')

    # --- camera ---------------------------------------------------------------------------
    def _enqueue(self, msg, decode):
        received = time.monotonic()
        try:
            rgb = decode(msg)
        except ImageRejected as exc:
            self._reject(exc.kind, str(exc))
            return
        except Exception as exc:  # noqa: B902 - a malformed frame must never stop the node
            self._reject('undecodable', f'{type(exc).__name__}: {exc}')
            return
        self._queue.put(Frame(rgb, msg.header, received))
        time.sleep(0)  # hand the GIL to the woken worker now, not after the executor's next wait

    def _reject(self, kind, reason):
        self._stats.reject(kind)
        self._refusals(self.get_logger().warning, kind,
                       f'frame refused ({kind}): {clip(reason, 300)}')

    # --- inference worker -----------------------------------------------------------------
    def _work(self):
        while (frame := self._queue.take()) is not None:  # None: the node is shutting down
            try:
                self._process(frame, time.monotonic())
            except Exception as exc:  # noqa: B902 - keep serving later frames
                self.get_logger().error(f'inference failed: {type(exc).__name__}: {exc}',
                                        throttle_duration_sec=_WARN_EVERY_S)

    def _process(self, frame, taken):
        result = self.engine.infer(frame.rgb)
        if self._emulation is not None:  # simulated hardware: the fake tree's frequency
            extra_ms = result.inference_ms * (self._emulation.factor() - 1.0)
            time.sleep(max(extra_ms, 0.0) / 1e3)
            result.inference_ms += extra_ms
        ids, labels, scores = top_k(result.probs, self._top_k)
        self._classification_pub.publish(Classification(
            header=frame.header, app_id=self._app_id, subnet_id=result.subnet.id,
            class_ids=[int(i) for i in ids], labels=list(labels),
            scores=[float(s) for s in scores]))
        self._hypotheses_pub.publish(
            vision_results.classification(self._vision, frame.header, ids, scores))
        done = time.monotonic()
        stamp = frame.header.stamp.sec * 10**9 + frame.header.stamp.nanosec
        end_to_end_ms = ((self.get_clock().now().nanoseconds - stamp) / 1e6 if stamp
                         else (done - frame.received) * 1e3)  # unstamped: from arrival
        counts = self._stats.processed(done, self._queue.dropped)
        self._stats_pub.publish(PerceptionStatsMsg(
            header=frame.header, app_id=self._app_id, subnet_id=result.subnet.id,
            subnet_index=result.subnet.index, expected_accuracy=result.subnet.top1,
            inference_latency_ms=result.inference_ms, end_to_end_latency_ms=end_to_end_ms,
            queue_delay_ms=(taken - frame.received) * 1e3,
            frame_rate_hz=counts.frame_rate_hz, frames_processed=counts.frames_processed,
            frames_dropped=counts.frames_dropped, frames_rejected=counts.frames_rejected,
            device=self.engine.device, num_threads=self.engine.num_threads))

    # --- commands ---------------------------------------------------------------------------
    def _on_subnet_command(self, msg):
        if msg.app_id != self._app_id:
            return
        try:
            subnet = self.engine.request_switch(msg.subnet_id)
        except KeyError as exc:
            self._handled(f'subnet refused: {quote(msg.subnet_id)}: {clip(exc.args[0])}',
                          ok=False, kind='subnet')
        else:
            self._requested = subnet.id
            reason = clip(msg.reason or 'no reason given')
            self._handled(f'subnet accepted: {subnet.id} ({reason})')

    def _on_mapping_command(self, msg):
        if msg.app_id != self._app_id:
            return
        mapping = {'device': msg.device or None, 'num_threads': msg.num_threads or None,
                   'cpu_affinity': list(msg.cpu_affinity) or None}
        try:
            self.engine.set_mapping(**mapping)
        except (ValueError, EngineError) as exc:
            self._handled(f'mapping refused: {clip(mapping)}: {clip(exc)}', ok=False,
                          kind='mapping')
        else:
            self._handled(f'mapping accepted: {clip(mapping)} '
                          f'({clip(msg.reason or "no reason given")})')

    def _handled(self, text, ok=True, kind=''):
        if ok:  # two call sites: rclpy refuses one site logging at two severities
            self.get_logger().info(text)
        else:  # refusals: throttled per kind, anyone on the domain can send them
            self._refusals(self.get_logger().warning, kind, text)
        self._last_command, self._commands = text, self._commands + 1
        self._publish_diagnostics()  # at once, so an observer sees the command was handled

    # --- parameters and diagnostics -------------------------------------------------------
    def _check_parameters(self, values):
        """Return why live values cannot apply to the running node ('' when they can)."""
        for name, value in values.items():
            reason = params.check_running(name, value)
            if reason:
                return reason
        mapping = self._mapping(values)
        if any(value is not None for value in mapping.values()):
            try:
                task_mapping.validate(
                    mapping['device'] or self.engine.device,
                    mapping['num_threads'] or self.engine.num_threads,
                    self.engine.cpu_affinity if mapping['cpu_affinity'] is None
                    else mapping['cpu_affinity'])
            except ValueError as exc:
                return str(exc)
        return ''

    def _apply_parameters(self, values):
        mapping = self._mapping(values)
        if any(value is not None for value in mapping.values()):
            try:
                self.engine.set_mapping(**mapping)
            except (ValueError, EngineError) as exc:  # checked on set: only a race gets here
                self.get_logger().error(f'parameter mapping not applied: {exc}')
        self._top_k = values.get('top_k', self._top_k)

    @staticmethod
    def _mapping(values):
        return {'device': values.get('device'), 'num_threads': values.get('num_threads'),
                'cpu_affinity': values.get('cpu_affinity')}

    def _publish_diagnostics(self):
        counts = self._stats.snapshot(time.monotonic(), self._queue.dropped)
        active = self.engine.active.id
        level, message = health(counts, active, self._random_weights,
                                counts.frames_rejected - self._reported_rejects)
        self._reported_rejects = counts.frames_rejected
        values = {
            'app_id': self._app_id, 'active_subnet': active, 'requested_subnet': self._requested,
            **asdict(counts), 'device': self.engine.device, 'num_threads': self.engine.num_threads,
            'commands_handled': self._commands, 'last_command': self._last_command,
            'weights': 'RANDOM' if self._random_weights else 'checkpoint',
            **{f'rejected_{kind}': n for kind, n in self._stats.rejected_by_kind().items()}}
        row = (level, f'{self.get_fully_qualified_name()}: perception', message, values)
        self._diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(), [row],
                                                board.hardware_id()))

    def destroy_node(self):
        self._queue.close()
        if self._worker is not None:
            self._worker.join(10.0)
        if self.engine is not None:
            self.engine.close()
        return super().destroy_node()


def main(args=None):
    return node_main.run(PerceptionNode, 'perception',
                         (EngineError, ParameterException, NameValidationException), args)
