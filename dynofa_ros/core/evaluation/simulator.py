"""
A time-stepped simulator of a platform profile that drives the manager's policy objects.

Every millisecond: free-running cameras (each at its own seeded phase) deliver frames into depth-1
queues (a newer frame replaces a waiting one, as in the perception node; camera_hz 0: the next
frame is there as soon as the last one is taken, back to back); each busy application progresses at
its share of its domain (applications and a background program share it in equal time slices) at a
speed given by the true latency model (catalog latency at f_max x (k f_max / f + 1 - k), log-normal
noise per inference: the frequency-scaling law of core/platforms/scaling_law.py). An application
with intra-op threads (AppSpec.threads) on a CPU cluster speeds up by Amdahl's law, and threads
that share cores with a competing process (a `load` event) stall at OpenMP barriers
(`oversubscription_penalty`). A GPU inference also keeps the feeding CPU cluster busy
(`gpu_feed_cpu_share`). Power is the platform's power law (core/platforms/power_law.py) with the
simulation file's true coefficients and the profile's static floor (an idle domain draws leakage
only); temperature is first order. The policy gets FrameStats after every frame,
System/PowerSnapshots at the telemetry period and step() every control period, exactly the calls
the manager node makes; its decisions apply at the next frame (sub-networks, threads) or after
`dvfs_delay_ms` (frequencies; one figure or one per domain kind). Governor baselines run the kernel
rules of governors.py; domains no policy manages run the board's default (schedutil; a devfreq GPU
its default_governor). `static` runs a fixed configuration (the oracle's candidates) and `governor`
runs the manager's sub-network switching on top of a Linux governor (the 'subnet_schedutil' row).
"""

import copy
from dataclasses import dataclass, field
import math
import random

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common import paths
from dynofa_ros.core.common import yaml_file
from dynofa_ros.core.common.errors import ConfigError
from dynofa_ros.core.evaluation.governors import SimGovernor
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager.data import FrameStats, PowerSnapshot, SystemSnapshot
from dynofa_ros.core.manager.policy import ManagerPolicy
from dynofa_ros.core.platforms.power_law import domain_power, DomainPower, PowerModel
from dynofa_ros.core.platforms.probe import planning_domains
from dynofa_ros.core.platforms.profiles import load_profile
from dynofa_ros.core.platforms.scaling_law import check_sensitivity, latency_factor
import numpy as np

DEFAULT_PLATFORM = 'config/sim/xavier_nx_truth.yaml'
TRUTH_KEYS = ('dynamic_w', 'leakage_w', 'v_min')
SUBNET_GOVERNOR = 'subnet_schedutil'     # evaluation row: sub-network switching + schedutil


class SimFileError(ConfigError):
    """A simulation file is malformed or does not match its platform profile."""


