"""
The DVFS writer: validate a command, plan ordered sysfs writes, apply them, restore on exit.

Rules (docs/nodes.md, "Safety rules"): only domains of the profile, only frequencies and
governors the kernel lists for that domain, only allow-listed attributes; an invalid command
writes nothing; limits are written in an order that never has min > max; a failed write rolls
back the writes of the same command; every domain touched is restored to the settings found at
start.

Crash safety (docs/nodes.md, "Crash-safe DVFS"): with a state file (dvfs_state.StateFile), the
start settings are saved before the first write and the file is removed after a clean restore of
every touched domain. Power-mode cap: a frequency above the maximum found at start (on a Jetson,
the nvpmodel power mode's cap) is refused unless allow_above_start_max is set.

A start setting that could not be read is never invented: restore (and the governor mode, which
also returns the limits to their start values) leaves that setting as it is at the time, and says
so in a warning at start. Writing the lowest or highest available frequency instead would set a
limit the domain never had (e.g. lift a max that nvpmodel capped).
"""

from dataclasses import dataclass
import logging

from dynofa_ros.core.hardware import dvfs_state
from dynofa_ros.core.hardware.sysfs import SysfsError
from dynofa_ros.core.platforms.profiles import GOVERNOR_RE, HZ_PER_UNIT

MODE_PIN, MODE_RANGE, MODE_GOVERNOR, MODE_RESTORE = range(4)
MODE_NAMES = {MODE_PIN: 'pin', MODE_RANGE: 'range', MODE_GOVERNOR: 'governor',
              MODE_RESTORE: 'restore'}
ATTRS = {
    'cpufreq': {'governor': 'scaling_governor', 'min': 'scaling_min_freq',
                'max': 'scaling_max_freq', 'setspeed': 'scaling_setspeed'},
    'devfreq': {'governor': 'governor', 'min': 'min_freq', 'max': 'max_freq'},
}


class CommandRejected(ValueError):
    """A command that is not valid for the platform; nothing was written."""


@dataclass(frozen=True)
class DvfsRequest:
    """A DvfsCommand as plain data (frequencies in kHz)."""

    domain: str
    mode: int
    frequency_khz: int = 0
    min_khz: int = 0
    max_khz: int = 0
    governor: str = ''
    reason: str = ''


@dataclass(frozen=True)
class Write:
    """One planned sysfs write with the value it replaces (for rollback)."""

    domain: str
    attr: str
    value: str
    previous: str


@dataclass
class Outcome:
    """What became of a command."""

    ok: bool
    message: str
    writes: tuple = ()


def limit_writes(cur_min, cur_max, new_min, new_max):
    """
    Return [(key, value)] for new limits, in an order the kernel accepts.

    Raising (new max >= current max): max first; otherwise min first. Either way every
    intermediate state has min <= max. Unchanged limits are not written.
    """
    steps = [('max', new_max), ('min', new_min)]
    if new_max < cur_max:
        steps.reverse()
    current = {'min': cur_min, 'max': cur_max}
    return [(key, value) for key, value in steps if value != current[key]]


