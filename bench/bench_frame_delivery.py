"""
Frame delivery: how many camera frames a best-effort and a reliable subscriber receive.

One publisher process (reliable, depth 5, as `ros2 bag play` and most camera drivers publish;
--publisher-qos best_effort for drivers that publish sensor-data QoS) sends N sensor_msgs/Image
frames of a given size at a given rate; a best-effort subscriber (sensor-data QoS, depth 5: what
the perception node uses by default) and a reliable one (depth 5), each in its own process,
count what arrives. All three run with the same FastDDS settings:
  --profile package   config/dds/fastdds_profiles.xml (what the package ships), optionally
                      with --segment-mb replacing its shared-memory segment size;
  --profile none      no XML, FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA (the settings before it).
It also reports the shared memory FastDDS mapped in /dev/shm while the frames flowed (peak sum
of its segment files' resident size) and each subscriber's peak RSS.

    python bench/bench_frame_delivery.py --width 1280 --height 720 --encoding bgr8 --rate 15 \
        --frames 150 [--profile package|none] [--segment-mb 64]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_PROFILE = os.path.join(HERE, '..', 'config', 'dds', 'fastdds_profiles.xml')
CHANNELS = {'rgb8': 3, 'bgr8': 3, 'mono8': 1}


def _qos(reliability):
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    policy = {'best_effort': ReliabilityPolicy.BEST_EFFORT,
              'reliable': ReliabilityPolicy.RELIABLE}[reliability]
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5, reliability=policy,
                      durability=DurabilityPolicy.VOLATILE)


def run_subscriber(args):
    """Count frames until none came for --quiet seconds after the first one; print JSON."""
    import resource
    import rclpy
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node(f'delivery_{args.reliability}')
    seen = set()
    last = [None]

    def on_frame(msg):
        seen.add(msg.header.frame_id)
        last[0] = time.monotonic()

    node.create_subscription(Image, 'camera/image_raw', on_frame, _qos(args.reliability))
    print('ready', flush=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
        if last[0] is not None and time.monotonic() - last[0] > args.quiet:
            break
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'received': len(seen), 'peak_rss_mb': round(rss_mb, 1)}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def run_publisher(args):
    """Wait for both subscribers, then publish --frames frames at --rate Hz."""
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node('delivery_camera')
    pub = node.create_publisher(Image, 'camera/image_raw', _qos(args.publisher_qos))
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() < args.subscribers and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    time.sleep(1.0)     # let both readers finish matching (the writer sees them first)
    channels = CHANNELS[args.encoding]
    pixels = np.random.default_rng(0).integers(
        0, 255, (args.height, args.width, channels), dtype=np.uint8)
    msg = Image(height=args.height, width=args.width, encoding=args.encoding,
                step=args.width * channels)
    msg.data = pixels.tobytes()
    period = 1.0 / args.rate
    start = time.monotonic()
    for i in range(args.frames):
        wait = start + i * period - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        msg.header.frame_id = f'f{i}'
        msg.header.stamp = node.get_clock().now().to_msg()
        pub.publish(msg)
    time.sleep(1.0)
    print(json.dumps({'published': args.frames,
                      'seconds': round(time.monotonic() - start, 2)}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def profile_file(args, tmp):
    """Return the XML profile to use (a copy with another segment size if asked), or ''."""
    if args.profile == 'none':
        return ''
    path = PACKAGE_PROFILE if args.profile == 'package' else args.profile
    if not args.segment_mb:
        return os.path.abspath(path)
    with open(path) as f:
        xml = f.read()
    xml, n = re.subn(r'<segment_size>\d+</segment_size>',
                     f'<segment_size>{int(args.segment_mb * 2**20)}</segment_size>', xml)
    if n != 1:
        raise SystemExit(f'{path}: expected one <segment_size> element, found {n}')
    out = os.path.join(tmp, 'profile.xml')
    with open(out, 'w') as f:
        f.write(xml)
    return out


def shm_resident_mb():
    """Return the MB of FastDDS segment files in /dev/shm (their allocated blocks)."""
    total = 0
    try:
        names = os.listdir('/dev/shm')
    except OSError:
        return 0.0
    for name in names:
        if name.startswith(('fastrtps_', 'fast_datasharing', 'fastdds_')):
            try:
                total += os.stat(os.path.join('/dev/shm', name)).st_blocks * 512
            except OSError:
                pass
    return total / 2**20


def orchestrate(args):
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        env['ROS_DOMAIN_ID'] = str(args.domain or 100 + os.getpid() % 100)
        for var in ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE',
                    'FASTDDS_BUILTIN_TRANSPORTS'):
            env.pop(var, None)
        profile = profile_file(args, tmp)
        if profile:
            env['FASTDDS_DEFAULT_PROFILES_FILE'] = profile
        if not profile or args.also_builtin:
            env['FASTDDS_BUILTIN_TRANSPORTS'] = 'LARGE_DATA'
        common = [sys.executable, os.path.abspath(__file__), '--width', str(args.width),
                  '--height', str(args.height), '--encoding', args.encoding,
                  '--rate', str(args.rate), '--frames', str(args.frames)]
        readers = [] if args.publisher_qos == 'reliable' else ['best_effort']
        readers = ['best_effort', 'reliable'] if not readers else readers
        subs = {}
        for reliability in readers:
            proc = subprocess.Popen(common + ['--role', 'sub', '--reliability', reliability],
                                    env=env, stdout=subprocess.PIPE, text=True)
            proc.stdout.readline()      # 'ready'
            subs[reliability] = proc
        peak = [0.0]
        stop = threading.Event()

        def watch_shm():
            while not stop.wait(0.2):
                peak[0] = max(peak[0], shm_resident_mb())

        watcher = threading.Thread(target=watch_shm, daemon=True)
        watcher.start()
        pub_env = dict(env)
        if args.publisher_profile == 'none':
            pub_env.pop('FASTDDS_DEFAULT_PROFILES_FILE', None)
            pub_env['FASTDDS_BUILTIN_TRANSPORTS'] = 'LARGE_DATA'
        pub = subprocess.run(common + ['--role', 'pub', '--publisher-qos', args.publisher_qos,
                                       '--subscribers', str(len(subs))],
                             env=pub_env, stdout=subprocess.PIPE, text=True, timeout=600)
        results = {}
        for reliability, proc in subs.items():
            out, _ = proc.communicate(timeout=120)
            results[reliability] = json.loads(out.strip().splitlines()[-1])
        stop.set()
        watcher.join()
    sent = json.loads(pub.stdout.strip().splitlines()[-1])
    what = (f'profile {profile and os.path.basename(args.profile) or "none (LARGE_DATA)"}'
            + (f', segment {args.segment_mb:g} MB' if args.segment_mb else '')
            + (', publisher without it' if args.publisher_profile == 'none' else '')
            + (', FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA too' if args.also_builtin else ''))
    mb = args.width * args.height * CHANNELS[args.encoding] / 2**20
    print(f'{args.width}x{args.height} {args.encoding} ({mb:.2f} MB/frame) at {args.rate:g} Hz, '
          f'{args.frames} frames from a {args.publisher_qos} publisher in '
          f'{sent["seconds"]} s; {what}; load average {os.getloadavg()[0]:.1f}')
    for reliability, res in results.items():
        print(f'  {reliability:11s} subscriber received {res["received"]:4d}/{args.frames} '
              f'({100 * res["received"] / args.frames:5.1f} %), peak RSS '
              f'{res["peak_rss_mb"]:.0f} MB')
    print(f'  FastDDS shared memory in /dev/shm, peak resident: {peak[0]:.1f} MB')
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--width', type=int, default=1280)
    parser.add_argument('--height', type=int, default=720)
    parser.add_argument('--encoding', default='bgr8', choices=sorted(CHANNELS))
    parser.add_argument('--rate', type=float, default=15.0, help='frames per second')
    parser.add_argument('--frames', type=int, default=150)
    parser.add_argument('--profile', default='package',
                        help="'package' (shipped XML), 'none' (LARGE_DATA) or an XML path")
    parser.add_argument('--segment-mb', type=float, default=0,
                        help='shared-memory segment size to try (default: the XML as is)')
    parser.add_argument('--publisher-profile', default='same', choices=['same', 'none'],
                        help="'none': the publisher runs without the XML (LARGE_DATA), as a "
                        'camera driver started outside the package would')
    parser.add_argument('--also-builtin', action='store_true',
                        help='keep FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA set next to the XML')
    parser.add_argument('--publisher-qos', default='reliable',
                        choices=['reliable', 'best_effort'])
    parser.add_argument('--domain', type=int, default=0, help='ROS_DOMAIN_ID (default: random)')
    parser.add_argument('--role', default='main', choices=['main', 'pub', 'sub'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--reliability', default='best_effort', help=argparse.SUPPRESS)
    parser.add_argument('--subscribers', type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument('--timeout', type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument('--quiet', type=float, default=3.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == 'sub':
        args.timeout = args.timeout or 60 + args.frames / args.rate
        return run_subscriber(args)
    if args.role == 'pub':
        return run_publisher(args)
    return orchestrate(args)


if __name__ == '__main__':
    sys.exit(main())
