# noqa: A005 - named after the `profile` executable that setup.py reserves
"""
Profile the catalog's sub-networks on this machine: latency per thread count, and MACs.

Each sub-network is extracted as a static network (the engine's steady-state path) and timed
for a batch of one at its resolution; the median of --runs forward passes is written into the
catalog under this machine's profile key (catalog.profile_key), with the MACs counted on the
extracted network. A shipped catalog is never changed: the profiled copy goes to --output, by
default $ROS_HOME/dynofa_ros/<catalog name> (~/.ros/dynofa_ros); give it to the nodes with
catalog:=<that file>. A catalog of your own is updated in place unless --output says otherwise.
Usage:

    profile --catalog config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml --threads 1,2 --runs 20
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
    import torch
    from tqdm import tqdm
    from dynofa_ros.core.perception import placement as mapping
    from dynofa_ros.core.perception.supernet import count_macs, extract
    try:
        device = mapping.validate(args.device, 0, ()).device
    except ValueError as exc:
        raise common.ToolError(str(exc))
    catalog = common.load_catalog(args.catalog)
    subnets = common.select(catalog, args.subnets)
    out = common.output_catalog(catalog, args.output)  # refused before hours of profiling
    supernet = common.load_supernet(catalog, args.checkpoint,
                                    lambda msg: print(f'profile: warning: {msg}', file=sys.stderr))
    key = profile_key(device)
    original_threads = torch.get_num_threads()
    bar = tqdm(total=len(subnets) * max(1, len(args.threads)), desc='profile', unit='step')
    try:
        for subnet in subnets:
            static = extract(supernet, subnet.arch)
            r = subnet.arch.r
            if not args.no_macs:
                subnet.macs_m = count_macs(static, r)
            if not args.threads:
                bar.update()
                continue
            static = static.to(device)
            batch = torch.randn(1, 3, r, r, device=device)
            table = subnet.latency_ms.setdefault(key, {})
            for threads in args.threads:
                torch.set_num_threads(threads)
                table[threads] = time_forward(static, batch, args.warmup, args.runs)
                bar.set_postfix_str(f'{subnet.id} {threads} thr {table[threads]:.1f} ms')
                bar.update()
    finally:
        bar.close()
        torch.set_num_threads(original_threads)
    common.save_catalog(catalog, out)
    print(f'profile key {key!r}; wrote {out}' + ('' if out == catalog.path else
                                                 f' (use it with catalog:={out})'))
    for subnet in subnets:
        cells = ', '.join(f'{t} thr {subnet.latency_ms[key][t]:.1f} ms' for t in args.threads)
        print(f'  {subnet.id:12s} r={subnet.arch.r} top1={subnet.top1:.2f} '
              f'MACs={subnet.macs_m:.1f}M  {cells}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
