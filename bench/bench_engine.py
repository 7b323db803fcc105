"""
Benchmark the Dynamic-OFA engine; every figure is a ratio measured side by side in one run.

1. Switch cost: request_switch() and the frame-boundary work (cached: a lookup; dynamic:
   set_active_subnet + BN statistics swap) against extracting a static sub-network and against
   building a static model from scratch (construct from its config + load its weights file).
2. Steady-state latency: the engine's cached path and dynamic path against the extracted static
   sub-network run directly, interleaved run by run.
3. Resident memory (fresh processes): one supernet (+ a cache holding every sub-network)
   against N separate static models.

Usage: python bench/bench_engine.py [--catalog C] [--checkpoint P] [--runs 30] [--threads 1]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

DEFAULT_CATALOG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               'config', 'catalogs', 'ofa_mbv3_w12_dynamic_ofa.yaml')


def median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def rss_mb():
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def load(args):
    from dynofa_ros.core.common import catalog as catalog_mod
    from dynofa_ros.core.perception.supernet import build_supernet, load_checkpoint
    catalog = catalog_mod.load(args.catalog)
    net = build_supernet(catalog.supernet)
    if args.checkpoint:
        load_checkpoint(net, args.checkpoint, catalog.supernet)
    return catalog, net


def bench_switch(args, catalog, supernet, tmp):
    import torch
    from ofa.imagenet_classification.networks import MobileNetV3
    from dynofa_ros.core.perception.bn_stats import collect, SupernetBnSwap
    from dynofa_ros.core.perception.engine import DynamicOfaEngine
    from dynofa_ros.core.perception.subnet_cache import SubnetCache
    from dynofa_ros.core.perception.supernet import apply_arch, extract
    subnets = catalog.subnets
    swap = SupernetBnSwap(supernet)
    for s in subnets:     # statistics of the right shapes (the checkpoint's, as calibrate would)
        swap.prepare(s.id, s.arch, collect(extract(supernet, s.arch)))
    turn = iter(range(10**9))

    def boundary_dynamic():
        s = subnets[next(turn) % len(subnets)]
        apply_arch(supernet, s.arch)
        swap.apply(s.id)

    engine = DynamicOfaEngine(catalog, checkpoint=args.checkpoint, cache_budget_mb=0,
                              logger=_quiet())
    ids = catalog.ids()
    request_us = median_ms(lambda: engine.request_switch(ids[next(turn) % len(ids)]),
                           2000) * 1e3
    engine.close()
    cache = SubnetCache(2**30, build=None, size_of=lambda net: 1)
    for s in subnets:
        cache.put(s.id, object())
    lookup_us = median_ms(lambda: cache.get(ids[next(turn) % len(ids)]), 2000) * 1e3
    dynamic_ms = median_ms(boundary_dynamic, 200)
    extract_ms = median_ms(lambda: extract(supernet, subnets[next(turn) % len(subnets)].arch),
                           max(5, len(subnets)))
    files = []
    for s in subnets:
        static = extract(supernet, s.arch)
        path = os.path.join(tmp, f'{s.id}.pth')
        torch.save({'config': static.config, 'state_dict': static.state_dict()}, path)
        files.append(path)

    def from_scratch():
        blob = torch.load(files[next(turn) % len(files)], map_location='cpu', weights_only=False)
        MobileNetV3.build_from_config(blob['config']).load_state_dict(blob['state_dict'])

    scratch_ms = median_ms(from_scratch, max(5, len(subnets)))
    boundary_ms = request_us / 1e3 + dynamic_ms
    print('\n1. switch cost (median)')
    print(f'   request_switch() call               {request_us:9.1f} us')
    print(f'   frame boundary, cached sub-network  {lookup_us:9.1f} us (LRU lookup)')
    print(f'   frame boundary, dynamic path        {dynamic_ms * 1e3:9.1f} us '
          '(set_active_subnet + BN swap)')
    print(f'   extract a static sub-network        {extract_ms:9.1f} ms')
    print(f'   static model from scratch           {scratch_ms:9.1f} ms (config + weights file)')
    print(f'   ratio extract / switch              {extract_ms / boundary_ms:9.0f}x')
    print(f'   ratio from scratch / switch         {scratch_ms / boundary_ms:9.0f}x')


def bench_latency(args, catalog, supernet, image):
    import torch
    from dynofa_ros.core.perception.engine import DynamicOfaEngine
    from dynofa_ros.core.images.preprocess import preprocess
    from dynofa_ros.core.perception.supernet import extract
    torch.set_num_threads(args.threads)
    print(f'\n2. steady-state latency, {args.threads} thread(s), {args.runs} interleaved runs '
          '(median ms; ratio to the static sub-network)')
    print(f'   {"subnet":8s} {"r":>4s} {"static":>8s} {"cached":>8s} {"dynamic":>8s} '
          f'{"cached/static":>14s} {"dynamic/static":>15s}')
    chosen = [catalog.subnets[0], catalog.subnets[-1]] if not args.all else catalog.subnets
    cached = DynamicOfaEngine(catalog, checkpoint=args.checkpoint, num_threads=args.threads,
                              cache_budget_mb=4096, logger=_quiet())
    dynamic = DynamicOfaEngine(catalog, checkpoint=args.checkpoint, num_threads=args.threads,
                               cache_budget_mb=0, logger=_quiet())
    ratios = []
    for s in chosen:
        static = extract(supernet, s.arch)
        batch = torch.from_numpy(preprocess(image, s.arch.r))
        for engine in (cached, dynamic):
            engine.request_switch(s.id)
        cached.wait_cache_idle()
        times = {'static': [], 'cached': [], 'dynamic': []}

        def run_static():
            start = time.perf_counter()
            with torch.inference_mode():
                torch.softmax(static(batch), dim=1)[0].numpy()
            return (time.perf_counter() - start) * 1e3

        def run_engine(engine, path):
            result = engine.infer(image)
            assert result.path == path
            return result.inference_ms

        order = [('static', run_static), ('cached', lambda: run_engine(cached, 'cached')),
                 ('dynamic', lambda: run_engine(dynamic, 'dynamic'))]
        for i in range(args.warmup + args.runs):
            for name, run in order[i % 3:] + order[:i % 3]:    # rotate: no fixed position
                elapsed = run()
                if i >= args.warmup:
                    times[name].append(elapsed)
        med = {k: statistics.median(v) for k, v in times.items()}
        ratios.append((med['cached'] / med['static'], med['dynamic'] / med['static']))
        print(f'   {s.id:8s} {s.arch.r:4d} {med["static"]:8.2f} {med["cached"]:8.2f} '
              f'{med["dynamic"]:8.2f} {med["cached"] / med["static"]:13.3f}x '
              f'{med["dynamic"] / med["static"]:14.3f}x')
    cached.close()
    dynamic.close()
    geo = [statistics.geometric_mean(column) for column in zip(*ratios)]
    print(f'   geometric mean: cached/static {geo[0]:.3f}x (goal <= 1.02x), dynamic/static '
          f'{geo[1]:.3f}x; worst cached/static {max(r[0] for r in ratios):.3f}x')


def memory_child(mode, args):
    """Run in a fresh process: report the RSS growth of one way of holding the catalog."""
    import torch
    from ofa.imagenet_classification.networks import MobileNetV3   # noqa: F401 - baseline
    from dynofa_ros.core.common import catalog as catalog_mod
    catalog = catalog_mod.load(args.catalog)
    torch.set_num_threads(1)
    base = rss_mb()
    if mode == 'static':
        nets = []
        for s in catalog.subnets:
            blob = torch.load(os.path.join(args.tmp, f'{s.id}.pth'), map_location='cpu',
                              weights_only=False)
            nets.append(MobileNetV3.build_from_config(blob['config']))
            nets[-1].load_state_dict(blob['state_dict'])
            del blob
    else:
        from dynofa_ros.core.perception.engine import DynamicOfaEngine
        budget = 4096 if mode == 'engine+cache' else 0
        engine = DynamicOfaEngine(catalog, checkpoint=args.checkpoint, logger=_quiet(),
                                  cache_budget_mb=budget)
        for s in catalog.subnets:
            engine.request_switch(s.id)
            engine.wait_cache_idle()
        used = engine.cache_info()['used_mb']
        engine.close()
    import gc
    gc.collect()
    out = {'rss_mb': rss_mb() - base}
    if mode != 'static':
        out['cache_mb'] = used
    print(json.dumps(out))


def bench_memory(args, catalog, tmp):
    results = {}
    for mode in ('engine', 'engine+cache', 'static'):
        cmd = [sys.executable, __file__, '--memory-child', mode, '--catalog', args.catalog,
               '--tmp', tmp] + (['--checkpoint', args.checkpoint] if args.checkpoint else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    n = len(catalog.subnets)
    static = results['static']['rss_mb']
    print(f'\n3. resident memory growth (fresh processes, {n} sub-networks)')
    print(f'   one supernet, no cache              {results["engine"]["rss_mb"]:7.0f} MB '
          f'({results["engine"]["rss_mb"] / static:.2f}x of N static models)')
    print(f'   one supernet + cache of all {n}      {results["engine+cache"]["rss_mb"]:7.0f} MB '
          f'(cache holds {results["engine+cache"]["cache_mb"]:.0f} MB; '
          f'{results["engine+cache"]["rss_mb"] / static:.2f}x)')
    print(f'   {n} separate static models           {static:7.0f} MB (1.00x)')


def _quiet():
    import logging
    logger = logging.getLogger('bench.engine')
    logger.setLevel(logging.ERROR)
    return logger


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--catalog', default=DEFAULT_CATALOG)
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--all', action='store_true', help='latency of every sub-network')
    parser.add_argument('--memory-child', default='', help=argparse.SUPPRESS)
    parser.add_argument('--tmp', default='', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args)
        return 0
    import skimage.data
    catalog, supernet = load(args)
    print(f'catalog {args.catalog}: {len(catalog.subnets)} sub-networks of {catalog.supernet}; '
          f'checkpoint: {args.checkpoint or "none (random weights)"}')
    with tempfile.TemporaryDirectory() as tmp:
        bench_switch(args, catalog, supernet, tmp)
        bench_latency(args, catalog, supernet, skimage.data.astronaut())
        bench_memory(args, catalog, tmp)
    return 0


if __name__ == '__main__':
    sys.exit(main())
