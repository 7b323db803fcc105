"""
Export the catalog's sub-networks to ONNX ahead of time, for the onnxruntime backend.

Each sub-network is extracted with its own calibrated BN statistics (the catalog's bn_stats
file, or --bn-stats) and exported into the ONNX cache the perception node reads
(onnx_cache_dir, default ~/.cache/dynofa_ros/onnx), under a key of the weights, architecture,
BN statistics, opset and resolution: the node then only opens sessions, e.g. on the robot
before a mission. Files already there with the same key are kept. With --check, every export
is opened in ONNX Runtime and compared with the torch sub-network on one input. Usage:

    export_onnx --catalog config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml --checkpoint ofa_w12.pth
"""

import argparse
import os
import sys
import time

from dynofa_ros.tools import engine_tool_args as common


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='export_onnx', description=__doc__.split('\n\n')[1])
    common.add_common(parser)
    parser.add_argument('--bn-stats', default='',
                        help="BN statistics file (default: the catalog's bn_stats)")
    parser.add_argument('--cache-dir', default='',
                        help='ONNX cache directory (default: ~/.cache/dynofa_ros/onnx, as the '
                             "node's onnx_cache_dir '')")
    parser.add_argument('--device', default='cpu',
                        help='device whose execution providers --check opens (default cpu)')
    parser.add_argument('--check', action='store_true',
                        help='open each export in ONNX Runtime and compare it with torch')
    return common.parse(parser, argv)


def main(argv=None):
    return common.main('export_onnx', parse_args, run, argv)


def run(args):
    import logging
    from tqdm import tqdm
    from dynofa_ros.core.common import paths
    from dynofa_ros.core.perception import onnx_backend
    from dynofa_ros.core.perception.engine import DynamicOfaEngine, EngineError
    catalog = common.load_catalog(args.catalog)
    subnets = common.select(catalog, args.subnets)
    if not onnx_backend.available():
        raise common.ToolError('onnxruntime is not installed (pip install onnxruntime)')
    logging.getLogger('dynofa_ros.export').setLevel(logging.ERROR)
    try:
        checkpoint = paths.resolve(args.checkpoint, 'checkpoint') if args.checkpoint else ''
        bn_stats = paths.resolve(args.bn_stats, 'BN statistics') if args.bn_stats else ''
        engine = DynamicOfaEngine(catalog, checkpoint=checkpoint, device=args.device,
                                  cache_budget_mb=0, bn_stats=bn_stats, backend='onnxruntime',
                                  onnx_cache_dir=args.cache_dir,
                                  logger=logging.getLogger('dynofa_ros.export'))
    except (FileNotFoundError, EngineError) as exc:
        raise common.ToolError(str(exc))
    if engine.random_weights:
        print(f'export: warning: no --checkpoint: {catalog.supernet} has RANDOM WEIGHTS',
              file=sys.stderr)
    rows = []
    bar = tqdm(subnets, desc='export', unit='subnet')
    try:
        for subnet in bar:
            bar.set_postfix_str(subnet.id)
            start = time.perf_counter()
            existed = os.path.isfile(engine.onnx_file_path(subnet.id))
            try:
                path = engine.onnx_file(subnet.id)
            except EngineError as exc:
                raise common.ToolError(f'{subnet.id}: {exc}')
            row = [subnet.id, 'kept' if existed else 'exported', time.perf_counter() - start,
                   path, '']
            if args.check:
                row[4] = _check(engine, subnet, args.device)
            rows.append(row)
    finally:
        bar.close()
        engine.close()
    print(f'ONNX cache: {engine.onnx_cache_dir}'
          + (' (BN statistics: own per sub-network)' if engine.has_bn_stats else
             " (BN statistics: the checkpoint's)"))
    for subnet_id, what, seconds, path, check in rows:
        size = os.path.getsize(path) / 2**20
        print(f'  {subnet_id:12s} {what:8s} {seconds:6.2f} s {size:6.1f} MB  '
              f'{os.path.basename(path)}{"  " + check if check else ""}')
    return 0


def _check(engine, subnet, device):
    """Return 'max |diff| ...' between ONNX Runtime and the torch sub-network on one input."""
    import numpy as np
    import torch
    from dynofa_ros.core.perception.engine import EngineError
    r = subnet.arch.r
    batch = np.random.default_rng(0).standard_normal((1, 3, r, r)).astype(np.float32)
    try:
        session = engine.build_session(subnet.id, device)
    except EngineError as exc:
        raise common.ToolError(f'{subnet.id}: {exc}')
    with torch.inference_mode():
        ref = engine.extract_static(subnet.id)(torch.from_numpy(batch)).numpy()
    return f'max |diff| {np.abs(session(batch) - ref).max():.1e} ({session.providers[0]})'


if __name__ == '__main__':
    sys.exit(main())
