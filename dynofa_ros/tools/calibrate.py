r"""
Calibrate per-sub-network BatchNorm statistics from an image folder.

Each catalog sub-network is extracted from the supernet and its BN running mean/var are
recomputed over the images (OFA's evaluation preprocessing at the sub-network's resolution).
The statistics go to a file next to the catalog that the catalog's bn_stats key then names;
the engine swaps them in on a switch. A shipped catalog is never changed: the statistics and a
copy of the catalog naming them go to $ROS_HOME/dynofa_ros/ (~/.ros/dynofa_ros); give the copy
to the nodes with catalog:=<that file>. Usage:

    calibrate --catalog config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml --images ~/imagenet_val \\
        --max-images 2000 --checkpoint ofa_mbv3_d234_e346_k357_w1.2
"""

import argparse
import os
import sys

from dynofa_ros.core.system import user_data
from dynofa_ros.tools import engine_tool_args as common


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='calibrate', description=__doc__.split('\n\n')[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_common(parser)
    parser.add_argument('--images', required=True, help='folder of images (searched recursively)')
    parser.add_argument('--max-images', type=int, default=2000,
                        help='use at most this many images, sorted by name (default 2000; 0: all)')
    parser.add_argument('--batch-size', type=int, default=16, help='images per batch (default 16)')
    parser.add_argument('--output', default='',
                        help="statistics file (default: the catalog's bn_stats, else "
                             '<catalog name>.bn.pt next to the catalog; for a shipped catalog, '
                             'both in $ROS_HOME/dynofa_ros/)')
    args, code = common.parse(parser, argv)
    if args is not None and (args.max_images < 0 or args.batch_size < 1):
        print('calibrate: error: --max-images must be >= 0 and --batch-size >= 1',
              file=sys.stderr)
        return None, common.EXIT_BAD_INPUT
    return args, code


def main(argv=None):
    return common.main('calibrate', parse_args, run, argv)


def read_images(folder, max_images):
    """Decode the folder's images as RGB; ToolError if none can be used."""
    from dynofa_ros.core.images.preprocess import list_images, read_rgb
    try:
        files = list_images(folder, max_images)
    except FileNotFoundError as exc:
        raise common.ToolError(str(exc))
    images = []
    for path in files:
        try:
            images.append(read_rgb(path))
        except ValueError as exc:
            print(f'calibrate: warning: skipping {exc}', file=sys.stderr)
    if not images:
        raise common.ToolError(f'no readable images in {folder}')
    return images


def batches(images, resolution, batch_size, bar):
    """Yield preprocessed N x 3 x r x r tensors, advancing the progress bar per batch."""
    import numpy as np
    import torch
    from dynofa_ros.core.images.preprocess import preprocess
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        yield torch.from_numpy(np.concatenate([preprocess(im, resolution) for im in chunk]))
        bar.update(len(chunk))


def run(args):
    from tqdm import tqdm
    from dynofa_ros.core.perception.bn_stats import BnStatsFile, calibrate
    from dynofa_ros.core.perception.supernet import EngineError
    catalog = common.load_catalog(args.catalog)
    subnets = common.select(catalog, args.subnets)
    images = read_images(args.images, args.max_images)
    supernet = common.load_supernet(
        catalog, args.checkpoint,
        lambda msg: print(f'calibrate: warning: {msg}', file=sys.stderr))
    catalog_out = common.output_catalog(catalog)
    stem = os.path.splitext(os.path.basename(catalog.path))[0] + '.bn.pt'
    if args.output:
        out = args.output
    elif catalog_out != catalog.path:  # a shipped catalog: its copy and the stats side by side
        out = os.path.join(os.path.dirname(catalog_out), stem)
    else:
        out = catalog.bn_stats_path() or os.path.join(os.path.dirname(catalog.path), stem)
    try:
        out = user_data.writable_output(out, 'BN statistics')
    except ValueError as exc:
        raise common.ToolError(str(exc))
    stats_file = BnStatsFile(catalog.supernet)
    if os.path.exists(out):     # keep other sub-networks' statistics when calibrating a few
        try:
            previous = BnStatsFile.load(out)
        except EngineError as exc:
            raise common.ToolError(f'will not overwrite {out}: {exc}')
        if previous.supernet == catalog.supernet:
            stats_file.subnets.update(previous.subnets)
    stats_file.images = len(images)
    stats_file.source = (f'{len(images)} images from {os.path.abspath(args.images)}; '
                         f'checkpoint {args.checkpoint or "none (random weights)"}')
    with tqdm(total=len(subnets) * len(images), desc='calibrate', unit='image') as bar:
        for subnet in subnets:
            bar.set_postfix_str(subnet.id)
            stats = calibrate(supernet, subnet.arch,
                              batches(images, subnet.arch.r, args.batch_size, bar))
            stats_file.subnets[subnet.id] = {'arch': subnet.arch.as_dict(), 'bn': stats}
    try:
        stats_file.save(out)
    except OSError as exc:
        raise common.ToolError(f'cannot write {out}: {exc.strerror}')
    catalog.bn_stats = os.path.relpath(out, os.path.dirname(catalog.path))
    common.save_catalog(catalog, catalog_out)
    print(f'BN statistics of {len(subnets)} sub-networks over {len(images)} images -> {out}; '
          f'{catalog_out} now names it' + ('' if catalog_out == catalog.path else
                                           f' (use it with catalog:={catalog_out})'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
