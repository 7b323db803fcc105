"""
The demo: the whole system on a recorded camera bag, with a scripted mission.

    demo [--out out/demo] [--checkpoint ofa_w12.pth] [--phase-s 18] [--require-idle]

1. generates a camera bag from scikit-image's photos and profiles the catalog on this machine;
2. starts the system on a fake Jetson Xavier NX sysfs tree (harness/simulated_system.py): the
   hardware node writes the fake tree, a process plays its kernel, and the perception node's
   simulated-hardware mode makes the CPU frequency stretch inference as on a board; power is the
   hardware node's model estimate (there is no sensor in a fake tree);
3. runs the mission through the manager's parameter service: a relaxed latency target, a tight
   one, a contention phase (two busy processes take the CPU), relaxed again;
4. prints a summary table and writes a PNG timeline (target vs measured latency, sub-network,
   frequencies, power) into the output directory.

The targets come from the profile of step 1, so a profile taken while other processes load the
CPU makes them too relaxed: the demo warns when others used more than 25% of the CPUs while it
profiled (--require-idle: refuses, exit code 3).
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import time

from dynofa_ros.core.bags import camera_bags
from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common.paths import resolve
from dynofa_ros.core.evaluation import load_check, run_report, timeline_plot
from dynofa_ros.harness.simulated_system import APP, executable, SimulatedSystem

# Two intra-op threads to start with; the manager may go down to one (task mapping): with two
# on this 2-core machine, a busy process on the other core stalls OpenMP barriers (measured:
# inference 50x slower), which the manager must notice and undo.
THREADS = 2


def _say(text):
    print(f'[demo] {text}', flush=True)


def profile_catalog(out, source, checkpoint):
    """
    Copy the catalog next to the outputs and profile it on this machine.

    Return its path and the load.Load other processes put on the machine while it was profiled.
    """
    path = os.path.join(out, 'catalog.yaml')
    shutil.copy(source, path)
    cmd = [executable('profile'), '--catalog', path, '--threads', ','.join(
        str(t) for t in range(1, THREADS + 1)),
           '--warmup', '3', '--runs', '7', '--no-macs']
    if checkpoint:
        cmd += ['--checkpoint', checkpoint]
    _say('profiling the catalog on this machine (the profile tool)')
    meter = load_check.LoadMeter().start()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path, meter.stop()


def check_profile_load(load, require_idle):
    """Return (exit code or None to go on, message or '') for the load seen while profiling."""
    problem = load.verdict()
    if not problem:
        return None, ''
    if require_idle:
        return 3, f'refusing to run (--require-idle): {problem}; stop them and run again'
    return None, (f'WARNING: {problem}. The mission may be trivial; run on an idle machine, '
                  'or pass --require-idle to refuse instead of warning')


def mission(catalog_path):
    """Return the mission [(phase, target ms)] and the profiled fastest/slowest latency."""
    cat = catalog_mod.load(catalog_path)
    key = catalog_mod.profile_key('cpu')
    lat = [s.latency(key, THREADS) for s in cat.subnets]
    if any(v is None for v in lat):
        raise RuntimeError(f'catalog {catalog_path} has no profile for {key}')
    fast, accurate = min(lat), max(lat)
    relaxed = round(1.6 * accurate)
    tight = round(fast + 0.4 * (accurate - fast))
    return [('relaxed', relaxed), ('tight', tight), ('contention', relaxed),
            ('relaxed again', relaxed)], fast, accurate


def spin_for(client, seconds, until=lambda: False):
    """Spin the demo's own node for a while or until a condition holds; return the condition."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        client.executor.spin_once(timeout_sec=0.1)
    return until()