class SimPlatform:
    """
    The simulated board: a standard platform profile plus the simulation-only ground truth.

    The simulation file (config/sim/*.yaml) names the profile (`platform`) and holds the `sim`
    section: true power coefficients and latency sensitivity per domain, thermal constants.
    The manager under test only ever sees the profile.
    """

    def __init__(self, path=DEFAULT_PLATFORM):
        raw = yaml_file.load(paths.resolve(path, 'simulation file'), 'simulation file',
                             SimFileError)
        if not isinstance(raw, dict) or not raw.get('platform') or not isinstance(
                raw.get('sim'), dict):
            raise SimFileError(f'simulation file {path}: needs `platform` and a `sim` mapping')
        self.profile = load_profile(paths.resolve(raw['platform'], 'platform profile'))
        self.domains = {d.name: d for d in planning_domains(self.profile)}
        self.sim = raw['sim']
        self.truth = self.sim.get('domains') or {}
        self.power_truth = {}
        for name, truth in self.truth.items():
            missing = [k for k in ('latency_key', 'latency_scale') if k not in truth]
            partial = [k for k in TRUTH_KEYS if k in truth]
            if partial and len(partial) < len(TRUTH_KEYS):
                missing += [k for k in TRUTH_KEYS if k not in truth]
            if name not in self.domains or missing:
                raise SimFileError(f'simulation file {path}: sim.domains.{name}: not a domain of '
                                   f'{self.profile.name} or missing {missing}')
            try:
                check_sensitivity(truth.get('sensitivity', 0.9))
            except ValueError as exc:
                raise SimFileError(f'simulation file {path}: sim.domains.{name}: {exc}') from None
            if partial:     # the simulated board differs from the profile on purpose
                self.power_truth[name] = DomainPower(
                    *(float(truth[k]) for k in TRUTH_KEYS), float(truth.get('f_floor_khz', 0.0)))
            else:           # the one set of constants: the profile's power model
                self.power_truth[name] = self.profile.model.coefficients(self.domains[name])

    @property
    def static_w(self):
        """Return the board floor: the profile's, the one figure the manager also plans with."""
        return self.profile.model.static_w

    def catalog(self, path=manager_config.DEFAULT_CATALOG):
        """Load a catalog and add the simulated profile keys (per thread count on a CPU)."""
        cat = copy.deepcopy(catalog_mod.load(paths.resolve(path, 'catalog')))
        for name, truth in self.truth.items():
            key = truth.get('profile_key')
            if key:
                cores = max(1, len(self.domains[name].cpus))
                for s in cat.subnets:
                    ref = min(s.latency_ms[truth['latency_key']].values())
                    s.latency_ms[key] = {n: self.true_ms(name, ref, n)
                                         for n in range(1, cores + 1)}
        return cat

    def speedup(self, domain, threads):
        """Amdahl speed-up of `threads` intra-op threads on a domain (1 thread: 1)."""
        p = float(self.truth[domain].get('parallel_fraction', 0.0))
        return 1.0 / ((1.0 - p) + p / max(1, threads))

    def true_ms(self, domain, ref_ms, threads=0):
        """Return the true latency at f_max of work the catalog's reference key puts at ref_ms."""
        truth = self.truth[domain]
        base = ref_ms * truth['latency_scale']
        if threads <= 0:
            return base
        at = int(truth.get('threads', 1))
        return base * self.speedup(domain, at) / self.speedup(domain, threads)

    def _by_kind(self, key, domain):
        """Return sim[key] for a domain: one figure, or one per domain kind (absent: 0)."""
        value = self.sim.get(key, 0.0)
        if isinstance(value, dict):
            value = value.get(domain.kind, 0.0)
        return float(value)

    def dvfs_delay_s(self, domain):
        """Return the time from a frequency write to the new clock (sim.dvfs_delay_ms)."""
        return self._by_kind('dvfs_delay_ms', domain) / 1000.0

    def governor_floor_khz(self, domain):
        """
        Return the lowest frequency the Linux governors may pick on a domain (0: its table's).

        sim.governor_min_khz: the scaling_min_freq the board's stock power mode leaves them
        (the manager's pins lower it, as on a robot).
        """
        return self._by_kind('governor_min_khz', domain)

    def profile_key(self, domain):
        truth = self.truth[domain]
        return truth.get('profile_key') or truth['latency_key']


@dataclass
class _App:
    spec: object
    subnet: int
    true_ms: dict                # domain name -> reference latency per sub-network
    domain: str = ''             # where it runs now
    pending_domain: str = ''     # where the next frame runs ('' : here)
    pending: int = -1
    next_frame: float = 0.0
    queued: float = None
    busy: bool = False
    start: float = 0.0
    work: float = 0.0
    done: float = 0.0
    processed: int = 0
    dropped: int = 0
    switches: int = 0
    threads: int = 0
    pending_threads: int = 0
    frames: list = field(default_factory=list)   # (t, latency ms, target ms, subnet, top1)
    drops: list = field(default_factory=list)    # t of every frame replaced unprocessed


