# noqa: A005 - named after the `profile` executable that setup.py reserves
"""
Profile the catalog's sub-networks on this machine: latency per backend and thread count, MACs.

Each sub-network is extracted as a static network (the engine's steady-state path) and timed
for a batch of one at its resolution, per backend: torch runs the extracted network, onnxruntime
an ONNX Runtime session on its export (the session's intra-op threads fixed per thread count).
The median of --runs forward passes is written into the catalog under this machine's profile
key for that backend (catalog.profile_key: 'cpu/x86_64/<cpu>' for torch,
'cpu/x86_64/<cpu>@onnxruntime'), with the MACs counted on the extracted network. A shipped
catalog is never changed: the profiled copy goes to --output, by default
$ROS_HOME/dynofa_ros/<catalog name> (~/.ros/dynofa_ros); give it to the nodes with
catalog:=<that file>. A catalog of your own is updated in place unless --output says otherwise.
Usage:

    profile --catalog config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml --threads 1,2 --runs 20 \
        --backend torch,onnxruntime
"""

import argparse
import statistics
import sys
import time

from dynofa_ros.core.common.catalog import profile_key
from dynofa_ros.tools import engine_tool_args as common


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='profile', description=__doc__.split('\n\n')[1])
    common.add_common(parser)
    parser.add_argument('--threads', type=common.int_list, default=[1, 2],
                        help='intra-op thread counts to measure (default: 1,2)')
    parser.add_argument('--warmup', type=int, default=5, help='untimed runs first (default 5)')
    parser.add_argument('--runs', type=int, default=20, help='timed runs (default 20)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda[:N]' (default cpu)")
    parser.add_argument('--backend', type=backend_list, default=['auto'],
                        help='comma-separated backends: torch, onnxruntime, auto (what the '
                             "node's backend: auto runs here; the default)")
    parser.add_argument('--output', default='',
                        help='write the profiled catalog here (default: a shipped --catalog to '
                             '$ROS_HOME/dynofa_ros/, your own --catalog in place)')
    parser.add_argument('--no-macs', action='store_true', help='do not count MACs')
    parser.add_argument('--macs-only', action='store_true',
                        help='count MACs, measure no latency (MACs do not depend on the machine)')
    args, code = common.parse(parser, argv)
    if args is not None and (args.warmup < 0 or args.runs < 1):
        print('profile: error: --warmup must be >= 0 and --runs >= 1', file=sys.stderr)
        return None, common.EXIT_BAD_INPUT
    if args is not None and args.macs_only:
        if args.no_macs:
            print('profile: error: --macs-only and --no-macs exclude each other', file=sys.stderr)
            return None, common.EXIT_BAD_INPUT
        args.threads = []
    return args, code


def backend_list(text):
    from dynofa_ros.core.common.catalog import BACKENDS
    names = [part.strip() for part in text.split(',') if part.strip()]
    bad = [n for n in names if n not in BACKENDS + ('auto',)]
    if not names or bad:
        allowed = list(BACKENDS) + ['auto']
        raise argparse.ArgumentTypeError(f'{text!r}: expected backends among {allowed}')
    return names


def time_calls(call, warmup, runs):
    """Return the median time in ms of call() over `runs` after `warmup` untimed calls."""
    times = []
    for i in range(warmup + runs):
        start = time.perf_counter()
        call()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def time_forward(net, batch, warmup, runs):
    """Return the median forward time in ms over `runs` after `warmup` untimed runs."""
    import torch
    sync = torch.cuda.synchronize if batch.is_cuda else (lambda: None)
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            start = time.perf_counter()
            net(batch)
            sync()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main(argv=None):
    return common.main('profile', parse_args, run, argv)


def run(args):
    import tempfile
    import torch
    from tqdm import tqdm
    from dynofa_ros.core.common.catalog import default_backend
    from dynofa_ros.core.perception import onnx_backend
    from dynofa_ros.core.perception import placement as mapping
    from dynofa_ros.core.perception.supernet import count_macs, extract
    try:
        device = mapping.validate(args.device, 0, ()).device
    except ValueError as exc:
        raise common.ToolError(str(exc))
    backends = list(dict.fromkeys(default_backend() if b == 'auto' else b for b in args.backend))
    if 'onnxruntime' in backends:
        try:
            onnx_backend.resolve_backend('onnxruntime')
            onnx_backend.providers_for(device, onnx_backend.default_cache_dir())
        except onnx_backend.OnnxBackendError as exc:
            raise common.ToolError(str(exc))
    catalog = common.load_catalog(args.catalog)
    subnets = common.select(catalog, args.subnets)
    out = common.output_catalog(catalog, args.output)  # refused before hours of profiling
    supernet = common.load_supernet(catalog, args.checkpoint,
                                    lambda msg: print(f'profile: warning: {msg}', file=sys.stderr))
    keys = {backend: profile_key(device, backend) for backend in backends}
    original_threads = torch.get_num_threads()
    steps = len(subnets) * max(1, len(args.threads) * len(backends))
    bar = tqdm(total=steps, desc='profile', unit='step')
    tmp = tempfile.TemporaryDirectory(prefix='dynofa_profile_')
    try:
        for subnet in subnets:
            static = extract(supernet, subnet.arch)
            r = subnet.arch.r
            if not args.no_macs:
                subnet.macs_m = count_macs(static, r)
            if not args.threads:
                bar.update()
                continue
            for backend in backends:
                table = subnet.latency_ms.setdefault(keys[backend], {})
                for threads in args.threads:
                    if backend == 'torch':
                        torch.set_num_threads(threads)
                        table[threads] = time_forward(
                            static.to(device), torch.randn(1, 3, r, r, device=device),
                            args.warmup, args.runs)
                    else:
                        table[threads] = _time_session(static, r, device, threads, tmp.name,
                                                       args)
                    bar.set_postfix_str(f'{subnet.id} {backend} {threads} thr '
                                        f'{table[threads]:.1f} ms')
                    bar.update()
    finally:
        bar.close()
        tmp.cleanup()
        torch.set_num_threads(original_threads)
    common.save_catalog(catalog, out)
    print(f'profile keys {list(keys.values())}; wrote {out}'
          + ('' if out == catalog.path else f' (use it with catalog:={out})'))
    for subnet in subnets:
        cells = '; '.join(
            f'{backend} ' + ', '.join(f'{t} thr {subnet.latency_ms[key][t]:.1f} ms'
                                      for t in args.threads)
            for backend, key in keys.items())
        print(f'  {subnet.id:12s} r={subnet.arch.r} top1={subnet.top1:.2f} '
              f'MACs={subnet.macs_m:.1f}M  {cells}')
    return 0


def _time_session(static, r, device, threads, directory, args):
    """Export a static network once and time an ONNX Runtime session with `threads` threads."""
    import os
    import numpy as np
    from dynofa_ros.core.perception import onnx_backend
    path = os.path.join(directory, f'{id(static)}-{r}.onnx')
    if not os.path.isfile(path):
        onnx_backend.export(static, r, path)
    session = onnx_backend.OnnxSubnet(path, r, onnx_backend.providers_for(device, directory),
                                      threads)
    batch = np.random.default_rng(0).standard_normal((1, 3, r, r)).astype(np.float32)
    return time_calls(lambda: session(batch), args.warmup, args.runs)


if __name__ == '__main__':
    sys.exit(main())
