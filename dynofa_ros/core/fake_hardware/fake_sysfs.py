"""
Fake sysfs trees on disk that mirror real layouts, for tests, demos and the system tests.

`build(root, platform)` makes a tree the hardware node can use with `sysfs_root:=<root>`
(`python -m dynofa_ros.tools.fake_sysfs` is its command line). Layouts: Jetson Xavier NX
(3 Carmel clusters as cpufreq policy0/2/4, the gv11b GPU devfreq in Hz, INA3221 in the L4T 32 iio
or L4T 35 hwmon layout, thermal zones) and a generic x86 box (4 acpi-cpufreq policies, Intel
RAPL powercap zones, optional hwmon power sensor). `FakeTree.settle()` plays the kernel's part
(current frequency follows governor and limits; RAPL counters advance); `--follow` runs it.
"""

import os

XAVIER_CPU_KHZ = (115200, 192000, 268800, 345600, 422400, 499200, 576000, 652800, 729600,
                  806400, 883200, 960000, 1036800, 1113600, 1190400, 1267200, 1344000, 1420800,
                  1497600, 1574400, 1651200, 1728000, 1804800, 1881600, 1907200)
XAVIER_GPU_HZ = (114750000, 204000000, 306000000, 408000000, 510000000, 599250000, 701250000,
                 752250000, 803250000, 854250000, 905250000, 956250000, 1007250000, 1058250000,
                 1109250000)
CPUFREQ_GOVERNORS = 'conservative ondemand userspace powersave performance schedutil'
GPU_GOVERNORS = 'wmark_active nvhost_podgov userspace performance simple_ondemand'
X86_CPU_KHZ = (3400000, 3000000, 2600000, 2200000, 1800000, 1400000, 1000000, 800000)
CPU_DIR = 'sys/devices/system/cpu'
GPU_DIR = 'sys/devices/17000000.gv11b/devfreq/17000000.gv11b'
INA_IIO_DIR = 'sys/bus/i2c/drivers/ina3221x/7-0040/iio:device0'
INA_HWMON_DIR = 'sys/bus/i2c/devices/7-0040/hwmon/hwmon3'
RAPL_DIR = 'sys/devices/virtual/powercap/intel-rapl'
THERMAL_DIR = 'sys/devices/virtual/thermal'
# Rails: name, millivolts, milliamps.
XAVIER_RAILS = (('VDD_IN', 5000, 1200), ('VDD_CPU_GPU_CV', 5000, 300), ('VDD_SOC', 5000, 280))
PLATFORMS = ('jetson_xavier_nx', 'generic_x86')


