"""
The demo: the whole system on a recorded camera bag, with a scripted mission.

    demo [--out out/demo] [--checkpoint ofa_w12.pth] [--phase-s 18]

1. builds a fake Jetson Xavier NX sysfs tree (no power sensor, so power is the model's estimate)
   and plays its kernel; the perception node's simulated-hardware mode makes the tree's CPU
   frequency stretch inference as a real cluster would (this workstation's own DVFS is untouched);
2. generates a camera bag from scikit-image's photos and profiles the catalog on this machine;
3. starts hardware, perception and manager with run_system (config/system.yaml + an overlay),
   records their topics, and replays the camera bag in a loop;
4. runs the mission: a relaxed target, a tight one, a contention phase (busy processes take the
   CPU), relaxed again, changing the manager's target through its parameter service;
5. prints a summary table and writes a PNG timeline (target vs measured latency, sub-network,
   frequencies, power) into the output directory.
"""

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import time

from dynofa_ros.core import bagio, catalog as catalog_mod, run_report
from dynofa_ros.core.paths import resolve
import yaml

APP = 'cam'
THREADS = 2
TOPICS = ('perception_stats', 'classification', 'subnet_command', 'dvfs_command',
          'system_state', 'power_state')
HOG = 'import time\nwhile True:\n    sum(i * i for i in range(10000))\n'


def _exe(name):
    from dynofa_ros.core.paths import package_share
    prefix = os.path.dirname(os.path.dirname(package_share()))
    return os.path.join(prefix, 'lib', 'dynofa_ros', name)


def _say(text):
    print(f'[demo] {text}', flush=True)


class Processes:
    """Background processes of the demo, stopped in reverse order on exit."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.procs = []

    def start(self, name, cmd, quiet=True):
        log = open(os.path.join(self.log_dir, f'{name}.log'), 'w')
        proc = subprocess.Popen(cmd, stdout=log if quiet else None,
                                stderr=subprocess.STDOUT if quiet else None,
                                start_new_session=True)
        self.procs.append((name, proc, log))
        return proc

    def stop(self, proc, sig=signal.SIGINT, timeout=20.0):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self):
        for _, proc, log in reversed(self.procs):
            self.stop(proc)
            log.close()


def profile_catalog(out, source, checkpoint):
    """Copy the catalog next to the outputs and profile it on this machine; return its path."""
    path = os.path.join(out, 'catalog.yaml')
    shutil.copy(source, path)
    cmd = [_exe('profile'), '--catalog', path, '--threads', str(THREADS), '--warmup', '2',
           '--runs', '5', '--no-macs']
    if checkpoint:
        cmd += ['--checkpoint', checkpoint]
    _say('profiling the catalog on this machine (profile tool)')
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return path


def mission(catalog_path, phase_s):
    """Return the mission phases (relative start, name, target ms) from the profiled catalog."""
    cat = catalog_mod.load(catalog_path)
    key = catalog_mod.profile_key('cpu')
    lat = [s.latency(key, THREADS) for s in cat.subnets]
    if any(v is None for v in lat):
        raise RuntimeError(f'catalog {catalog_path} has no profile for {key}')
    fast, accurate = min(lat), max(lat)
    relaxed = round(1.6 * accurate)
    tight = round(fast + 0.35 * (accurate - fast))
    return [('relaxed', relaxed), ('tight', tight), ('contention', relaxed),
            ('relaxed again', relaxed)], fast, accurate


def write_overlay(out, sysfs, catalog_path, checkpoint, first_target):
    """Write the demo's parameter overlay (on top of config/system.yaml); return its path."""
    cur_freq = os.path.join(sysfs, 'sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq')
    overlay = {
        'hardware': {'ros__parameters': {'watchdog_timeout_s': 30.0, 'publish_rate_hz': 4.0}},
        'perception': {'ros__parameters': {
            'catalog': catalog_path, 'checkpoint': checkpoint, 'num_threads': THREADS,
            'app_id': APP, 'dvfs_emulation.cur_freq_file': cur_freq}},
        'manager': {'ros__parameters': {
            'apps': [APP], f'apps.{APP}.catalog': catalog_path,
            f'apps.{APP}.domains': ['cpu0'], f'apps.{APP}.profile_key': '',
            f'apps.{APP}.latency_target_ms': float(first_target)}},
    }
    path = os.path.join(out, 'demo_params.yaml')
    with open(path, 'w') as f:
        yaml.safe_dump(overlay, f, sort_keys=False)
    return path


def set_target(client, target_ms):
    ok, reason = client.set_values({f'apps.{APP}.latency_target_ms': float(target_ms)})[
        f'apps.{APP}.latency_target_ms']
    if not ok:
        raise RuntimeError(f'manager refused target {target_ms} ms: {reason}')


