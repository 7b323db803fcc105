"""
The whole system on simulated hardware, as processes: shared by the demo and the replay tests.

A fake Jetson Xavier NX sysfs tree with a process playing its kernel, the three nodes started by
`run_system` (config/system.yaml plus an overlay: the fake tree, the perception node's
simulated-hardware mode, the catalog and targets given here), `bag record` of the system's
topics and `bag play` of a camera bag. Nothing here is a stand-in for our own code: the nodes,
recorder and player are the installed executables.
"""

import os
import subprocess
import sys
import time

from dynofa_ros.core.system.bringup import executable
from dynofa_ros.core.system.processes import stop_process
import yaml

APP = 'cam'
RECORDED_TOPICS = ('perception_stats', 'classification', 'subnet_command', 'dvfs_command',
                   'system_state', 'power_state')
CPU0 = 'sys/devices/system/cpu/cpufreq/policy0'
_HOG = 'import time\nwhile True:\n    sum(i * i for i in range(10000))\n'


class SimulatedSystem:
    """Start, observe and stop the system on a fake tree; every process logs to out/logs."""

    def __init__(self, out, catalog, camera_bag, target_ms, checkpoint='', threads=1,
                 loop=True, extra_params=None, record=True, max_threads=0):
        self.out = os.path.abspath(out)
        self.logs = os.path.join(self.out, 'logs')
        self.sysfs = os.path.join(self.out, 'sysfs')
        self.output_bag = os.path.join(self.out, 'output_bag')
        self.catalog, self.camera_bag, self.target_ms = catalog, camera_bag, float(target_ms)
        self.checkpoint, self.threads, self.loop = checkpoint, threads, loop
        self.max_threads = max_threads  # > 0: the manager decides the thread count
        self.extra_params = extra_params or {}
        self.record = record
        self.procs = {}
        self.hogs = []
        os.makedirs(self.logs, exist_ok=True)

    def _start(self, name, cmd):
        log = open(os.path.join(self.logs, f'{name}.log'), 'w')
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log = log
        self.procs[name] = proc
        return proc

    def overlay(self):
        """Return the parameter overlay put on top of config/system.yaml."""
        params = {
            'hardware': {'watchdog_timeout_s': 30.0, 'publish_rate_hz': 4.0},
            'perception': {'catalog': self.catalog, 'checkpoint': self.checkpoint,
                           'num_threads': self.threads, 'app_id': APP,
                           'dvfs_emulation.cur_freq_file':
                               os.path.join(self.sysfs, CPU0, 'scaling_cur_freq')},
            'manager': {'apps': [APP], f'apps.{APP}.catalog': self.catalog,
                        f'apps.{APP}.domains': ['cpu0'], f'apps.{APP}.profile_key': '',
                        f'apps.{APP}.latency_target_ms': self.target_ms,
                        f'apps.{APP}.max_threads': self.max_threads},
        }
        for node, values in self.extra_params.items():
            params.setdefault(node, {}).update(values)
        return {node: {'ros__parameters': values} for node, values in params.items()}

    def start(self, timeout=30.0):
        """Start the fake kernel, the nodes, the recorder and the player."""
        # A power mode whose CPU cap is the top of the table: the hardware node never exceeds
        # the cap it finds at start, and the simulated board leaves the manager the whole range.
        self._start('fake_kernel', [sys.executable, '-m', 'dynofa_ros.tools.fake_sysfs',
                                    '--platform', 'jetson_xavier_nx', '--root', self.sysfs,
                                    '--ina', 'none', '--cpu-cap-khz', '1907200',
                                    '--follow', '0.1'])
        deadline = time.monotonic() + timeout
        while not os.path.exists(os.path.join(self.sysfs, CPU0, 'scaling_cur_freq')):
            if time.monotonic() > deadline or self.procs['fake_kernel'].poll() is not None:
                raise RuntimeError(f'no fake sysfs tree; see {self.logs}/fake_kernel.log')
            time.sleep(0.1)
        overlay = os.path.join(self.out, 'overlay.yaml')
        with open(overlay, 'w') as f:
            yaml.safe_dump(self.overlay(), f, sort_keys=False)
        self._start('system', [executable('run_system'), f'sysfs_root:={self.sysfs}',
                               'platform_profile:=config/platforms/jetson_xavier_nx.yaml',
                               '--params', overlay])
        if self.record:
            self._start('recorder', [executable('bag'), 'record', self.output_bag] +
                        [arg for t in RECORDED_TOPICS for arg in ('-t', t)])
        self.play(self.camera_bag)

    def play(self, bag, name='player'):
        """(Re)start replaying a camera bag, looping when the system was built with loop."""
        if name in self.procs:
            self._stop(name)
        self._start(name, [executable('bag'), 'play', bag, '--restamp',
                           '--wait-for-subscribers', '60'] + (['--loop'] if self.loop else []))

    def start_hogs(self, count=2):
        """Start CPU-hungry programs (another workload taking the cores)."""
        for i in range(count):
            self.hogs.append(self._start(f'hog{len(self.hogs)}', [sys.executable, '-c', _HOG]))

    def stop_hogs(self):
        for proc in self.hogs:
            proc.kill()
            proc.wait()
            proc.log.close()
            self.procs = {n: p for n, p in self.procs.items() if p is not proc}
        self.hogs = []

    def alive(self):
        """Return True when the nodes (run_system) are still running."""
        return 'system' in self.procs and self.procs['system'].poll() is None

    def _stop(self, name, timeout=20.0):
        proc = self.procs.pop(name, None)
        if proc is None:
            return None
        code = stop_process(proc, timeout)
        proc.log.close()
        return code

    def stop_recording(self):
        """Stop the recorder so the output bag is complete; return its exit code."""
        return self._stop('recorder')

    def stop(self):
        """Stop everything, newest first; return the exit code of run_system (None: not run)."""
        self.stop_hogs()
        codes = {name: self._stop(name) for name in
                 ('player', 'recorder', 'system', 'fake_kernel')}
        for name in list(self.procs):
            self._stop(name)
        return codes['system']

    def log(self, name):
        with open(os.path.join(self.logs, f'{name}.log')) as f:
            return f.read()