class FakeTree:
    """A fake sysfs tree under `root` (the value to give the node's sysfs_root)."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.domains = []           # (kind, relative dir)
        self.rapl_zones = {}        # relative dir -> watts the fake kernel accounts

    def path(self, rel):
        return os.path.join(self.root, rel)

    def put(self, rel, value):
        """Write a value as the kernel would expose it (creates the file and its directory)."""
        full = self.path(rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        # Whole-file replace: a reader never sees the empty file a truncating write leaves,
        # just as a real sysfs read never returns half an attribute.
        tmp = f'{full}.{os.getpid()}.tmp'
        with open(tmp, 'w') as f:
            f.write(f'{value}\n')
        os.replace(tmp, full)

    def get(self, rel):
        with open(self.path(rel)) as f:
            return f.read().strip()

    def link(self, rel, target):
        full = self.path(rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if not os.path.lexists(full):
            os.symlink(target, full)

    def settle(self, dt=0.0):
        """Act as the kernel: current frequencies follow governor and limits; RAPL advances."""
        for kind, rel in self.domains:
            names = (('scaling_governor', 'scaling_min_freq', 'scaling_max_freq',
                      'scaling_cur_freq') if kind == 'cpufreq'
                     else ('governor', 'min_freq', 'max_freq', 'cur_freq'))
            try:
                gov, lo, hi, cur = (self.get(f'{rel}/{n}') for n in names)
                lo, hi, cur = int(lo), int(hi), int(cur)
                if gov == 'performance':
                    cur = hi
                elif gov == 'powersave':
                    cur = lo
                elif gov == 'userspace' and kind == 'cpufreq':
                    speed = self.get(f'{rel}/scaling_setspeed')
                    cur = int(speed) if speed.isdigit() else cur
                self.put(f'{rel}/{names[3]}', min(max(cur, lo), hi))
            except (OSError, ValueError):
                continue        # a test broke this domain on purpose
        for rel, watts in self.rapl_zones.items():
            try:
                energy = int(self.get(f'{rel}/energy_uj')) + round(watts * dt * 1e6)
                self.put(f'{rel}/energy_uj', energy % int(self.get(f'{rel}/max_energy_range_uj')))
            except (OSError, ValueError):
                continue

    # --- building blocks -------------------------------------------------------------------
    def add_cpufreq_policy(self, policy, cpus, khz, cur, lo=None, hi=None, driver='acpi-cpufreq'):
        rel = f'{CPU_DIR}/cpufreq/policy{policy}'
        cpu_list = ' '.join(map(str, cpus))
        values = {
            'scaling_available_frequencies': ' '.join(map(str, khz)),
            'scaling_available_governors': CPUFREQ_GOVERNORS,
            'scaling_governor': 'schedutil', 'scaling_driver': driver,
            'scaling_min_freq': lo or min(khz), 'scaling_max_freq': hi or max(khz),
            'scaling_cur_freq': cur, 'cpuinfo_cur_freq': cur, 'scaling_setspeed': '<unsupported>',
            'cpuinfo_min_freq': min(khz), 'cpuinfo_max_freq': max(khz),
            'related_cpus': cpu_list, 'affected_cpus': cpu_list,
        }
        for attr, value in values.items():
            self.put(f'{rel}/{attr}', value)
        for cpu in cpus:
            self.put(f'{CPU_DIR}/cpu{cpu}/online', 1)
            self.link(f'{CPU_DIR}/cpu{cpu}/cpufreq', f'../cpufreq/policy{policy}')
        self.domains.append(('cpufreq', rel))
        return rel

    def add_thermal(self, zones):
        for i, (kind, celsius) in enumerate(zones):
            self.put(f'{THERMAL_DIR}/thermal_zone{i}/type', kind)
            self.put(f'{THERMAL_DIR}/thermal_zone{i}/temp', round(celsius * 1000))

    def add_ina3221(self, layout):
        if layout == 'iio':
            for n, (name, mv, ma) in enumerate(XAVIER_RAILS):
                self.put(f'{INA_IIO_DIR}/rail_name_{n}', name)
                self.put(f'{INA_IIO_DIR}/in_voltage{n}_input', mv)
                self.put(f'{INA_IIO_DIR}/in_current{n}_input', ma)
                self.put(f'{INA_IIO_DIR}/in_power{n}_input', mv * ma // 1000)
        elif layout == 'hwmon':
            self.put(f'{INA_HWMON_DIR}/name', 'ina3221')
            for n, (name, mv, ma) in enumerate(XAVIER_RAILS, start=1):
                self.put(f'{INA_HWMON_DIR}/in{n}_label', name)
                self.put(f'{INA_HWMON_DIR}/in{n}_input', mv)
                self.put(f'{INA_HWMON_DIR}/curr{n}_input', ma)
            self.put(f'{INA_HWMON_DIR}/in7_label', 'sum of shunt voltages')
            self.put(f'{INA_HWMON_DIR}/in7_input', 40)
        elif layout != 'none':
            raise ValueError(f'unknown INA3221 layout {layout!r} (iio, hwmon, none)')

    def add_rapl(self, zones):
        """zones: [(zone id like '0' or '0:0', name, watts)]; links as in /sys/class/powercap."""
        for zone_id, name, watts in zones:
            parent = zone_id.split(':')[0]
            sub = f'/intel-rapl:{zone_id}' if ':' in zone_id else ''
            rel = f'{RAPL_DIR}/intel-rapl:{parent}{sub}'
            self.put(f'{rel}/name', name)
            self.put(f'{rel}/energy_uj', 1_000_000)
            self.put(f'{rel}/max_energy_range_uj', 262143328850)
            self.link(f'sys/class/powercap/intel-rapl:{zone_id}',
                      f'../../{rel.split("/", 1)[1]}')
            self.rapl_zones[rel] = watts


def build_xavier_nx(root, ina='iio', cpu_cap_khz=1420800):
    """
    Build a Jetson Xavier NX tree (nvpmodel mode 2 by default: CPU capped at 1420.8 MHz).

    cpu_cap_khz is the power mode's CPU cap, scaling_max_freq at start (the hardware node's
    upper bound); 1907200 stands for a power mode that allows the whole table.
    """
    if cpu_cap_khz not in XAVIER_CPU_KHZ:
        raise ValueError(f'cpu_cap_khz {cpu_cap_khz} is not a Xavier NX CPU frequency')
    tree = FakeTree(root)
    for policy in (0, 2, 4):
        tree.add_cpufreq_policy(policy, (policy, policy + 1), XAVIER_CPU_KHZ,
                                min(1420800, cpu_cap_khz), hi=cpu_cap_khz, driver='tegra194')
    gpu = {'available_frequencies': ' '.join(map(str, XAVIER_GPU_HZ)),
           'available_governors': GPU_GOVERNORS, 'governor': 'nvhost_podgov',
           'min_freq': XAVIER_GPU_HZ[0], 'max_freq': XAVIER_GPU_HZ[-1], 'cur_freq': 306000000,
           'target_freq': 306000000}
    for attr, value in gpu.items():
        tree.put(f'{GPU_DIR}/{attr}', value)
    tree.put('sys/devices/gpu.0/load', 250)
    tree.link('sys/devices/gpu.0/devfreq/17000000.gv11b', '../../' + GPU_DIR[len('sys/devices/'):])
    tree.domains.append(('devfreq', GPU_DIR))
    tree.add_ina3221(ina)
    tree.add_thermal((('AO-therm', 38.5), ('CPU-therm', 41.0), ('GPU-therm', 39.5),
                      ('PLL-therm', 38.0), ('PMIC-Die', 100.0), ('thermal-fan-est', 40.2)))
    return tree


def build_generic_x86(root, rapl=True, hwmon=False, cpus=4):
    """Build a generic x86 box: one acpi-cpufreq policy per core, RAPL, thermal zones."""
    tree = FakeTree(root)
    for cpu in range(cpus):
        tree.add_cpufreq_policy(cpu, (cpu,), X86_CPU_KHZ, 2200000)
    if rapl:
        tree.add_rapl((('0', 'package-0', 15.0), ('0:0', 'core', 9.0), ('0:1', 'dram', 2.0)))
    if hwmon:
        tree.put('sys/class/hwmon/hwmon0/name', 'acpi_power_meter')
        tree.put('sys/class/hwmon/hwmon0/power1_input', 42_500_000)
    tree.add_thermal((('x86_pkg_temp', 52.0), ('acpitz', 45.0)))
    return tree


def build(root, platform='jetson_xavier_nx', ina='iio', rapl=True, hwmon=False,
          cpu_cap_khz=None):
    """Build a fake tree for a platform name; return the FakeTree."""
    if platform == 'jetson_xavier_nx':
        return build_xavier_nx(root, ina, cpu_cap_khz or 1420800)
    if platform == 'generic_x86':
        return build_generic_x86(root, rapl, hwmon)
    raise ValueError(f'unknown platform {platform!r}: one of {PLATFORMS}')