def spin_for(client, seconds, until=lambda: False):
    """Spin the demo's own node for a while (or until a condition holds); return the condition."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        client.executor.spin_once(timeout_sec=0.1)
    return until()


def spin_wait_path(path, seconds):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    return os.path.exists(path)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='demo', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='out/demo', help='output directory (recreated)')
    parser.add_argument('--checkpoint', default='',
                        help='OFA w1.2 supernet checkpoint (default: random weights)')
    parser.add_argument('--catalog', default='config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml')
    parser.add_argument('--phase-s', type=float, default=18.0, help='seconds per mission phase')
    parser.add_argument('--frames', type=int, default=120, help='frames in the camera bag')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not args.phase_s >= 5:
        print('demo: --phase-s must be at least 5', file=sys.stderr)
        return 2
    try:
        catalog_src = resolve(args.catalog, 'catalog')
        checkpoint = resolve(args.checkpoint, 'checkpoint') if args.checkpoint else ''
    except FileNotFoundError as exc:
        print(f'demo: {exc}', file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, 'logs'))
    procs = Processes(os.path.join(out, 'logs'))
    try:
        return run(args, out, procs, catalog_src, checkpoint)
    finally:
        procs.stop_all()


def run(args, out, procs, catalog_src, checkpoint):
    from dynofa_ros.tools.param import ParamClient
    from dynofa_ros.msg import PerceptionStats
    from dynofa_ros.nodes.qos import TELEMETRY_QOS
    sysfs = os.path.join(out, 'sysfs')
    # The fake kernel: builds the tree, then makes current frequencies follow governor/limits.
    procs.start('fake_kernel', [sys.executable, '-m', 'dynofa_ros.core.fake_sysfs',
                                '--platform', 'jetson_xavier_nx', '--root', sysfs,
                                '--ina', 'none', '--follow', '0.1'])
    if not spin_wait_path(os.path.join(sysfs, 'sys'), 30):
        raise RuntimeError(f'the fake sysfs tree did not appear; see {out}/logs/fake_kernel.log')
    camera_bag = os.path.join(out, 'camera_bag')
    _say(f'generating the camera bag ({args.frames} frames, 640x480, 10 Hz)')
    bagio.write_camera_bag(camera_bag, frames=args.frames, rate_hz=10.0)
    catalog_path = profile_catalog(out, catalog_src, checkpoint)
    phases, fast, accurate = mission(catalog_path, args.phase_s)
    _say(f'profiled inference at {THREADS} threads: {fast:.0f} ms (fastest) to '
         f'{accurate:.0f} ms (most accurate) at the maximum CPU frequency')
    overlay = write_overlay(out, sysfs, catalog_path, checkpoint, phases[0][1])

    system = procs.start('system', [_exe('run_system'), f'sysfs_root:={sysfs}',
                                    'platform_profile:=config/platforms/jetson_xavier_nx.yaml',
                                    '--params', overlay])
    output_bag = os.path.join(out, 'output_bag')
    recorder = procs.start('recorder', [_exe('bag'), 'record', output_bag] +
                           [a for t in TOPICS for a in ('-t', t)])
    procs.start('player', [_exe('bag'), 'play', camera_bag, '--loop', '--restamp',
                           '--wait-for-subscribers', '60'])
    client = ParamClient('/manager', timeout=60.0)
    received = []
    client.node.create_subscription(PerceptionStats, 'perception_stats', received.append,
                                    TELEMETRY_QOS)
    try:
        _say('waiting for the first classified frame (model loading)')
        if not spin_for(client, 120, lambda: bool(received)):
            raise RuntimeError(f'no perception result after 120 s; see {out}/logs/system.log')
        timeline_phases, hogs = [], []
        for name, target in phases:
            start = time.time()
            set_target(client, target)
            if name == 'contention':
                hogs = [procs.start(f'hog{i}', [sys.executable, '-c', HOG]) for i in range(2)]
            _say(f'phase "{name}": latency target {target} ms'
                 + (' + 2 busy processes' if hogs else ''))
            spin_for(client, args.phase_s)
            for hog in hogs:
                procs.stop(hog, signal.SIGKILL)
            hogs = []
            timeline_phases.append(run_report.Phase(start, time.time(), name, float(target)))
    finally:
        client.close()
    if system.poll() is not None:
        raise RuntimeError(f'the system stopped during the demo; see {out}/logs/system.log')
    procs.stop(recorder)
    tl = run_report.load(output_bag)
    rows = run_report.summarize(tl, timeline_phases)
    table = run_report.format_table(rows, tl)
    png = os.path.join(out, 'timeline.png')
    run_report.plot(tl, timeline_phases, png,
                    title='dynofa_ros demo (simulated Xavier NX hardware, real inference)')
    with open(os.path.join(out, 'summary.txt'), 'w') as f:
        f.write(table + '\n')
    print('\n' + table)
    _say(f'timeline: {png}\n[demo] bag: {output_bag}  logs: {out}/logs')
    if not tl.stats or any(math.isnan(r['within_target']) for r in rows):
        _say('some phases produced no frames; see the logs')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
