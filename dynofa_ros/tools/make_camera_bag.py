"""
Generate a camera bag from the photos scikit-image ships: moving crops, so frames differ.

    make_camera_bag out/camera_bag --frames 120 --rate 10 --size 640x480
    make_camera_bag out/corrupt_bag --frames 40 --corrupt-every 5

No large binary is committed: the demo and the tests make their bag on demand.
"""

import argparse
import os
import sys

from dynofa_ros.core.bags import camera_bags
from tqdm import tqdm


def _size(text):
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r}: expected WIDTHxHEIGHT, e.g. 640x480')
    return width, height


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='make_camera_bag', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('output', help='bag directory to create (must not exist)')
    parser.add_argument('--frames', type=int, default=120)
    parser.add_argument('--rate', type=float, default=10.0, help='frames per second')
    parser.add_argument('--size', type=_size, default=(640, 480), help='WIDTHxHEIGHT')
    parser.add_argument('--topic', default='camera/image_raw')
    parser.add_argument('--encoding', choices=('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'),
                        default='rgb8')
    parser.add_argument('--corrupt-every', type=int, default=0, metavar='N',
                        help='replace every N-th frame by a malformed one '
                             f'({", ".join(camera_bags.CORRUPTIONS)}, in turn)')
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    args = parser.parse_args(argv)
    if os.path.exists(args.output):
        print(f'make_camera_bag: {args.output} already exists', file=sys.stderr)
        return 2
    try:
        with tqdm(total=args.frames, desc='camera bag', unit='frame',
                  disable=not sys.stderr.isatty()) as bar:
            camera_bags.write_camera_bag(args.output, args.frames, args.rate, *args.size,
                                         topic=args.topic, encoding=args.encoding,
                                         corrupt_every=args.corrupt_every, storage=args.storage,
                                         progress=bar.update)
    except ValueError as exc:
        print(f'make_camera_bag: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {args.frames} frames to {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
