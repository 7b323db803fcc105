"""Platform profiles, sysfs containment, and telemetry read back from fake sysfs trees."""

import os
import subprocess
import sys

from dynofa_ros.core.fake_hardware import fake_sysfs
from dynofa_ros.core.fake_hardware.fake_sysfs import (build, CPU_DIR, GPU_DIR, INA_HWMON_DIR,
                                                      INA_IIO_DIR)
from dynofa_ros.core.hardware.power_sensors import EnergyCounter, estimate, find_sensor
from dynofa_ros.core.hardware.status import domain_status
from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.hardware.telemetry import Telemetry
from dynofa_ros.core.platforms.probe import probe_domains, ProbedDomain
from dynofa_ros.core.platforms.profiles import Domain, load_profile, ProfileError
import pytest
from support.hardware import GENERIC_PROFILE, REPO, XAVIER_PROFILE

FAKE_SYSFS = 'dynofa_ros.tools.fake_sysfs'


def telemetry_for(root, profile_path):
    profile = load_profile(profile_path)
    sysfs = Sysfs(root)
    domains, problems = probe_domains(profile, sysfs)
    assert problems == []
    sensor = find_sensor(profile, sysfs)
    return Telemetry(sysfs, profile, domains, sensor), domains


@pytest.mark.parametrize('layout', ['iio', 'hwmon'])
def test_xavier_telemetry_both_ina3221_layouts(tmp_path, layout):
    tree = build(str(tmp_path), 'jetson_xavier_nx', ina=layout)
    tree.put(f'{CPU_DIR}/cpufreq/policy2/scaling_cur_freq', 729600)
    tree.put(f'{GPU_DIR}/cur_freq', 854250000)
    tel, domains = telemetry_for(tree.root, XAVIER_PROFILE)
    assert [d.name for d in domains] == ['cpu0', 'cpu2', 'cpu4', 'gpu']
    assert domains[3].available_khz[0] == 114750 and domains[3].raw_by_khz[114750] == '114750000'
    sample = tel.system()
    assert sample.stale == []
    by_name = {d.name: d for d in sample.domains}
    assert by_name['cpu2'].cur_khz == 729600 and by_name['cpu2'].max_khz == 1420800
    assert (by_name['gpu'].cur_khz, by_name['gpu'].governor) == (854250, 'nvhost_podgov')
    assert ('CPU-therm', 41.0) in sample.thermal and len(sample.thermal) == 6
    assert sample.memory_total > 0 and len(sample.cpu_util) == os.cpu_count()
    power, problems = tel.power(sample, 1.0)
    assert problems == [] and power.measured and power.source == 'ina3221'
    assert [n for n, _ in power.rails] == ['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC']
    assert power.total_w == pytest.approx(6.0)          # VDD_IN: 5000 mV * 1200 mA
    assert dict(power.rails)['VDD_SOC'] == pytest.approx(1.4)


def test_unreadable_sensors_are_reported_not_zero(tmp_path):
    tree = build(str(tmp_path), 'jetson_xavier_nx', ina='iio')
    tel, _ = telemetry_for(tree.root, XAVIER_PROFILE)
    os.remove(tree.path(f'{INA_IIO_DIR}/in_power0_input'))          # VDD_IN gone
    tree.put('sys/devices/virtual/thermal/thermal_zone1/temp', 'garbage')
    os.remove(tree.path(f'{GPU_DIR}/cur_freq'))
    sample = tel.system()
    assert [d.name for d in sample.domains] == ['cpu0', 'cpu2', 'cpu4']
    assert any(s.startswith('domain gpu:') and 'attribute missing' in s for s in sample.stale)
    assert any(s.startswith('thermal CPU-therm') for s in sample.stale)
    power, problems = tel.power(sample, 1.0)
    assert power.measured and 'VDD_IN' not in dict(power.rails)
    assert any('channel 0' in p for p in problems)
    assert any('VDD_IN: total rail not readable' in p for p in problems)
    # All rails gone: the model takes over, marked as estimated, and says why.
    for n in (1, 2):
        os.remove(tree.path(f'{INA_IIO_DIR}/in_power{n}_input'))
    power, problems = tel.power(sample, 2.0)
    assert not power.measured and power.source == 'model'
    assert any('no rail readable' in p and 'using the model' in p for p in problems)