@dataclass
class SimResult:
    """Everything a run produced: per-frame records, a timeline and totals."""

    scenario: str
    policy: str
    energy_j: float
    duration_s: float
    frames: dict            # app_id -> list of (t, latency_ms, target_ms, subnet, top1)
    timeline: dict          # 't', 'power_w', 'temp_c', '<domain>_mhz' -> lists
    subnet_switches: int
    dvfs_changes: int
    marks: list = field(default_factory=list)   # (t, energy J so far) at every event and the end
    threads: dict = field(default_factory=dict)  # app_id -> list of (t, threads) changes
    placements: dict = field(default_factory=dict)   # app_id -> [(t, domain)], from t 0
    drops: dict = field(default_factory=dict)   # app_id -> t of every frame dropped


class Simulator:
    """Run one scenario under one policy."""

    def __init__(self, scenario, policy='dynofa', platform=None, seed=0, overrides=None,
                 dt_s=0.001, catalog_path=manager_config.DEFAULT_CATALOG, static=None):
        """
        Prepare one run.

        policy: a manager policy, or SUBNET_GOVERNOR; static: (frequency per domain in kHz,
        sub-network index per app[, domain per app]) to run fixed instead of any policy (the
        oracle's candidates).
        """
        self.scenario = scenario
        self.platform = platform or SimPlatform()
        self.rng = random.Random(seed)
        self.phase_rng = random.Random(f'{seed}/camera phases')
        self.dt = dt_s
        self.static = static
        self.label = 'oracle' if static else policy
        self.forced = None
        if policy == SUBNET_GOVERNOR:
            policy, self.forced = 'algorithm_only', 'schedutil'
        cat = self.platform.catalog(catalog_path)
        values = {'policy': policy}
        for a in scenario.apps:
            prefix = f'apps.{a.app_id}.'
            values.update({prefix + 'latency_target_ms': a.latency_target_ms,
                           prefix + 'priority': a.priority, prefix + 'domains': list(a.listed),
                           prefix + 'min_accuracy': a.min_accuracy,
                           prefix + 'profile_key': self.platform.profile_key(a.domain)})
            if len(a.listed) > 1:
                values[prefix + 'profile_keys'] = [self.platform.profile_key(d)
                                                   for d in a.listed]
            if a.threads:
                values.update({prefix + 'max_threads': a.threads, prefix + 'min_threads': 1})
        values.update(overrides or {})
        self.config = manager_config.initial([a.app_id for a in scenario.apps], values)
        used = {d for a in scenario.apps for d in a.listed}
        self.counted = set(used)     # DVFS changes counted: not a cluster that only feeds a GPU
        self.feed = self.platform.sim.get('gpu_feed_domain', '')
        if self.feed and any(self.platform.domains[d].kind == 'devfreq' for d in used):
            used.add(self.feed)
        self.domains = {n: self.platform.domains[n] for n in sorted(used)}
        start = static[2] if static and len(static) > 2 else {}
        self.managed = {start.get(a.app_id, a.domain) for a in scenario.apps}
        domains = list(self.platform.domains.values())
        self.policy = ManagerPolicy(self.config, domains, catalog_loader=lambda path: cat,
                                    power_model=PowerModel(domains, self.platform.profile.model))
        self.catalog = cat
        self.apps = {}
        for a in scenario.apps:
            true_ms = {d: [min(s.latency_ms[self.platform.truth[d]['latency_key']].values())
                           for s in cat.subnets] for d in a.listed}
            app = self.apps[a.app_id] = _App(a, len(cat.subnets) - 1, true_ms,
                                             start.get(a.app_id, a.domain))
            if a.camera_hz > 0:     # free-running cameras: each starts at its own phase
                app.next_frame = self.phase_rng.random() / a.camera_hz
            app.threads = a.threads
            if static:
                app.subnet = static[1][a.app_id]
        self.freq = {n: d.f_max for n, d in self.domains.items()}
        self.governors = {n: self._governor(d.baseline_governor('schedutil'), d)
                          for n, d in self.domains.items() if n not in self.managed}
        if static:
            self.freq.update({n: f for n, f in static[0].items() if n in self.domains})
        if self.forced:
            self.governors.update({n: self._governor(
                self.domains[n].baseline_governor(self.forced), self.domains[n])
                for n in self.managed})
        self.delayed = []        # (time the pin takes effect, domain, kHz)
        self.background = dict.fromkeys(self.domains, 0.0)
        self.thread_log = {a.app_id: [] for a in scenario.apps}
        self.placement_log = {a: [(0.0, app.domain)] for a, app in self.apps.items()}

    def _apply(self, decisions, t):
        if self.static:
            return
        for d in decisions.subnets:
            self.apps[d.app_id].pending = d.subnet_index
        for d in decisions.mappings:
            if d.app_id in self.apps and d.num_threads > 0:
                self.apps[d.app_id].pending_threads = d.num_threads
            if d.app_id in self.apps and d.device:
                self.apps[d.app_id].pending_domain = self._device_domain(self.apps[d.app_id], d)
        for d in decisions.dvfs:
            if d.domain not in self.domains or (self.forced and d.domain in self.managed):
                continue
            if d.mode == 'pin':
                self.governors.pop(d.domain, None)
                delay = self.platform.dvfs_delay_s(self.domains[d.domain])
                self.delayed.append((t + delay, d.domain, d.frequency_khz))
            elif d.mode == 'governor':
                gov = self._governor(d.governor, self.domains[d.domain])
                self.governors[d.domain] = gov
                self.freq[d.domain] = gov.freq
            elif d.mode == 'restore':      # back to the board's default, as never managed
                domain = self.domains[d.domain]
                self.governors[d.domain] = self._governor(
                    domain.baseline_governor('schedutil'), domain)

    def _governor(self, name, domain):
        return SimGovernor(name, domain, self.platform.governor_floor_khz(domain))

    def _device_domain(self, app, decision):
        """
        Return the listed domain a MappingDecision puts the application on, as a node would.

        'cuda': the listed devfreq domain; 'cpu': the listed cpufreq cluster whose cores the
        decision pins it to, else the only one listed. ValueError for a device it cannot use
        (a stand-in for the perception node's refusal would hide a manager bug here).
        """
        kind = 'devfreq' if decision.device.startswith('cuda') else 'cpufreq'
        listed = [self.domains[n] for n in app.spec.listed if self.domains[n].kind == kind]
        pinned = [d for d in listed if decision.cpu_affinity and
                  tuple(d.cpus) == tuple(decision.cpu_affinity)]
        if pinned or len(listed) == 1:
            return (pinned or listed)[0].name
        raise ValueError(f'{app.spec.app_id}: device {decision.device!r} with cores '
                         f'{list(decision.cpu_affinity)} is none of its domains '
                         f'{list(app.spec.listed)}')

    def _power(self, busy):
        total = self.platform.static_w
        for name, d in self.domains.items():
            total += float(domain_power(self.platform.power_truth[name], self.freq[name],
                                        d.f_min, d.f_max, busy[name]))
        return total

    def run(self):
        """Simulate the whole scenario; return a SimResult."""
        sim, dt = self.platform.sim, self.dt
        steps = int(round(self.scenario.duration_s / dt))
        tele_every = max(1, int(round(sim.get('telemetry_period_s', 0.1) / dt)))
        noise, overhead = sim.get('latency_noise', 0.0), sim.get('switch_overhead_ms', 0.0)
        events = sorted(self.scenario.events, key=lambda e: e.t)
        temp = ambient = sim.get('ambient_c', 30.0)
        energy, dvfs_changes, next_step = 0.0, 0, 0.0
        acc_busy = dict.fromkeys(self.domains, 0.0)
        acc_power = 0.0
        timeline = {'t': [], 'power_w': [], 'temp_c': []}
        timeline.update({f'{n}_mhz': [] for n in self.domains})
        marks = []
        for n in range(steps):
            t = n * dt
            while events and events[0].t <= t:
                e = events.pop(0)
                marks.append((t, energy))
                if e.kind == 'param':
                    self.config = manager_config.apply(self.config, {e.name: e.value})
                    self.policy.configure(self.config, {e.name})
                else:
                    self.background[e.name] = e.value
            if n % tele_every == 0:
                if n:
                    util = {k: v / (tele_every * dt) for k, v in acc_busy.items()}
                    self.policy.on_system(SystemSnapshot(t, dict(self.freq), {}, util, temp))
                    self.policy.on_power(PowerSnapshot(t, acc_power / (tele_every * dt), True))
                    acc_busy = dict.fromkeys(acc_busy, 0.0)
                    acc_power = 0.0
                else:
                    self.policy.on_system(SystemSnapshot(t, dict(self.freq), {}, {}, temp))
            if t + 1e-9 >= next_step:
                self._apply(self.policy.step(t), t)
                next_step = t + self.config.control_period_s
            for pin in [p for p in self.delayed if p[0] <= t + 1e-9]:
                self.delayed.remove(pin)
                if pin[1] not in self.governors:
                    dvfs_changes += pin[1] in self.counted and self.freq[pin[1]] != pin[2]
                    self.freq[pin[1]] = pin[2]
            self._cameras(t, noise, overhead)
            busy = self._progress(t, dt)
            power = self._power(busy)
            energy += power * dt
            acc_power += power * dt
            for k in busy:
                acc_busy[k] += busy[k] * dt
            tau = sim.get('thermal_time_constant_s', 20.0)
            target_temp = ambient + sim.get('thermal_resistance_c_per_w', 3.0) * power
            temp += (target_temp - temp) * dt / tau
            for name, gov in self.governors.items():
                f = gov.tick(dt, busy[name], self.freq[name])
                dvfs_changes += name in self.counted and f != self.freq[name]
                self.freq[name] = f
            if n % 50 == 0:
                timeline['t'].append(t)
                timeline['power_w'].append(power)
                timeline['temp_c'].append(temp)
                for name in self.domains:
                    timeline[f'{name}_mhz'].append(self.freq[name] / 1000.0)
        marks.append((self.scenario.duration_s, energy))
        return SimResult(self.scenario.name, self.label, energy, self.scenario.duration_s,
                         {a: app.frames for a, app in self.apps.items()}, timeline,
                         sum(app.switches for app in self.apps.values()), dvfs_changes,
                         marks, self.thread_log, self.placement_log,
                         {a: app.drops for a, app in self.apps.items()})

    def _cameras(self, t, noise, overhead):
        for app in self.apps.values():
            if app.spec.camera_hz <= 0:
                if not app.busy:
                    app.queued = t            # back to back: a frame is always waiting
            elif t + 1e-9 >= app.next_frame:
                if app.queued is not None:
                    app.dropped += 1
                    app.drops.append(t)
                app.queued = t
                app.next_frame += 1.0 / app.spec.camera_hz
            if not app.busy and app.queued is not None:
                app.queued = None
                app.busy, app.start, app.done = True, t, 0.0
                extra = 0.0
                if app.pending >= 0 and app.pending != app.subnet:
                    app.subnet, app.switches, extra = app.pending, app.switches + 1, overhead
                app.pending = -1
                if app.pending_threads and app.pending_threads != app.threads:
                    app.threads = app.pending_threads
                    self.thread_log[app.spec.app_id].append((t, app.threads))
                app.pending_threads = 0
                if app.pending_domain and app.pending_domain != app.domain:
                    # Between frames, as the perception node moves its engine; costs a delay.
                    app.domain = app.pending_domain
                    extra += self.platform.sim.get('move_overhead_ms', 0.0)
                    self.placement_log[app.spec.app_id].append((t, app.domain))
                app.pending_domain = ''
                true = self.platform.true_ms(app.domain, app.true_ms[app.domain][app.subnet],
                                             app.threads)
                app.work = true * math.exp(self.rng.gauss(0.0, noise)) + extra

    def _progress(self, t, dt):
        busy = {}
        feed = 0.0
        for name, d in self.domains.items():
            running = [a for a in self.apps.values() if a.busy and a.domain == name]
            bg = self.background[name]
            busy[name] = bg + (1.0 - bg) * (1.0 if running else 0.0)
            if not running:
                continue
            if d.kind == 'devfreq':
                feed += len(running)
            k = self.platform.truth[name].get('sensitivity', 0.9)
            for app in running:
                speed = self._share(app, d, bg) / len(running) / latency_factor(
                    self.freq[name], d.f_max, k)
                app.done += dt * 1000.0 * speed
                if app.done >= app.work:
                    self._finish(app, t + dt)
        if feed and self.feed in busy:
            # CPU work of feeding the GPU (launches, pre/post-processing): a share of the
            # feeding cluster while a GPU inference runs.
            share = self.platform.sim.get('gpu_feed_cpu_share', 0.0)
            busy[self.feed] = min(1.0, busy[self.feed] + share * feed)
        return busy

    def _share(self, app, domain, bg):
        """Return the share of the domain's speed an application's inference gets."""
        if app.threads <= 0 or not domain.cpus:
            return 1.0 - bg
        return cpu_share(self.platform.sim, domain, app.threads, bg)

    def _finish(self, app, t):
        app.busy = False
        app.processed += 1
        latency = (t - app.start) * 1000.0
        target = self.config.apps[app.spec.app_id].latency_target_ms
        app.frames.append((t, latency, target, app.subnet, self.catalog.subnets[app.subnet].top1))
        stats = FrameStats(app.spec.app_id, t, app.subnet, latency, app.processed, app.dropped,
                           app.threads, 'cuda' if self.domains[app.domain].kind == 'devfreq'
                           else 'cpu')
        if not self.static:
            self._apply(self.policy.on_frame(stats), t)


