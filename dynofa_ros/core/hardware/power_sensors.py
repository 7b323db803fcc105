"""
Power telemetry: INA3221 (L4T 32 iio, L4T 35 hwmon), generic hwmon, Intel RAPL, or a model.

A sensor reader returns per-rail watts and the total; when no sensor exists (or it fails) the node
publishes `estimate()` marked as not measured: the platform's power law
(core/platforms/power_law.py) with the profile's power.model, a cpufreq domain's load being the
mean of its cores' utilisation and a devfreq domain's its `load` file in per mille (1.0 when
unknown: an upper bound).
"""

from dataclasses import dataclass
import glob
import os
import re

from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.platforms.power_law import domain_power


class SensorError(Exception):
    """A power sensor could not be read."""


@dataclass
class PowerReading:
    """Per-rail and total power, watts, and where they come from."""

    rails: list             # [(name, watts)]
    total_w: float
    source: str
    measured: bool
    problems: tuple = ()    # rails that could not be read ('name: reason')


def _read_number(path):
    try:
        return float(Sysfs.read_file(path))
    except SysfsError as exc:
        raise SensorError(str(exc)) from None
    except ValueError:
        raise SensorError(f'{path}: not a number') from None


def _channels(directory, pattern):
    """Return sorted channel numbers of files matching pattern (a regex with one group)."""
    regex = re.compile(pattern)
    found = {int(m.group(1)) for m in map(regex.match, os.listdir(directory)) if m}
    return sorted(found)


def _total(rails, total_rail):
    for name, watts in rails:
        if total_rail and name == total_rail:
            return watts
    return sum(w for _, w in rails)


class _Sensor:
    source = ''
    total_optional = False    # RAPL has a psys total only on some machines

    def __init__(self, directory, total_rail=''):
        self.dir = directory
        self.total_rail = total_rail

    def read(self, now):
        rails, problems = self._rails(now)
        if not rails:
            raise SensorError(f'{self.source} at {self.dir}: no rail readable '
                              f'({"; ".join(problems)})')
        if (self.total_rail and not self.total_optional
                and self.total_rail not in {n for n, _ in rails}):
            problems.append(f'{self.total_rail}: total rail not readable, using the sum')
        return PowerReading(rails, _total(rails, self.total_rail), self.source, True,
                            tuple(problems))


class Ina3221Iio(_Sensor):
    """L4T 32: rail_name_N, in_powerN_input (mW) in an iio:device directory."""

    source = 'ina3221'

    def _rails(self, now):
        rails, problems = [], []
        for n in _channels(self.dir, r'^rail_name_(\d+)$'):
            try:
                name = Sysfs.read_file(os.path.join(self.dir, f'rail_name_{n}'))
                rails.append((name, _read_number(os.path.join(self.dir, f'in_power{n}_input'))
                              / 1000.0))
            except (SysfsError, SensorError) as exc:
                problems.append(f'channel {n}: {exc}')
        return rails, problems


class Ina3221Hwmon(_Sensor):
    """L4T 35: inN_label, inN_input (mV), currN_input (mA); skips the sum-of-shunts channel."""

    source = 'ina3221'

    def _rails(self, now):
        rails, problems = [], []
        for n in _channels(self.dir, r'^in(\d+)_label$'):
            try:
                name = Sysfs.read_file(os.path.join(self.dir, f'in{n}_label'))
                if 'sum of shunt' in name.lower():
                    continue
                mv = _read_number(os.path.join(self.dir, f'in{n}_input'))
                ma = _read_number(os.path.join(self.dir, f'curr{n}_input'))
                rails.append((name, mv * ma / 1e6))
            except (SysfsError, SensorError) as exc:
                problems.append(f'channel {n}: {exc}')
        return rails, problems


class Hwmon(_Sensor):
    """Generic hwmon: powerN_input (microwatts), named by powerN_label or the chip name."""

    source = 'hwmon'

    def _rails(self, now):
        rails, problems = [], []
        try:
            chip = Sysfs.read_file(os.path.join(self.dir, 'name'))
        except SysfsError:
            chip = os.path.basename(self.dir)
        for n in _channels(self.dir, r'^power(\d+)_input$'):
            label = os.path.join(self.dir, f'power{n}_label')
            try:
                name = Sysfs.read_file(label) if os.path.exists(label) else f'{chip}_power{n}'
                rails.append((name, _read_number(os.path.join(self.dir, f'power{n}_input'))
                              / 1e6))
            except (SysfsError, SensorError) as exc:
                problems.append(f'power{n}: {exc}')
        return rails, problems


