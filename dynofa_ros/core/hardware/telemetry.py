"""
System telemetry as plain data: per-core load (psutil), DVFS domain state, thermal zones, memory.

Anything that cannot be read is listed in `stale` ('name: reason'), never reported as zero.
"""

from dataclasses import dataclass, field
import glob
import os

from dynofa_ros.core.hardware.dvfs_writer import ATTRS
from dynofa_ros.core.hardware.power_sensors import estimate, SensorError
from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.platforms.profiles import HZ_PER_UNIT
import psutil

CUR_ATTR = {'cpufreq': 'scaling_cur_freq', 'devfreq': 'cur_freq'}


@dataclass
class DomainReading:
    """One domain's current state in kHz."""

    name: str
    kind: str
    cur_khz: int
    min_khz: int
    max_khz: int
    governor: str


@dataclass
class SystemSample:
    """Everything SystemState carries."""

    cpu_util: list
    domains: list
    thermal: list                    # [(zone type, degrees C)]
    memory_total: int
    memory_available: int
    memory_percent: float
    stale: list = field(default_factory=list)

    @property
    def cpu_total(self):
        return sum(self.cpu_util) / len(self.cpu_util) if self.cpu_util else 0.0


def read_domain(sysfs, domain):
    """Return a DomainReading; raise SysfsError/ValueError when an attribute is unreadable."""
    path, kind = domain.spec.path, domain.kind
    unit = HZ_PER_UNIT[kind]

    def khz(attr):
        return round(int(sysfs.read(path, kind, attr)) / unit)

    return DomainReading(domain.name, kind, khz(CUR_ATTR[kind]), khz(ATTRS[kind]['min']),
                         khz(ATTRS[kind]['max']), sysfs.read(path, kind, ATTRS[kind]['governor']))


def read_thermal(sysfs, rel_dir):
    """Return ([(type, celsius)], [problems]) for every thermal_zone* under rel_dir."""
    zones, problems = [], []
    if not rel_dir:
        return zones, problems
    base = sysfs.path(rel_dir)
    paths = glob.glob(os.path.join(base, 'thermal_zone[0-9]*'))
    for zone in sorted(paths, key=lambda p: int(p.rsplit('thermal_zone', 1)[1] or 0)):
        label = os.path.basename(zone)
        try:
            label = Sysfs.read_file(os.path.join(zone, 'type'))
            zones.append((label, float(Sysfs.read_file(os.path.join(zone, 'temp'))) / 1000.0))
        except (SysfsError, ValueError) as exc:
            problems.append(f'thermal {label}: {exc}')
    return zones, problems


class Telemetry:
    """Sample the system and power of a platform under a sysfs root."""

    def __init__(self, sysfs, profile, domains, sensor=None):
        self.sysfs = sysfs
        self.profile = profile
        self.domains = list(domains)
        self.sensor = sensor
        psutil.cpu_percent(percpu=True)        # start the utilisation interval

    def system(self):
        """Return a SystemSample."""
        stale = []
        readings = []
        for domain in self.domains:
            try:
                readings.append(read_domain(self.sysfs, domain))
            except (SysfsError, ValueError) as exc:
                stale.append(f'domain {domain.name}: {exc}')
        thermal, problems = read_thermal(self.sysfs, self.profile.thermal)
        stale += problems
        mem = psutil.virtual_memory()
        return SystemSample(list(psutil.cpu_percent(percpu=True)), readings, thermal,
                            mem.total, mem.available, mem.percent, stale)

    def power(self, sample, now):
        """Return (PowerReading, problems): measured when a sensor reads, else the model."""
        problems = []
        if self.sensor is not None:
            try:
                reading = self.sensor.read(now)
                return reading, [f'power {p}' for p in reading.problems]
            except (SensorError, OSError) as exc:
                problems.append(f'power {self.sensor.source}: {exc}; using the model')
        cur = {d.name: d.cur_khz for d in sample.domains}
        loads = {}
        for domain in self.domains:
            if domain.spec.load:
                try:
                    loads[domain.name] = float(
                        Sysfs.read_file(self.sysfs.path(domain.spec.load))) / 1000.0
                except (SysfsError, ValueError) as exc:
                    problems.append(f'load {domain.name}: {exc}')
        reading = estimate(self.profile.model, self.domains, cur, sample.cpu_util, loads)
        return reading, problems