def test_hwmon_layout_skips_sum_of_shunts(tmp_path):
    tree = build(str(tmp_path), 'jetson_xavier_nx', ina='hwmon')
    tree.put(f'{INA_HWMON_DIR}/curr7_input', 999)
    reading = find_sensor(load_profile(XAVIER_PROFILE), Sysfs(tree.root)).read(0.0)
    assert len(reading.rails) == 3 and all('shunt' not in n for n, _ in reading.rails)


def test_generic_x86_discovers_policies_and_reads_rapl(tmp_path):
    tree = build(str(tmp_path), 'generic_x86')
    tel, domains = telemetry_for(tree.root, GENERIC_PROFILE)
    assert [(d.name, d.spec.cpus) for d in domains] == [(f'cpu{i}', (i,)) for i in range(4)]
    assert domains[0].available_khz == tuple(sorted(fake_sysfs.X86_CPU_KHZ))
    assert tel.sensor.source == 'rapl'
    tel.sensor.start(10.0)
    tree.settle(2.0)           # the fake kernel accounts 2 s at 15 W on package-0
    power, problems = tel.power(tel.system(), 12.0)
    assert problems == [] and power.measured
    assert power.rails == [('package-0', pytest.approx(15.0))]
    # Counter wrap: energy goes back below the last value; the range is added.
    rel = 'sys/devices/virtual/powercap/intel-rapl/intel-rapl:0'
    top = int(tree.get(f'{rel}/max_energy_range_uj'))
    tel.sensor.last[tel.sensor.zones[0]] = (12.0, top - 5_000_000)
    tree.put(f'{rel}/energy_uj', 5_000_000)
    power, _ = tel.power(tel.system(), 13.0)
    assert power.total_w == pytest.approx(10.0)


def test_generic_hwmon_and_no_sensor_model(tmp_path):
    tree = build(str(tmp_path / 'a'), 'generic_x86', rapl=False, hwmon=True)
    tel, _ = telemetry_for(tree.root, GENERIC_PROFILE)
    power, _ = tel.power(tel.system(), 1.0)
    assert (power.source, power.total_w) == ('hwmon', pytest.approx(42.5))
    tree = build(str(tmp_path / 'b'), 'generic_x86', rapl=False)
    tel, domains = telemetry_for(tree.root, GENERIC_PROFILE)
    assert tel.sensor is None
    power, _ = tel.power(tel.system(), 1.0)
    assert not power.measured and power.source == 'model'
    assert [n for n, _ in power.rails] == ['cpu0', 'cpu1', 'cpu2', 'cpu3', 'static']


def test_power_model_formula():
    model = load_profile(XAVIER_PROFILE).model
    # cpu0 at f_max (1907.2 MHz) with cores 100 % and 0 % busy, GPU at half f_max, 50 % load.
    domains = [ProbedDomain(Domain('cpu0', 'cpufreq', (0, 1)), (115200, 1907200), (), {}, {},
                            'sysfs'),
               ProbedDomain(Domain('gpu', 'devfreq'), (114750, 1109250), (), {}, {}, 'sysfs')]
    reading = estimate(model, domains, {'cpu0': 1907200, 'gpu': 554625}, [100.0, 0.0],
                       {'gpu': 0.5})
    rails = dict(reading.rails)
    # The power law: leakage * v + load * dynamic * (f / f_max) * v^2; per-core CPU figures
    # (0.65 W dynamic, 0.08 W leakage) times the cluster's 2 cores, load the cores' mean.
    assert rails['cpu0'] == pytest.approx(2 * 0.08 + 0.5 * 2 * 0.65)
    # 554.6 MHz is above the GPU's voltage floor (229 MHz, v 0.8), v rising linearly to 1.
    v = 0.8 + 0.2 * (554625 - 229000) / (1109250 - 229000)
    assert rails['gpu'] == pytest.approx(0.33 * v + 0.5 * 6.0 * 0.5 * v * v)
    assert reading.total_w == pytest.approx(rails['cpu0'] + rails['gpu'] + 2.1)
    counter = EnergyCounter()
    counter.add(10.0, 1.0)
    assert counter.add(10.0, 3.5) == pytest.approx(25.0)