class Rapl(_Sensor):
    """Intel RAPL: top-level powercap zones' energy_uj, differentiated; psys is the total."""

    source = 'rapl'
    total_optional = True

    def __init__(self, directories, total_rail='psys'):
        super().__init__(directories[0], total_rail)
        self.zones = directories
        self.last = {}

    def start(self, now):
        """Take the first energy sample so the first read() already has a rate."""
        self._rails(now)

    def _rails(self, now):
        rails, problems = [], []
        for zone in self.zones:
            try:
                name = Sysfs.read_file(os.path.join(zone, 'name'))
                energy = _read_number(os.path.join(zone, 'energy_uj'))
            except (SysfsError, SensorError) as exc:
                problems.append(f'{os.path.basename(zone)}: {exc}')
                continue
            previous = self.last.get(zone)
            self.last[zone] = (now, energy)
            if previous is None or now <= previous[0]:
                continue
            delta = energy - previous[1]
            if delta < 0:   # the counter wrapped
                try:
                    delta += _read_number(os.path.join(zone, 'max_energy_range_uj'))
                except SensorError:
                    problems.append(f'{name}: counter wrapped, range unknown')
                    continue
            rails.append((name, delta / 1e6 / (now - previous[0])))
        return rails, problems


def find_sensor(profile, sysfs, notes=None):
    """
    Return a reader for the first readable sensor of the profile under the root, or None.

    Sensors present but unreadable (RAPL is root-only on recent kernels) are skipped; why is
    appended to `notes` when a list is given.
    """
    notes = [] if notes is None else notes
    readers = {'ina3221_iio': Ina3221Iio, 'ina3221_hwmon': Ina3221Hwmon, 'hwmon': Hwmon}
    for spec in profile.sensors:
        pattern = os.path.join(sysfs.root, spec.path)
        matches = sorted(p for p in glob.glob(pattern) if os.path.isdir(p)
                         and os.path.commonpath([os.path.realpath(p), sysfs.root]) == sysfs.root)
        if spec.kind == 'rapl':
            zones = [p for p in matches if re.match(r'^intel-rapl:\d+$', os.path.basename(p))]
            candidates = [Rapl(zones, spec.total_rail or 'psys')] if zones else []
        else:
            candidates = [readers[spec.kind](d, spec.total_rail) for d in matches]
        for reader in candidates:
            try:
                rails, problems = reader._rails(0.0)
            except OSError as exc:
                rails, problems = [], [str(exc)]
            if rails or (isinstance(reader, Rapl) and not problems):
                return reader
            notes.append(f'{spec.kind} at {reader.dir} not usable: '
                         + ('; '.join(problems) or 'no power channel'))
    return None


def estimate(model, domains, cur_khz, cpu_util, loads):
    """
    Estimate power with the platform's power law.

    model: the profile's PowerParams; domains: probed domains; cur_khz: {name: kHz} (missing:
    f_max); cpu_util: per-core percent list; loads: {name: 0..1} for devfreq domains with a load
    file (missing: 1.0). Return a PowerReading with a rail per domain and one 'static'.
    """
    rails = []
    for domain in domains:
        table = domain.available_khz or (1,)
        f = cur_khz.get(domain.name) or table[-1]
        if domain.kind == 'cpufreq':
            cores = domain.spec.cpus or (0,)
            load = sum(_core_load(cpu_util, c) for c in cores) / len(cores)
        else:
            load = loads.get(domain.name, 1.0)
        watts = domain_power(model.coefficients(domain.spec), f, table[0], table[-1], load)
        rails.append((domain.name, float(watts)))
    rails.append(('static', model.static_w))
    return PowerReading(rails, sum(w for _, w in rails), 'model', False)


def _core_load(cpu_util, core):
    """Return a core's load 0..1; a core psutil does not see counts as fully loaded."""
    return cpu_util[core] / 100.0 if core < len(cpu_util) else 1.0


class EnergyCounter:
    """Integrate total power over time (rectangle rule on the interval since the last sample)."""

    def __init__(self):
        self.energy_j = 0.0
        self.last = None

    def add(self, watts, now):
        if self.last is not None and now > self.last:
            self.energy_j += watts * (now - self.last)
        self.last = now
        return self.energy_j
