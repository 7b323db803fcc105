"""
The onnxruntime backend against torch, side by side in one run, per sub-network of a catalog.

Setup: a saved checkpoint (seeded random supernet with BN statistics set from real photos, as the
tests make it: no weights can be downloaded here) and per-sub-network BN statistics calibrated on
the same photos, both written to a temporary directory. Then, per sub-network:
  latency      the extracted static torch network vs its ONNX Runtime session (CPU provider),
               --threads intra-op threads, interleaved run by run (alternating which goes
               first), medians; speed-up = torch / onnxruntime;
  agreement    on scikit-image's real photos: top-5 classes identical, max |logit difference|;
  cost         export time, session build time (+ warm-up), ONNX file size;
  switch       request_switch() + the frame-boundary lookup of a ready session on the engine
               with backend onnxruntime, and the paired wall-time difference of a frame with a
               switch vs one without;
  memory       resident memory of fresh processes: supernet + a session of every sub-network
               (the onnxruntime engine), supernet + every static torch sub-network (the torch
               engine), and N static torch models without a supernet.

    python bench/bench_onnxruntime.py [--catalog C] [--runs 20] [--threads 1] [--subnets a,b]
        [--logit-scale 300] [--no-memory]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CATALOG = os.path.join(ROOT, 'config', 'catalogs', 'ofa_mbv3_w12_dynamic_ofa.yaml')
sys.path.insert(0, os.path.join(ROOT, 'test'))


def prepare(catalog_path, tmp, logit_scale=300.0):
    """Write a checkpoint, BN statistics and a catalog naming them; return the catalog."""
    import numpy as np
    import torch
    import yaml
    from dynofa_ros.core.common import catalog as catalog_mod
    from dynofa_ros.core.perception.bn_stats import BnStatsFile, calibrate
    from dynofa_ros.core.images.preprocess import preprocess
    from support import engine as lib
    checkpoint = os.path.join(tmp, 'supernet.pth')
    supernet = lib.save_fresh_checkpoint(checkpoint, name=catalog_mod.load(catalog_path).supernet,
                                         seed=7, logit_scale=logit_scale)
    with open(catalog_path) as f:
        raw = yaml.safe_load(f)
    raw['bn_stats'] = 'bench.bn.pt'
    path = os.path.join(tmp, 'catalog.yaml')
    with open(path, 'w') as f:
        yaml.safe_dump(raw, f, sort_keys=False)
    catalog = catalog_mod.load(path)
    stats = BnStatsFile(catalog.supernet, images=3, source='scikit-image photos')
    for subnet in catalog.subnets:
        batch = torch.from_numpy(np.concatenate(
            [preprocess(im, subnet.arch.r) for im in lib.photos(256)]))
        stats.subnets[subnet.id] = {'arch': subnet.arch.as_dict(),
                                    'bn': calibrate(supernet, subnet.arch, [batch])}
    stats.save(catalog.bn_stats_path())
    return catalog, checkpoint


def per_subnet(engine, subnet, args, photos):
    import numpy as np
    import torch
    from dynofa_ros.core.perception import onnx_backend
    from dynofa_ros.core.images.preprocess import preprocess
    r = subnet.arch.r
    static = engine.extract_static(subnet.id)
    start = time.perf_counter()
    path = engine.onnx_file_path(subnet.id)
    if os.path.exists(path):
        os.unlink(path)
    engine.onnx_file(subnet.id)
    export_s = time.perf_counter() - start
    session = onnx_backend.OnnxSubnet(path, r, onnx_backend.providers_for('cpu', ''),
                                      args.threads)
    diffs, scale, same_top5 = [], [], 0
    with torch.inference_mode():
        for image in photos:
            batch = preprocess(image, r)
            ref = static(torch.from_numpy(batch)).numpy()[0]
            got = session(batch)[0]
            diffs.append(float(np.abs(ref - got).max()))
            scale.append(float(np.abs(ref).max()))
            same_top5 += list(np.argsort(-ref)[:5]) == list(np.argsort(-got)[:5])
    batch = preprocess(photos[0], r)
    tensor = torch.from_numpy(batch)
    torch.set_num_threads(args.threads)
    times = {'torch': [], 'onnxruntime': []}

    def run_torch():
        with torch.inference_mode():
            static(tensor)

    calls = {'torch': run_torch, 'onnxruntime': lambda: session(batch)}
    for i in range(args.warmup + args.runs):
        order = ('torch', 'onnxruntime') if i % 2 else ('onnxruntime', 'torch')
        for name in order:
            t0 = time.perf_counter()
            calls[name]()
            if i >= args.warmup:
                times[name].append((time.perf_counter() - t0) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    paired = statistics.median(t / o for t, o in zip(times['torch'], times['onnxruntime']))
    return {'id': subnet.id, 'r': r, 'torch_ms': med['torch'], 'ort_ms': med['onnxruntime'],
            'speedup': paired, 'max_diff': max(diffs), 'top5_same': same_top5,
            'logit_max': max(scale),
            'photos': len(photos), 'export_s': export_s, 'build_s': session.build_s,
            'warmup_s': session.warmup_s, 'file_mb': session.nbytes / 2**20}


def bench_switch(engine, catalog, image, runs):
    """Return (request+lookup ms, paired frame-with-switch minus frame-without ms) medians."""
    ids = [s.id for s in catalog.subnets[:2]]
    for subnet_id in ids:
        engine.request_switch(subnet_id)
        engine.infer(image)
        engine.wait_cache_idle(300)
    lookup, extra = [], []
    threads = engine.num_threads
    for i in range(runs):
        target = ids[i % 2]
        t0 = time.perf_counter()
        engine.request_switch(target)
        engine._cache.get(target, 'cpu', threads)
        lookup.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        switched = engine.infer(image)
        with_switch = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain = engine.infer(image)
        without = time.perf_counter() - t0
        assert switched.switched and not plain.switched and switched.backend == 'onnxruntime'
        extra.append((with_switch - without) * 1e3)
    return statistics.median(lookup), statistics.median(extra)


def memory_child(mode, catalog_path, checkpoint, threads):
    """Print the RSS (MB) of a fresh process holding what `mode` names."""
    import psutil
    import torch
    from dynofa_ros.core.common import catalog as catalog_mod
    from dynofa_ros.core.perception.engine import DynamicOfaEngine
    torch.set_num_threads(threads)
    catalog = catalog_mod.load(catalog_path)
    before = psutil.Process().memory_info().rss
    held = []
    if mode == 'static':
        engine = DynamicOfaEngine(catalog, checkpoint=checkpoint, cache_budget_mb=0,
                                  backend='torch')
        held = [engine.extract_static(s.id) for s in catalog.subnets]
        del engine
        import gc
        gc.collect()
    else:
        engine = DynamicOfaEngine(catalog, checkpoint=checkpoint, cache_budget_mb=4096,
                                  backend=mode, num_threads=threads)
        for subnet in catalog.subnets:
            engine.request_switch(subnet.id)
        engine.wait_cache_idle(900)
        held = [engine]
    rss = psutil.Process().memory_info().rss
    print(json.dumps({'rss_mb': rss / 2**20, 'delta_mb': (rss - before) / 2**20,
                      'held': len(held)}))


def bench_memory(catalog_path, checkpoint, threads):
    out = {}
    for mode in ('onnxruntime', 'torch', 'static'):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--memory-child', mode,
                               '--catalog', catalog_path, '--checkpoint', checkpoint,
                               '--threads', str(threads)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              check=True)
        out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--catalog', default=DEFAULT_CATALOG)
    parser.add_argument('--checkpoint', default='', help=argparse.SUPPRESS)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--subnets', default='', help='comma-separated ids (default: all)')
    parser.add_argument('--no-memory', action='store_true')
    parser.add_argument('--logit-scale', type=float, default=300.0,
                        help="factor on the random classifier's weights: sets the logits' size")
    parser.add_argument('--memory-child', default='', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.catalog, args.checkpoint, args.threads)
        return 0
    import logging
    import torch
    from dynofa_ros.core.perception.engine import DynamicOfaEngine
    from support import engine as lib
    logging.disable(logging.WARNING)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        catalog, checkpoint = prepare(args.catalog, tmp, args.logit_scale)
        engine = DynamicOfaEngine(catalog, checkpoint=checkpoint, backend='onnxruntime',
                                  num_threads=args.threads,
                                  onnx_cache_dir=os.path.join(tmp, 'onnx'),
                                  initial_subnet=catalog.subnets[0].id)
        engine.wait_cache_idle(300)
        photos = lib.photos(480)
        wanted = [s for s in catalog.subnets
                  if not args.subnets or s.id in args.subnets.split(',')]
        rows = [per_subnet(engine, s, args, photos) for s in wanted]
        lookup_ms, extra_ms = bench_switch(engine, catalog, photos[0], args.runs)
        engine.close()
        memory = {} if args.no_memory else bench_memory(catalog.path, checkpoint, args.threads)
    print(f'{catalog.supernet}, {len(rows)} sub-networks, {args.threads} intra-op thread(s), '
          f'{args.runs} runs; load average {load:.1f} -> {os.getloadavg()[0]:.1f} on '
          f'{os.cpu_count()} cores')
    print(f'{"subnet":8s} {"r":>4s} {"torch ms":>9s} {"ort ms":>8s} {"speed-up":>9s} '
          f'{"max|diff|":>10s} {"max|logit|":>11s} {"top-5":>6s} {"export s":>9s} '
          f'{"session s":>10s} '
          f'{"warm-up ms":>11s} {"file MB":>8s}')
    for row in rows:
        print(f'{row["id"]:8s} {row["r"]:4d} {row["torch_ms"]:9.1f} {row["ort_ms"]:8.1f} '
              f'{row["speedup"]:8.2f}x {row["max_diff"]:10.1e} {row["logit_max"]:11.1f} '
              f'{row["top5_same"]:>2d}/{row["photos"]:<3d} {row["export_s"]:9.2f} '
              f'{row["build_s"]:10.2f} {row["warmup_s"] * 1e3:11.1f} {row["file_mb"]:8.1f}')
    relative = max(r['max_diff'] / r['logit_max'] for r in rows)
    print(f'min speed-up {min(r["speedup"] for r in rows):.2f}x (goal >= 1.7x); '
          f'max |logit diff| {max(r["max_diff"] for r in rows):.1e} (goal < 1e-3), '
          f'relative to the largest logit {relative:.1e}; '
          f'top-5 identical on {sum(r["top5_same"] for r in rows)}/'
          f'{sum(r["photos"] for r in rows)} (sub-network, photo) pairs')
    print(f'switch to a ready session: request + lookup {lookup_ms * 1e3:.0f} us; frame with a '
          f'switch minus frame without (paired median) {extra_ms:+.2f} ms (goal < 1 ms)')
    if memory:
        n = len(catalog.subnets)
        print(f'resident memory of a fresh process, {n} sub-networks prepared:')
        labels = {'onnxruntime': f'supernet + {n} onnxruntime sessions',
                  'torch': f'supernet + {n} static torch sub-networks',
                  'static': f'{n} static torch models, no supernet'}
        for mode, label in labels.items():
            print(f'  {label:42s} {memory[mode]["rss_mb"]:7.0f} MB '
                  f'(+{memory[mode]["delta_mb"]:.0f} MB over the imports)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
