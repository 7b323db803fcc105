"""
Node overhead: end-to-end time through the perception node vs bare engine inference, same frame.

Both run in this one process, interleaved frame by frame so that they see the same machine:
  bare: DynamicOfaEngine.infer(rgb) on the decoded RGB frame (resize + normalise + forward),
        decoding not counted;
  node: a PerceptionNode in its own executor thread, fed by a publisher node in a second rclpy
        context (a separate DDS participant, as a camera driver would be). The node's own
        PerceptionStats.end_to_end_latency_ms (image stamp -> Classification published) is the
        node time: DDS transfer, deserialisation, decoding, the queue, inference, top-k, publish.
One process keeps the comparison side by side; a camera in another process would add the
inter-process transfer (LARGE_DATA shared memory: about 4 ms at 640x480, DESIGN.md 2), which is
also reported here as the probe's round trip minus the node time.

    python bench/bench_node_overhead.py [--width 640 --height 480 --frames 40 --threads 1]
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=480)
    parser.add_argument('--frames', type=int, default=80, help='measured frames (after warm-up)')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--catalog', default='config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml')
    parser.add_argument('--subnet', default='', help="catalog id; '' = the fastest entry")
    parser.add_argument('--encoding', default='rgb8', choices=['rgb8', 'bgr8', 'mono8'])
    args = parser.parse_args(argv)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
    os.environ.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 50))

    import cv2
    from dynofa_ros.core import catalog as catalogs, paths
    from dynofa_ros.core.engine import DynamicOfaEngine
    from dynofa_ros.core.image_decode import ImageDecoder
    from dynofa_ros.msg import PerceptionStats
    from dynofa_ros.nodes.perception_node import PerceptionNode
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from skimage import data
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'test'))
    from rostest_utils import RosProbe

    class TimedNode(PerceptionNode):
        """The node as shipped, noting when each frame reaches its subscription callback."""

        arrivals = {}

        def _enqueue(self, msg, decode):
            self.arrivals[msg.header.frame_id] = self.get_clock().now().nanoseconds
            super()._enqueue(msg, decode)

    catalog_path = paths.resolve(args.catalog, 'catalog')
    catalog = catalogs.load(catalog_path)
    subnet = args.subnet or catalog.subnets[0].id
    rgb = cv2.resize(data.astronaut(), (args.width, args.height), interpolation=cv2.INTER_AREA)
    pixels = {'rgb8': rgb, 'bgr8': rgb[:, :, ::-1], 'mono8': rgb.mean(axis=2)}[args.encoding]
    pixels = pixels.astype('uint8').copy()
    channels = 1 if pixels.ndim == 2 else 3

    with tempfile.TemporaryDirectory() as tmp:
        import torch
        from dynofa_ros.core.supernet import build_supernet
        checkpoint = os.path.join(tmp, 'supernet.pth')
        torch.save({'state_dict': build_supernet(catalog.supernet).state_dict()}, checkpoint)
        bare = DynamicOfaEngine(catalog, checkpoint=checkpoint, initial_subnet=subnet,
                                num_threads=args.threads)
        rclpy.init()
        node = TimedNode(parameter_overrides=[
            Parameter('catalog', value=catalog_path), Parameter('checkpoint', value=checkpoint),
            Parameter('initial_subnet', value=subnet),
            Parameter('num_threads', value=args.threads),
            Parameter('qos_reliability', value='reliable'), Parameter('top_k', value=5)])
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        spinner = threading.Thread(target=executor.spin, daemon=True)
        spinner.start()
        probe = RosProbe('bench_camera')
        stats = probe.subscribe(PerceptionStats, 'perception_stats')
        camera = probe.publisher(Image, 'camera/image_raw',
                                 QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
        probe.wait_for_subscribers(camera)
        decoder = ImageDecoder()
        rows = {'bare_ms': [], 'in_node_ms': [], 'node_infer_ms': [], 'node_queue_ms': [],
                'transfer_ms': [], 'stamp_to_result_ms': []}
        try:
            for i in range(args.warmup + args.frames):
                if i == args.warmup // 2:  # both engines: extracted static sub-network ready
                    bare.wait_cache_idle(60)
                    node.engine.wait_cache_idle(60)
                msg = Image(height=args.height, width=args.width, encoding=args.encoding,
                            step=args.width * channels)
                msg.data = pixels.tobytes()
                frame = decoder.decode(msg)  # the same RGB array the node gets; not timed

                def run_bare():
                    start = time.perf_counter()
                    bare.infer(frame)
                    return (time.perf_counter() - start) * 1e3

                def run_node():
                    msg.header.frame_id = f'f{i}'
                    stamp = probe.node.get_clock().now()
                    msg.header.stamp = stamp.to_msg()
                    camera.publish(msg)
                    result = probe.wait_for(stats, lambda m: m.header.frame_id == f'f{i}')
                    return result, (node.arrivals[f'f{i}'] - stamp.nanoseconds) / 1e6

                if i % 2:  # alternate who goes first, so slow drifts of the machine cancel
                    bare_ms = run_bare()
                    result, transfer_ms = run_node()
                else:
                    result, transfer_ms = run_node()
                    bare_ms = run_bare()
                if i >= args.warmup:
                    rows['bare_ms'].append(bare_ms)
                    rows['in_node_ms'].append(result.end_to_end_latency_ms - transfer_ms)
                    rows['node_infer_ms'].append(result.inference_latency_ms)
                    rows['node_queue_ms'].append(result.queue_delay_ms)
                    rows['transfer_ms'].append(transfer_ms)
                    rows['stamp_to_result_ms'].append(result.end_to_end_latency_ms)
        finally:
            probe.close()
            executor.shutdown()
            node.destroy_node()
            bare.close()
            rclpy.try_shutdown()

    med = {k: statistics.median(v) for k, v in rows.items()}
    mean = {k: statistics.fmean(v) for k, v in rows.items()}
    print(f'{args.width}x{args.height} {args.encoding}, sub-network {subnet} '
          f'(r={catalog.get(subnet).arch.r}), {args.threads} thread(s), {args.frames} frames')
    for key in rows:
        print(f'  {key:14s} median {med[key]:7.2f} ms   mean {mean[key]:7.2f} ms')
    paired = statistics.median(n / b for n, b in zip(rows['in_node_ms'], rows['bare_ms']))
    print(f'node overhead (in-node end-to-end / bare inference): paired median {paired:.3f}x, '
          f'median {med["in_node_ms"] / med["bare_ms"]:.3f}x, mean '
          f'{mean["in_node_ms"] / mean["bare_ms"]:.3f}x   (goal <= 1.05x)')
    print(f'with the DDS transfer (image stamp -> result / bare inference): median '
          f'{med["stamp_to_result_ms"] / med["bare_ms"]:.3f}x, mean '
          f'{mean["stamp_to_result_ms"] / mean["bare_ms"]:.3f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
