"""
Random missions through the user's scenario schema: dynofa against schedutil and the oracle.

The built-in scenarios are a handful of missions we chose; a user evaluates their own. This
draws `--count` missions from a fixed distribution (below), writes each as a scenario YAML file
(the documented schema, loaded the way `evaluate --scenario FILE` loads it), runs dynofa,
schedutil and the oracle on each, `--seeds` simulation seeds pooled, and reports per mission and
in summary: dynofa's energy per frame against the oracle at the same accuracy, against schedutil
at similar latency (with the top-1 difference), and its frames over target. SIMULATED.

Distribution (mission seed `--draw`): one of six shapes, equally likely: one GPU model (camera
5-20 Hz), one CPU-cluster model (1-5 Hz, half with 2 intra-op threads), one GPU and one CPU
model, two GPU models (4-10 Hz, the first with priority 1 or 2), two GPU models the second of
which may move to cpu0 (front 5-10 Hz priority 2, rear 2-5 Hz), one GPU model back to back
(target 50-110 ms); targets 0.75-2x the frame period (0.6-1.5x on the CPU, 0.8-1.5x for the
movable one); 30 % with a first model's min_accuracy of 75, 76 or 77; 40 % with the first
model's target changed to 0.8-1.5x at half time.

Usage: python bench/bench_missions.py [--count N] [--draw S] [--seeds K] [--duration S]
       [--platform FILE] [--jobs N] [--out DIR]
"""

import argparse
from concurrent.futures import ProcessPoolExecutor
import math
import os
import random
import statistics
import sys
import tempfile

from dynofa_ros.core.evaluation.scenarios import check_against, load_file
from dynofa_ros.core.evaluation.simulator import DEFAULT_PLATFORM, SimPlatform
from dynofa_ros.tools import evaluate
import yaml

SHAPES = ('gpu', 'cpu', 'gpu_cpu', 'gpu_two', 'gpu_two_map', 'back_to_back')
ROWS = ('dynofa', 'schedutil', 'oracle')
WITHIN = 3.0        # % of the oracle's energy per frame (issue 10's bar)


def _gpu(rng, app_id, hz, low=0.75, high=2.0):
    return {'app_id': app_id, 'domain': 'gpu', 'camera_hz': hz,
            'latency_target_ms': round(1000.0 / hz * rng.uniform(low, high), 1)}


def _cpu(rng, app_id):
    hz = rng.choice([1, 2, 3, 4, 5])
    app = {'app_id': app_id, 'domain': 'cpu0', 'camera_hz': hz,
           'latency_target_ms': round(1000.0 / hz * rng.uniform(0.6, 1.5), 1)}
    if rng.random() < 0.5:
        app['threads'] = 2
    return app


def mission(rng, k):
    """Return mission k as a scenario document (docs/evaluation.md schema)."""
    shape = rng.choice(SHAPES)
    if shape == 'gpu':
        apps = [_gpu(rng, 'a', rng.choice([5, 8, 10, 12, 15, 20]))]
    elif shape == 'cpu':
        apps = [_cpu(rng, 'a')]
    elif shape == 'gpu_cpu':
        apps = [_gpu(rng, 'a', rng.choice([5, 8, 10, 12, 15, 20])), _cpu(rng, 'b')]
    elif shape == 'gpu_two':
        apps = [_gpu(rng, 'a', rng.choice([4, 5, 6, 8, 10])),
                _gpu(rng, 'b', rng.choice([4, 5, 6, 8, 10]))]
        apps[0]['priority'] = rng.choice([1, 2])
    elif shape == 'gpu_two_map':
        apps = [_gpu(rng, 'a', rng.choice([5, 8, 10])),
                _gpu(rng, 'b', rng.choice([2, 3, 4, 5]), 0.8, 1.5)]
        apps[0]['priority'] = 2
        apps[1]['domains'] = ['gpu', 'cpu0']
        del apps[1]['domain']
    else:
        apps = [{'app_id': 'a', 'domain': 'gpu', 'camera_hz': 0,
                 'latency_target_ms': round(rng.uniform(50, 110), 1)}]
    if rng.random() < 0.3:
        apps[0]['min_accuracy'] = rng.choice([75.0, 76.0, 77.0])
    events = []
    if rng.random() < 0.4:
        events.append({'t': 10, 'param': 'apps.a.latency_target_ms',
                       'value': round(apps[0]['latency_target_ms'] * rng.uniform(0.8, 1.5), 1)})
    return {'name': f'm{k:02d}_{shape}', 'description': f'random mission {k} ({shape})',
            'duration_s': 20, 'label': 'slack', 'apps': apps, 'events': events}