def build_parser():
    parser = argparse.ArgumentParser(
        prog='demo', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='out/demo', help='output directory (recreated)')
    parser.add_argument('--checkpoint', default='',
                        help='OFA w1.2 supernet checkpoint (default: random weights)')
    parser.add_argument('--catalog', default=catalog_mod.DEFAULT_CATALOG)
    parser.add_argument('--phase-s', type=float, default=18.0, help='seconds per mission phase')
    parser.add_argument('--frames', type=int, default=120, help='frames in the camera bag')
    parser.add_argument('--require-idle', action='store_true',
                        help='refuse (exit 3) when other processes loaded the CPU while the '
                             'catalog was profiled, instead of warning')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not args.phase_s >= 5 or args.frames < 10:
        print('demo: --phase-s must be at least 5 and --frames at least 10', file=sys.stderr)
        return 2
    try:
        catalog_src = resolve(args.catalog, 'catalog')
        checkpoint = resolve(args.checkpoint, 'checkpoint') if args.checkpoint else ''
    except FileNotFoundError as exc:
        print(f'demo: {exc}', file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    camera_bag = os.path.join(out, 'camera_bag')
    _say(f'generating the camera bag ({args.frames} frames, 640x480, 10 Hz)')
    camera_bags.write_camera_bag(camera_bag, frames=args.frames, rate_hz=10.0)
    catalog_path, load = profile_catalog(out, catalog_src, checkpoint)
    refuse, warning = check_profile_load(load, args.require_idle)
    if refuse is not None:
        print(f'demo: {warning}', file=sys.stderr)
        return refuse
    if warning:
        _say(warning)
    phases, fast, accurate = mission(catalog_path)
    _say(f'profiled: {fast:.0f} ms (fastest) to {accurate:.0f} ms (most accurate sub-network) '
         f'at {THREADS} thread(s), at the maximum CPU frequency')
    system = SimulatedSystem(out, catalog_path, camera_bag, phases[0][1], checkpoint, THREADS,
                             max_threads=THREADS)
    try:
        system.start()
        done = run_mission(system, phases, args.phase_s)
        if not system.alive():
            raise RuntimeError(f'the system stopped during the demo; see {system.logs}')
        system.stop_recording()
    except RuntimeError as exc:
        print(f'demo: {exc}', file=sys.stderr)
        return 1
    finally:
        code = system.stop()
    return report(system, done, code, warning)


def run_mission(system, phases, phase_s):
    """Drive the manager's latency target through its parameter service; return the Phases."""
    from dynofa_ros.msg import PerceptionStats
    from dynofa_ros.nodes.qos import TELEMETRY_QOS
    from dynofa_ros.tools.param import ParamClient
    client = ParamClient('/manager', timeout=60.0)
    received = []
    client.node.create_subscription(PerceptionStats, 'perception_stats', received.append,
                                    TELEMETRY_QOS)
    name = f'apps.{APP}.latency_target_ms'
    done = []
    try:
        _say('waiting for the first classified frame (model loading)')
        if not spin_for(client, 120, lambda: bool(received)):
            raise RuntimeError(f'no perception result after 120 s; see {system.logs}')
        for phase, target in phases:
            start = time.time()
            ok, reason = client.set_values({name: float(target)})[name]
            if not ok:
                raise RuntimeError(f'the manager refused target {target} ms: {reason}')
            if phase == 'contention':
                system.start_hogs(2)
            _say(f'phase "{phase}": latency target {target} ms'
                 + (', 2 busy processes take the CPU' if system.hogs else ''))
            spin_for(client, phase_s)
            system.stop_hogs()
            done.append(run_report.Phase(start, time.time(), phase, float(target)))
    finally:
        client.close()
    return done


def report(system, phases, code, warning=''):
    """Print the summary table, write it and the timeline PNG; return the exit code."""
    tl = run_report.load(system.output_bag)
    rows = run_report.summarize(tl, phases)
    table = run_report.format_table(rows, tl)
    back = run_report.format_recovery(run_report.recovery(tl, phases))
    if back:
        table += f'\n{back}'
    if warning:  # kept with the results, so a trivial-looking mission is explained
        table += f'\n{warning}'
    png = os.path.join(system.out, 'timeline.png')
    title = 'dynofa_ros demo: real inference, simulated Xavier NX DVFS'
    timeline_plot.plot(tl, phases, png, title=title + (
        '\nWARNING: catalog profiled under load, targets too relaxed' if warning else ''))
    with open(os.path.join(system.out, 'summary.txt'), 'w') as f:
        f.write(table + '\n')
    print('\n' + table + '\n')
    _say(f'timeline: {png}')
    _say(f'recorded topics: {system.output_bag}   logs: {system.logs}')
    if code not in (0, None):
        _say(f'run_system exited with code {code}; see the logs')
        return 1
    if not tl.stats or any(math.isnan(r['within_target']) for r in rows):
        _say('some phases produced no frames; see the logs')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
