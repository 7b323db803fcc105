"""
Create a fake sysfs tree for the hardware node, and optionally play its kernel.

    python -m dynofa_ros.tools.fake_sysfs --platform jetson_xavier_nx --root /tmp/fake --follow 0.2
"""

import argparse
import os
import sys
import time

from dynofa_ros.core.fake_hardware.fake_sysfs import build, PLATFORMS


def main(argv=None):
    parser = argparse.ArgumentParser(description='Create a fake sysfs tree for the hardware node.')
    parser.add_argument('--platform', choices=PLATFORMS, default='jetson_xavier_nx')
    parser.add_argument('--root', required=True, help='directory to create the tree in')
    parser.add_argument('--ina', choices=('iio', 'hwmon', 'none'), default='iio',
                        help='INA3221 layout: L4T 32 iio, L4T 35 hwmon, or no sensor')
    parser.add_argument('--no-rapl', action='store_true', help='generic_x86 without RAPL')
    parser.add_argument('--hwmon', action='store_true', help='generic_x86 with a hwmon sensor')
    parser.add_argument('--cpu-cap-khz', type=int, default=0, metavar='KHZ',
                        help='jetson_xavier_nx: the CPU cap of the power mode, '
                             'scaling_max_freq at start (default 1420800, nvpmodel mode 2; '
                             '1907200 allows the whole table)')
    parser.add_argument('--follow', type=float, default=0.0, metavar='PERIOD_S',
                        help='keep playing the kernel every PERIOD_S seconds until interrupted')
    args = parser.parse_args(argv)
    if os.path.exists(args.root) and os.listdir(args.root):
        print(f'error: {args.root} exists and is not empty', file=sys.stderr)
        return 2
    try:
        tree = build(args.root, args.platform, args.ina, not args.no_rapl, args.hwmon,
                     args.cpu_cap_khz or None)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'fake {args.platform} sysfs tree in {tree.root} (use sysfs_root:={tree.root})')
    try:
        while args.follow > 0:
            time.sleep(args.follow)
            tree.settle(args.follow)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