def run_one(job):
    """Run one mission file; return its figures (a dict)."""
    path, platform_path, seeds, duration = job
    platform = SimPlatform(platform_path)
    scenario = load_file(path)
    check_against(scenario, platform.truth)
    if duration:
        scenario = scenario.scaled(duration)
    runs = evaluate.pooled([evaluate.run_scenario(scenario, platform, ROWS, seed)
                            for seed in range(1, seeds + 1)])
    rows = {r['policy'].split(' ')[0]: r for r in evaluate.summary(runs)}
    mine, oracle = rows['dynofa'], rows['oracle']
    return {'name': scenario.name, 'vs_oracle': mine['vs_oracle'],
            'similar': mine['similar'], 'over': mine['over_pct'], 'top1': mine['top1'],
            'oracle_top1': oracle['top1'] if oracle['frames'] else math.nan}


def _fmt(value, spec):
    return 'n/a' if value is None or (isinstance(value, float) and math.isnan(value)) else (
        format(value, spec))


def report(results, args):
    """Return the markdown report: a line per mission, then the summary."""
    lines = [f'SIMULATED: {len(results)} random missions (draw {args.draw}), '
             f'{evaluate.seeds_text(1, args.seeds)}, platform file {args.platform}; not '
             'measured on hardware.', '',
             '| mission | dynofa vs oracle | vs schedutil at similar latency | over target % '
             '| top-1 (oracle) |', '|---|---|---|---|---|']
    for r in results:
        similar = evaluate.similar_text(r['similar']) if r['similar'] else 'n/a'
        gap = _fmt(r['vs_oracle'], '+.1f') + (' %' if r['vs_oracle'] is not None else '')
        lines.append(f'| {r["name"]} | {gap} | {similar} | '
                     f'{_fmt(r["over"], ".1f")} | {_fmt(r["top1"], ".2f")} '
                     f'({_fmt(r["oracle_top1"], ".2f")}) |')
    gaps = [r['vs_oracle'] for r in results if r['vs_oracle'] is not None]
    compared = [r for r in results if r['similar']]
    worse = [r for r in compared if r['similar'][0] > 0]
    similar_acc = [r for r in worse if abs(r['similar'][1]) <= 1.0]
    lines += ['', f'- against the oracle ({len(gaps)} missions where every phase has one): '
              f'within {WITHIN:g} % in {sum(g <= WITHIN for g in gaps)}, median '
              f'{statistics.median(gaps):+.1f} %, worst {max(gaps):+.1f} %' if gaps else
              '- no mission has an oracle in every phase',
              f'- against schedutil at similar latency ({len(compared)} missions where it meets '
              f'its target somewhere): dynofa uses more energy per frame in {len(worse)} '
              f'({len(similar_acc)} of them at similar accuracy, within 1 top-1 point)',
              f'- missions where dynofa has over 5 % of frames over target: '
              f'{sum(r["over"] > 5.0 for r in results)}']
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--count', type=int, default=40, help='missions (default 40)')
    parser.add_argument('--draw', type=int, default=1, help='mission seed (default 1)')
    parser.add_argument('--seeds', type=int, default=3,
                        help='simulation seeds pooled per mission (default 3)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='compress each mission to this many seconds (default: 20)')
    parser.add_argument('--platform', default=DEFAULT_PLATFORM, help='simulation file')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1,
                        help='processes (default: one per CPU)')
    parser.add_argument('--out', default='', help='directory for the mission files and '
                        'results.md (default: a temporary directory, removed)')
    args = parser.parse_args(argv)
    rng = random.Random(args.draw)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or tmp
        os.makedirs(folder, exist_ok=True)
        jobs = []
        for k in range(args.count):
            doc = mission(rng, k)
            path = os.path.join(folder, f'{doc["name"]}.yaml')
            with open(path, 'w') as f:
                yaml.safe_dump(doc, f, sort_keys=False)
            jobs.append((path, args.platform, args.seeds, args.duration))
        with ProcessPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(run_one, jobs))
        text = report(results, args)
        if args.out:
            with open(os.path.join(folder, 'results.md'), 'w') as f:
                f.write(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