class DvfsWriter:
    """Apply DvfsRequests to the domains found at start; remember and restore originals."""

    def __init__(self, sysfs, domains, dry_run=False, logger=None, state=None,
                 allow_above_start_max=False):
        self.sysfs = sysfs
        self.domains = {d.name: d for d in domains}
        self.dry_run = dry_run
        self.log = logger or logging.getLogger('dynofa_ros.dvfs')
        self.touched = set()
        self.pinned_by_us = set()
        self.state = state                  # a dvfs_state.StateFile, or None
        self.saved = False                  # the state file holds the start settings
        self.allow_above_start_max = allow_above_start_max
        for domain in self.domains.values():
            unknown = self.unknown_at_start(domain)
            if unknown and (domain.writable or dry_run):
                self.log.warning(
                    f'domain {domain.name}: could not read {", ".join(unknown)} at start; '
                    'restoring it will leave those as they are then and restore only what was '
                    'read')

    def unknown_at_start(self, domain):
        """Return the attributes (min, max, governor) whose start value could not be read."""
        attrs = [ATTRS[domain.kind][key] for key in ('min', 'max', 'governor')]
        return [attr for attr in attrs if not domain.original.get(attr)]

    def cap_khz(self, domain):
        """Return the highest frequency a command may set (kHz), or None for no cap."""
        if self.allow_above_start_max:
            return None
        return self._original_khz(domain, 'max')

    def max_allowed_khz(self, domain):
        """Return the highest available frequency a command may set (0 when none is)."""
        cap = self.cap_khz(domain)
        allowed = [f for f in domain.available_khz if cap is None or f <= cap]
        return allowed[-1] if allowed else 0

    def saved_settings(self):
        """Return {name: (kind, path, {attr: value})}: start settings of the writable domains."""
        out = {}
        for name, domain in self.domains.items():
            if not domain.writable:
                continue                    # never written: nothing to restore
            original = {}
            for attr, value in domain.original.items():
                try:
                    dvfs_state._check_value(attr, value, name)
                except dvfs_state.StateFileError:
                    continue
                original[attr] = value
            if original:
                out[name] = (domain.kind, domain.spec.path, original)
        return out

    # --- validation --------------------------------------------------------------------------
    def validate(self, req):
        """Return the ProbedDomain a request is for, or raise CommandRejected with the reason."""
        domain = self.domains.get(req.domain)
        if domain is None:
            raise CommandRejected(
                f'unknown domain {req.domain!r} (known: {sorted(self.domains)})')
        if req.mode not in MODE_NAMES:
            raise CommandRejected(f'unknown mode {req.mode} (0 pin, 1 range, 2 governor, '
                                  '3 restore)')
        if not domain.writable and not self.dry_run:
            raise CommandRejected(f'domain {domain.name} is read-only here (no write '
                                  'permission or attributes missing): telemetry-only')
        available = domain.available_khz
        if req.mode == MODE_PIN and req.frequency_khz not in available:
            raise CommandRejected(f'{req.frequency_khz} kHz is not an available frequency of '
                                  f'{domain.name} ({_span(available)})')
        if req.mode == MODE_RANGE:
            for value in (req.min_khz, req.max_khz):
                if value not in available:
                    raise CommandRejected(f'{value} kHz is not an available frequency of '
                                          f'{domain.name} ({_span(available)})')
            if req.min_khz > req.max_khz:
                raise CommandRejected(f'min {req.min_khz} kHz > max {req.max_khz} kHz')
        cap = self.cap_khz(domain)
        asked = {MODE_PIN: req.frequency_khz, MODE_RANGE: req.max_khz}.get(req.mode, 0)
        if cap is not None and asked > cap:
            raise CommandRejected(
                f'{asked} kHz is above the power-mode cap of {domain.name}, {cap} kHz (the '
                'maximum found at start; allow_above_start_max lifts this)')
        if req.mode == MODE_GOVERNOR and (not GOVERNOR_RE.match(req.governor or '')
                                          or req.governor not in domain.governors):
            raise CommandRejected(f'governor {req.governor!r} is not available for '
                                  f'{domain.name} ({" ".join(domain.governors)})')
        return domain

    # --- planning ----------------------------------------------------------------------------
    def _read(self, domain, key):
        return self.sysfs.read(domain.spec.path, domain.kind, ATTRS[domain.kind][key])

    def _setspeed(self, domain):
        if domain.kind != 'cpufreq':
            return ''
        try:
            return self._read(domain, 'setspeed')
        except SysfsError:
            return ''

    def _to_raw(self, domain, khz):
        return domain.raw_by_khz.get(khz, str(khz * HZ_PER_UNIT[domain.kind]))

    def _original_khz(self, domain, key):
        raw = domain.original.get(ATTRS[domain.kind][key])
        return round(int(raw) / HZ_PER_UNIT[domain.kind]) if raw else None

    def _start_limits(self, domain, cur_min, cur_max):
        """
        Return the (min, max) kHz found at start, for restoring.

        A limit not read at start keeps its current value; the other one is clamped to it, so
        that min <= max always holds.
        """
        lo, hi = self._original_khz(domain, 'min'), self._original_khz(domain, 'max')
        if lo is None and hi is None:
            return cur_min, cur_max
        if lo is None:
            return min(cur_min, hi), hi
        if hi is None:
            return lo, max(cur_max, lo)
        return lo, hi

    def plan(self, req):
        """Return the ordered list of Writes for a valid request (reads the current state)."""
        domain = self.validate(req)
        unit = HZ_PER_UNIT[domain.kind]
        cur_min = round(int(self._read(domain, 'min')) / unit)
        cur_max = round(int(self._read(domain, 'max')) / unit)
        cur_gov = self._read(domain, 'governor')
        orig_min, orig_max = self._start_limits(domain, cur_min, cur_max)
        orig_gov = domain.original.get(ATTRS[domain.kind]['governor'], cur_gov)
        steps = []          # (key, value) with frequencies in kHz
        if req.mode == MODE_PIN:
            if domain.kind == 'cpufreq' and 'userspace' in domain.governors:
                lo, hi = min(orig_min, req.frequency_khz), max(orig_max, req.frequency_khz)
                steps += limit_writes(cur_min, cur_max, lo, hi)
                if cur_gov != 'userspace':
                    steps.append(('governor', 'userspace'))
                steps.append(('setspeed', req.frequency_khz))
            else:
                f = req.frequency_khz
                steps += limit_writes(cur_min, cur_max, f, f)
        elif req.mode == MODE_RANGE:
            if domain.name in self.pinned_by_us and cur_gov == 'userspace':
                steps.append(('governor', orig_gov))
            steps += limit_writes(cur_min, cur_max, req.min_khz, req.max_khz)
        elif req.mode == MODE_GOVERNOR:
            steps += limit_writes(cur_min, cur_max, orig_min, orig_max)
            if cur_gov != req.governor:
                steps.append(('governor', req.governor))
        else:
            unknown = self.unknown_at_start(domain)
            if unknown:
                self.log.warning(f'restore {domain.name}: {", ".join(unknown)} not read at '
                                 'start, left as they are')
            steps += limit_writes(cur_min, cur_max, orig_min, orig_max)
            if cur_gov != orig_gov:
                steps.append(('governor', orig_gov))
            setspeed = domain.original.get('scaling_setspeed', '')
            if orig_gov == 'userspace' and setspeed.isdigit():
                steps.append(('setspeed', int(setspeed)))
        current = {'min': cur_min, 'max': cur_max, 'governor': cur_gov,
                   'setspeed': self._setspeed(domain)}
        writes = []
        for key, value in steps:
            text = value if key == 'governor' else self._to_raw(domain, value)
            prev = current[key]
            prev_text = prev if key in ('governor', 'setspeed') else self._to_raw(domain, prev)
            writes.append(Write(domain.name, ATTRS[domain.kind][key], str(text), str(prev_text)))
            current[key] = value
        return domain, writes

    # --- applying ----------------------------------------------------------------------------
    def apply(self, req):
        """Validate, plan and write a request. Return an Outcome; never raise for bad input."""
        label = f'{MODE_NAMES.get(req.mode, req.mode)} {req.domain}'
        try:
            domain, writes = self.plan(req)
        except CommandRejected as exc:
            return Outcome(False, f'rejected {label}: {exc}')
        except (SysfsError, ValueError) as exc:
            return Outcome(False, f'rejected {label}: cannot read current state: {exc}')
        if self.dry_run:
            for w in writes:
                self.log.info(f'dry_run: would write {w.value} to {domain.spec.path}/{w.attr}')
            return Outcome(True, f'dry_run {label}: {len(writes)} writes logged', tuple(writes))
        if writes and self.state is not None and not self.saved:
            try:
                self.state.save(self.saved_settings())
            except OSError as exc:
                return Outcome(False, f'failed {label}: cannot save the start settings to '
                                      f'{self.state.path} ({exc.strerror or exc}); nothing '
                                      'written')
            self.saved = True
        error = self._write_all(domain, writes)
        if error:
            return Outcome(False, f'failed {label}: {error}', tuple(writes))
        if req.mode == MODE_PIN and any(w.attr == 'scaling_setspeed' for w in writes):
            self.pinned_by_us.add(domain.name)
        elif req.mode != MODE_PIN:
            self.pinned_by_us.discard(domain.name)
        if req.mode == MODE_RESTORE:
            self.touched.discard(domain.name)
        return Outcome(True, f'applied {label}: ' + (
            ', '.join(f'{w.attr}={w.value}' for w in writes) or 'already set'), tuple(writes))

    def _write_all(self, domain, writes):
        """Write in order; on a failure roll back what was written and return the reason."""
        done = []
        for w in writes:
            try:
                self.touched.add(domain.name)
                self.sysfs.write(domain.spec.path, domain.kind, w.attr, w.value)
                done.append(w)
            except SysfsError as exc:
                if exc.no_permission:
                    domain.writable = False
                rollback = self._rollback(domain, done)
                return f'{exc}; {rollback}'
        return ''

    def _rollback(self, domain, done):
        failed = []
        for w in reversed(done):
            if w.attr == 'scaling_setspeed' and not w.previous.isdigit():
                continue
            try:
                self.sysfs.write(domain.spec.path, domain.kind, w.attr, w.previous)
            except SysfsError as exc:
                failed.append(str(exc))
        if failed:
            return 'rollback FAILED: ' + '; '.join(failed)
        return f'rolled back {len(done)} earlier writes' if done else 'nothing was written'

    def restore(self, names=None):
        """Restore the given (default: every touched) domains to their start settings."""
        names = sorted(self.touched if names is None else names)
        outcomes = [self.apply(DvfsRequest(name, MODE_RESTORE, reason='restore'))
                    for name in names]
        if all(o.ok for o in outcomes) and not self.touched and not self.dry_run:
            self.forget_state()
        return outcomes

    def forget_state(self):
        """Remove the state file: every domain is back to its start settings."""
        if self.state is not None and (self.saved or self.state.exists()):
            self.state.remove()
        self.saved = False

    def safe(self, safe_governor=''):
        """Return touched domains to safe_governor where available, else to start settings."""
        outcomes = []
        for name in sorted(self.touched):
            domain = self.domains[name]
            if safe_governor and safe_governor in domain.governors:
                outcomes.append(self.apply(DvfsRequest(name, MODE_GOVERNOR,
                                                       governor=safe_governor)))
            else:
                outcomes.append(self.apply(DvfsRequest(name, MODE_RESTORE)))
        return outcomes


def _span(values):
    return f'{len(values)} values {values[0]}..{values[-1]}' if values else 'none known'


class Watchdog:
    """Trips once when no command was accepted for `timeout` seconds (0 = off)."""

    def __init__(self, timeout, now):
        self.timeout = timeout
        self.last = now
        self.tripped = False

    def feed(self, now):
        self.last = now
        self.tripped = False

    def check(self, now):
        """Return True exactly once per silence longer than the timeout."""
        if self.timeout <= 0 or self.tripped or now - self.last < self.timeout:
            return False
        self.tripped = True
        return True