def test_diagnostics_carry_available_frequencies(tmp_path):
    tree = build(str(tmp_path), 'jetson_xavier_nx')
    domains, _ = probe_domains(load_profile(XAVIER_PROFILE), Sysfs(tree.root))
    level, name, _, values = domain_status('hardware', domains[3])
    assert (level, name) == (0, 'hardware: dvfs gpu')
    khz = [int(v) for v in values['available_khz'].split(' ')]
    assert khz == [f // 1000 for f in fake_sysfs.XAVIER_GPU_HZ] and khz == sorted(khz)
    assert 'nvhost_podgov' in values['governors'].split(' ')
    assert values['original_max_khz'] == '1109250'


@pytest.mark.parametrize('text, error', [
    ('name: x\ndomains: [{name: c, kind: cpufreq, path: /sys/x}]', 'relative'),
    ('name: x\ndomains: [{name: c, kind: cpufreq, path: sys/../../etc}]', 'without ..'),
    ('name: x\ndomains: [{name: c, kind: cpufreq, path: etc/cpufreq}]', 'under sys/'),
    ('name: x\ndomains: [{name: c, kind: gpufreq, path: sys/x}]', 'kind must be'),
    ('name: x\ndomains: [{name: c, kind: cpufreq, path: sys/a}, '
     '{name: c, kind: cpufreq, path: sys/b}]', 'duplicate'),
    ('name: x\ndomains: [{name: c, kind: cpufreq, path: sys/a, frequencies_khz: [-1]}]',
     'positive integers'),
    ('name: x\npower: {sensors: [{kind: thermometer, path: sys/x}]}', 'kind must be one of'),
    ('domains: []', 'with a name'),
    ('name: [unclosed', 'not valid YAML'),
])
def test_bad_profiles_are_refused(tmp_path, text, error):
    path = tmp_path / 'p.yaml'
    path.write_text(text)
    with pytest.raises(ProfileError, match='.*' + error.replace('.', r'\.')):
        load_profile(str(path))


def test_symlink_escaping_the_root_is_refused(tmp_path):
    tree = build(str(tmp_path / 'root'), 'generic_x86')
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'scaling_governor').write_text('x\n')
    os.symlink(str(outside), tree.path('sys/escape'))
    sysfs = Sysfs(tree.root)
    with pytest.raises(SysfsError, match='outside sysfs_root'):
        sysfs.write('sys/escape', 'cpufreq', 'scaling_governor', 'performance')
    with pytest.raises(SysfsError, match='not allow-listed'):
        sysfs.write(f'{CPU_DIR}/cpufreq/policy0', 'cpufreq', 'scaling_cur_freq', '1')
    assert (outside / 'scaling_governor').read_text() == 'x\n'


def test_fake_sysfs_cli_builds_a_usable_tree(tmp_path):
    root = tmp_path / 'fake'
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable, '-m', FAKE_SYSFS, '--platform', 'jetson_xavier_nx',
                          '--ina', 'hwmon', '--root', str(root)],
                         capture_output=True, text=True, env=env, check=True).stdout
    assert f'sysfs_root:={root}' in out
    domains, problems = probe_domains(load_profile(XAVIER_PROFILE), Sysfs(str(root)))
    assert problems == [] and len(domains) == 4 and all(d.writable for d in domains)
    again = subprocess.run([sys.executable, '-m', FAKE_SYSFS, '--root', str(root)],
                           capture_output=True, text=True, env=env)
    assert again.returncode == 2 and 'not empty' in again.stderr


def test_fake_kernel_settles_current_frequency(tmp_path):
    tree = build(str(tmp_path), 'jetson_xavier_nx')
    rel = f'{CPU_DIR}/cpufreq/policy0'
    tree.put(f'{rel}/scaling_governor', 'userspace')
    tree.put(f'{rel}/scaling_setspeed', 960000)
    tree.put(f'{GPU_DIR}/max_freq', 204000000)
    tree.settle()
    assert tree.get(f'{rel}/scaling_cur_freq') == '960000'
    assert tree.get(f'{GPU_DIR}/cur_freq') == '204000000'


def test_unreadable_rapl_is_skipped_with_a_note(tmp_path):
    tree = build(str(tmp_path), 'generic_x86', hwmon=True)
    energy = tree.path('sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj')
    os.remove(energy)
    os.mkdir(energy)        # reading fails as it would for a non-root user (root-only file)
    notes = []
    sensor = find_sensor(load_profile(GENERIC_PROFILE), Sysfs(tree.root), notes)
    assert sensor.source == 'hwmon'
    assert len(notes) == 1 and notes[0].startswith('rapl at ') and 'a directory' in notes[0]
