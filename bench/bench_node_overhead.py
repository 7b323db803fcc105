"""
Node overhead: time through the perception node vs bare engine inference on the same frame.

Both run in this one process, interleaved frame by frame (alternating which goes first) so that
they see the same machine:
  bare: the node's own DynamicOfaEngine.infer(rgb) on the decoded RGB frame (resize +
        normalise + forward), called from the main thread while the node's worker is idle.
  node: a PerceptionNode (the shipped class; a subclass only notes times) in its own executor
        thread, fed by a publisher in a second rclpy context, i.e. a separate DDS participant
        as a camera driver would be.
Reported per frame, medians over the run:
  in_node_ms   the frame's arrival in the node's subscription callback -> Classification
               published: decoding, the depth-1 queue hand-off to the worker, the engine,
               top-k, publishing. This is "end-to-end time in the node";
  node_work_ms in_node_ms minus the engine's own time for that frame (preprocess + forward):
               what the node adds, free of the forward pass's noise on a shared machine;
  transfer_ms  image stamp -> arrival in the callback (DDS, serialisation, deserialisation),
               the same for any subscriber of the camera, so reported apart.
The overhead ratio is in_node / bare (paired per frame, then the median) and, as a low-noise
estimate, (bare + node_work) / bare. A camera in another process adds only the inter-process
transfer (FastDDS LARGE_DATA: shared memory and TCP) to transfer_ms.

    python bench/bench_node_overhead.py [--width 640 --height 480 --frames 80 --threads 1]
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
    parser.add_argument('--warmup', type=int, default=6)
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--catalog', default='config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml')
    parser.add_argument('--subnet', default='', help="catalog id; '' = the fastest entry")
    parser.add_argument('--encoding', default='rgb8', choices=['rgb8', 'bgr8', 'mono8'])
    parser.add_argument('--backend', default='auto', choices=['auto', 'torch', 'onnxruntime'],
                        help="the node's backend parameter (default auto)")
    args = parser.parse_args(argv)
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('FASTDDS_BUILTIN_TRANSPORTS', 'LARGE_DATA')
    os.environ.setdefault('ROS_DOMAIN_ID', str(150 + os.getpid() % 50))

    import cv2
    from dynofa_ros.core.common import catalog as catalogs
    from dynofa_ros.core.common import paths
    from dynofa_ros.core.images.image_decode import ImageDecoder
    from dynofa_ros.core.perception.supernet import build_supernet
    from dynofa_ros.msg import PerceptionStats
    from dynofa_ros.nodes.perception_node import PerceptionNode
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from skimage import data
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test'))
    from support.ros import RosProbe

    class TimedNode(PerceptionNode):
        """The shipped node, noting each frame's arrival time and its engine time."""

        arrivals, engine_ms, preprocess_ms = {}, {}, []

        def _enqueue(self, msg, decode):
            self.arrivals[msg.header.frame_id] = self.get_clock().now().nanoseconds
            super()._enqueue(msg, decode)

        def _process(self, frame, taken):
            engine, node = self.engine, self

            class Timed:
                """The engine, noting its own time (preprocess + forward) for this frame."""

                def __getattr__(self, name):
                    return getattr(engine, name)

                def infer(self, rgb):
                    result = engine.infer(rgb)
                    node.engine_ms[frame.header.frame_id] = (result.preprocess_ms
                                                             + result.inference_ms)
                    node.preprocess_ms.append(result.preprocess_ms)
                    return result

            self.engine = Timed()
            try:
                super()._process(frame, taken)
            finally:
                self.engine = engine

    catalog_path = paths.resolve(args.catalog, 'catalog')
    catalog = catalogs.load(catalog_path)
    subnet = args.subnet or catalog.subnets[0].id
    rgb = cv2.resize(data.astronaut(), (args.width, args.height), interpolation=cv2.INTER_AREA)
    pixels = {'rgb8': rgb, 'bgr8': rgb[:, :, ::-1], 'mono8': rgb.mean(axis=2)}[args.encoding]
    pixels = pixels.astype('uint8').copy()
    msg = Image(height=args.height, width=args.width, encoding=args.encoding,
                step=args.width * (1 if pixels.ndim == 2 else 3))
    msg.data = pixels.tobytes()
    frame = ImageDecoder().decode(msg)  # the RGB array the node's worker gets

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = os.path.join(tmp, 'supernet.pth')
        torch.save({'state_dict': build_supernet(catalog.supernet).state_dict()}, checkpoint)
        rclpy.init()
        node = TimedNode(parameter_overrides=[
            Parameter('catalog', value=catalog_path), Parameter('checkpoint', value=checkpoint),
            Parameter('initial_subnet', value=subnet),
            Parameter('num_threads', value=args.threads),
            Parameter('backend', value=args.backend),
            Parameter('qos_reliability', value='reliable')])
        # Bare inference uses the node's own engine (same weights, same extracted network),
        # called from this thread while the node's worker is idle between frames.
        bare = node.engine
        torch.set_num_threads(args.threads)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        threading.Thread(target=executor.spin, daemon=True).start()
        probe = RosProbe('bench_camera')
        stats = probe.subscribe(PerceptionStats, 'perception_stats')
        camera = probe.publisher(Image, 'camera/image_raw',
                                 QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE))
        probe.wait_for_subscribers(camera)

        def run_bare():
            start = time.perf_counter()
            bare.infer(frame)
            return (time.perf_counter() - start) * 1e3

        def run_node(frame_id):
            msg.header.frame_id = frame_id
            stamp = probe.node.get_clock().now()
            msg.header.stamp = stamp.to_msg()
            camera.publish(msg)
            result = probe.wait_for(stats, lambda m: m.header.frame_id == frame_id)
            transfer_ms = (node.arrivals[frame_id] - stamp.nanoseconds) / 1e6
            return result.end_to_end_latency_ms - transfer_ms, transfer_ms

        rows = {'bare_ms': [], 'in_node_ms': [], 'node_work_ms': [], 'transfer_ms': []}
        try:
            bare.wait_cache_idle(120)  # on the extracted static sub-network
            for i in range(args.warmup + args.frames):
                fid = f'f{i}'
                if i % 2:
                    bare_ms, (in_node_ms, transfer_ms) = run_bare(), run_node(fid)
                else:
                    (in_node_ms, transfer_ms), bare_ms = run_node(fid), run_bare()
                if i >= args.warmup:
                    rows['bare_ms'].append(bare_ms)
                    rows['in_node_ms'].append(in_node_ms)
                    rows['node_work_ms'].append(in_node_ms - node.engine_ms[fid])
                    rows['transfer_ms'].append(transfer_ms)
        finally:
            probe.close()
            executor.shutdown()
            node.destroy_node()
            rclpy.try_shutdown()

    med = {key: statistics.median(values) for key, values in rows.items()}
    paired = statistics.median(n / b for n, b in zip(rows['in_node_ms'], rows['bare_ms']))
    print(f'{args.width}x{args.height} {args.encoding}, sub-network {subnet} '
          f'(r={catalog.get(subnet).arch.r}), backend {bare.backend}, {args.threads} intra-op '
          f'thread(s), {args.frames} frames, load average {os.getloadavg()[0]:.1f}')
    print(f'  preprocess    median {statistics.median(TimedNode.preprocess_ms):7.2f} ms '
          '(resize, normalise, layout; in the node, part of bare_ms too)')
    for key in rows:
        print(f'  {key:13s} median {med[key]:7.2f} ms')
    estimate = (med['bare_ms'] + med['node_work_ms']) / med['bare_ms']
    print(f'node overhead in_node / bare: paired median {paired:.3f}x, '
          f'(bare + node_work) / bare {estimate:.3f}x   (goal <= 1.05x)')
    print(f'with the transfer, (in_node + transfer) / bare: '
          f'{(med["in_node_ms"] + med["transfer_ms"]) / med["bare_ms"]:.3f}x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
