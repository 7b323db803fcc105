"""
Time the manager's decisions: outer step for 2 apps x 10 sub-networks x 25 frequency levels.

Prints the decision time per control step (goal < 0.5 ms) next to the per-frame inner loop, a
one-application step and a step where one application may move to a CPU cluster (device
mapping: two placements planned), measured in the same run, so the ratios hold across machines.
Usage: python bench/bench_manager.py [--steps N]
"""

import argparse
import statistics
import time

from dynofa_ros.core.common.catalog import Arch, Catalog, Subnet
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager.data import FrameStats, SystemSnapshot
from dynofa_ros.core.manager.policy import ManagerPolicy
from dynofa_ros.core.platforms.profiles import Domain

KEY, CPU_KEY = 'gpu/bench/published', 'cpu/bench/cluster'
DOMAIN = Domain('gpu', 'devfreq', (), tuple(300000 + 40000 * i for i in range(25)))
CPU = Domain('cpu0', 'cpufreq', (0, 1), tuple(400000 + 60000 * i for i in range(25)))


def catalog(n=10):
    subnets = [Subnet(f's{i}', i, Arch((3,) * 20, (3,) * 20, (2,) * 5, 160 + 8 * i),
                      70.0 + i, 'bench', latency_ms={KEY: {0: 30.0 + 4.0 * i},
                                                     CPU_KEY: {2: 3.0 * (30.0 + 4.0 * i)}})
               for i in range(n)]
    return Catalog('ofa_mbv3_d234_e346_k357_w1.2', subnets)


def policy(apps, movable=()):
    """Return a policy; apps in `movable` may also run on the CPU cluster (device mapping)."""
    values = {}
    for i, app in enumerate(apps):
        values.update({f'apps.{app}.domains': ['gpu'], f'apps.{app}.profile_key': KEY,
                       f'apps.{app}.latency_target_ms': 120.0 + 20 * i})
        if app in movable:
            values.update({f'apps.{app}.domains': ['gpu', 'cpu0'],
                           f'apps.{app}.profile_keys': [KEY, CPU_KEY]})
    config = manager_config.initial(list(apps), values, {'gpu': 'devfreq', 'cpu0': 'cpufreq'})
    cat = catalog()
    pol = ManagerPolicy(config, [DOMAIN, CPU], catalog_loader=lambda path: cat)
    for app in movable:
        pol.apps[app].rate_hz = 4.0     # as measured from its frames: it may move now
    return pol


def time_steps(pol, steps):
    samples = []
    for k in range(steps):
        t = float(k)
        pol.on_system(SystemSnapshot(t, {'gpu': DOMAIN.f_max, 'cpu0': CPU.f_max}))
        pol.commanded.clear()      # force a full decision every time (no cached command)
        start = time.perf_counter()
        pol.step(t)
        samples.append(time.perf_counter() - start)
    return samples


def time_frames(pol, frames):
    samples = []
    state = pol.apps['a']
    for k in range(frames):
        stats = FrameStats('a', 1e6 + k * 0.05, state.current, 60.0, k + 1, 0)
        start = time.perf_counter()
        pol.on_frame(stats)
        samples.append(time.perf_counter() - start)
    return samples


def report(name, samples):
    ms = sorted(s * 1000.0 for s in samples)
    p99 = ms[int(0.99 * (len(ms) - 1))]
    print(f'{name:44s} median {statistics.median(ms):.3f} ms  p99 {p99:.3f} ms')
    return statistics.median(ms)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--steps', type=int, default=2000)
    args = parser.parse_args(argv)
    two, one = policy(('a', 'b')), policy(('a',))
    time_steps(two, 50)   # warm up numpy
    outer2 = report('outer step, 2 apps x 10 subnets x 25 levels', time_steps(two, args.steps))
    outer1 = report('outer step, 1 app x 10 subnets x 25 levels', time_steps(one, args.steps))
    moving = policy(('a', 'b'), movable=('b',))
    mapped = report('outer step, 2 apps, b may move (2 placements)',
                    time_steps(moving, args.steps))
    inner = report('inner loop, one frame', time_frames(one, args.steps))
    print(f'goal 0.5 ms: 2-app step at {outer2 / 0.5:.2f}x the goal; 2-app / 1-app '
          f'{outer2 / outer1:.2f}x; with device mapping / without {mapped / outer2:.2f}x; '
          f'outer / inner {outer2 / inner:.1f}x')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