def cpu_share(sim, domain, threads, bg):
    """
    Return the speed share of `threads` intra-op threads on a CPU cluster with load bg.

    bg x cores competing processes, one per busy core. Threads that share cores with them get
    their time slice, and with more than one thread the barriers wait for the slowest
    (OpenMP oversubscription: sim.oversubscription_penalty).
    """
    cores = max(1, len(domain.cpus))
    hogs = bg * cores
    if threads + hogs <= cores + 1e-9:
        return 1.0
    share = min(1.0, cores / (threads + hogs))
    if threads > 1:
        share /= sim.get('oversubscription_penalty', 1.0)
    return share


def metrics(result):
    """Return the evaluation row of one run (energy, latency, target misses, accuracy...)."""
    frames = [f for fs in result.frames.values() for f in fs]
    lat = np.array([f[1] for f in frames]) if frames else np.array([math.nan])
    over = np.array([f[1] > f[2] for f in frames]) if frames else np.array([math.nan])
    acc = np.array([f[4] for f in frames]) if frames else np.array([math.nan])
    return {
        'scenario': result.scenario, 'policy': result.policy,
        'energy_j': result.energy_j, 'frames': len(frames),
        'mj_per_frame': 1000.0 * result.energy_j / max(len(frames), 1),
        'mean_ms': float(lat.mean()), 'p99_ms': float(np.percentile(lat, 99)),
        'over_target_pct': 100.0 * float(over.mean()), 'mean_top1': float(acc.mean()),
        'subnet_switches': result.subnet_switches, 'dvfs_changes': result.dvfs_changes,
    }
