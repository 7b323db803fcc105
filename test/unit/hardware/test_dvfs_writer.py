"""The DVFS writer on fake sysfs trees: valid commands, refusals, ordering, failures, restore."""

import errno
import os

from dynofa_ros.core.fake_hardware.fake_sysfs import build, CPU_DIR, GPU_DIR
from dynofa_ros.core.hardware.dvfs_writer import (DvfsRequest, DvfsWriter, limit_writes,
                                                  MODE_GOVERNOR, MODE_PIN, MODE_RANGE,
                                                  MODE_RESTORE, Watchdog)
from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.platforms.probe import probe_domains
from dynofa_ros.core.platforms.profiles import load_profile
import pytest
from support.hardware import (GENERIC_PROFILE, remove_tree, run_without_write_permission,
                              snapshot, world_readable_tree, XAVIER_PROFILE)

CPU0 = f'{CPU_DIR}/cpufreq/policy0'


class OrderCheckingSysfs(Sysfs):
    """The real Sysfs, plus a check after every write that the kernel never sees min > max."""

    def __init__(self, root, fail=None):
        super().__init__(root)
        self.log = []
        self.fail = fail or {}      # attribute name -> errno to raise instead of writing

    def write(self, rel_dir, kind, attr, value):
        super().write(rel_dir, kind, attr, value)
        self.log.append((rel_dir.rsplit('/', 1)[-1], attr, str(value)))
        prefix = 'scaling_' if kind == 'cpufreq' else ''
        lo = int(self.read(rel_dir, kind, prefix + 'min_freq'))
        hi = int(self.read(rel_dir, kind, prefix + 'max_freq'))
        assert lo <= hi, f'kernel would see min {lo} > max {hi} after {attr}={value}'

    def _raw_write(self, path, data):
        err = self.fail.get(os.path.basename(path))
        if err:
            raise OSError(err, os.strerror(err), path)
        super()._raw_write(path, data)


@pytest.fixture
def xavier(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    sysfs = OrderCheckingSysfs(tree.root)
    domains, problems = probe_domains(load_profile(XAVIER_PROFILE), sysfs)
    assert problems == []
    # The cap is lifted: these tests pin 1907.2 MHz above the tree's 1420.8 MHz power-mode cap to
    # check how a raised max is ordered and restored (test_dvfs_state.py checks the cap).
    return tree, sysfs, DvfsWriter(sysfs, domains, allow_above_start_max=True)


def test_pin_cpu_uses_userspace_and_setspeed(xavier):
    tree, _, writer = xavier
    outcome = writer.apply(DvfsRequest('cpu2', MODE_PIN, frequency_khz=1907200))
    assert outcome.ok, outcome.message
    rel = f'{CPU_DIR}/cpufreq/policy2'
    assert tree.get(f'{rel}/scaling_governor') == 'userspace'
    assert tree.get(f'{rel}/scaling_setspeed') == '1907200'
    # nvpmodel capped max at 1420.8 MHz: the pin raised it (max first), min untouched.
    assert tree.get(f'{rel}/scaling_max_freq') == '1907200'
    assert tree.get(f'{rel}/scaling_min_freq') == '115200'
    assert tree.get(f'{CPU0}/scaling_governor') == 'schedutil'     # other domains untouched


def test_pin_gpu_clamps_min_and_max_in_hz(xavier):
    tree, _, writer = xavier
    assert writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=599250)).ok
    assert tree.get(f'{GPU_DIR}/min_freq') == '599250000'
    assert tree.get(f'{GPU_DIR}/max_freq') == '599250000'
    assert tree.get(f'{GPU_DIR}/governor') == 'nvhost_podgov'


def test_range_writes_in_safe_order_both_ways(xavier):
    tree, sysfs, writer = xavier
    assert writer.apply(DvfsRequest('gpu', MODE_RANGE, min_khz=114750, max_khz=306000)).ok
    assert sysfs.log == [('17000000.gv11b', 'max_freq', '306000000')]   # min unchanged
    # Raising both above the current max: max must go first.
    sysfs.log.clear()
    assert writer.apply(DvfsRequest('gpu', MODE_RANGE, min_khz=803250, max_khz=1109250)).ok
    assert [a for _, a, _ in sysfs.log] == ['max_freq', 'min_freq']
    # Lowering both below the current min: min must go first.
    sysfs.log.clear()
    assert writer.apply(DvfsRequest('gpu', MODE_RANGE, min_khz=114750, max_khz=204000)).ok
    assert [a for _, a, _ in sysfs.log] == ['min_freq', 'max_freq']
    assert (tree.get(f'{GPU_DIR}/min_freq'), tree.get(f'{GPU_DIR}/max_freq')) == \
        ('114750000', '204000000')


def test_limit_writes_never_cross():
    for cur in ((100, 200), (150, 150), (300, 400)):
        for new in ((100, 100), (50, 500), (350, 360), (10, 20), (180, 190)):
            state = dict(zip(('min', 'max'), cur))
            for key, value in limit_writes(*cur, *new):
                state[key] = value
                assert state['min'] <= state['max'], (cur, new)
            assert (state['min'], state['max']) == new


def test_range_after_pin_leaves_userspace(xavier):
    tree, _, writer = xavier
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=729600)).ok
    assert writer.apply(DvfsRequest('cpu0', MODE_RANGE, min_khz=345600, max_khz=1190400)).ok
    assert tree.get(f'{CPU0}/scaling_governor') == 'schedutil'
    assert tree.get(f'{CPU0}/scaling_min_freq') == '345600'
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1190400'


def test_governor_mode_resets_limits_and_restore_returns_everything(xavier):
    tree, _, writer = xavier
    before = snapshot(tree.root)
    assert writer.apply(DvfsRequest('cpu4', MODE_RANGE, min_khz=499200, max_khz=960000)).ok
    assert writer.apply(DvfsRequest('cpu4', MODE_GOVERNOR, governor='performance')).ok
    rel = f'{CPU_DIR}/cpufreq/policy4'
    assert tree.get(f'{rel}/scaling_governor') == 'performance'
    assert tree.get(f'{rel}/scaling_max_freq') == '1420800'     # the original limit
    assert writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=204000)).ok
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1497600)).ok
    outcomes = writer.restore()
    assert [o.ok for o in outcomes] == [True, True, True]
    after = snapshot(tree.root)
    # Everything is as found, except scaling_setspeed (ignored by the kernel outside userspace).
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {f'{CPU0}/scaling_setspeed'}
    assert writer.touched == set()


def test_restore_mode_command(xavier):
    tree, _, writer = xavier
    assert writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=1109250)).ok
    assert writer.apply(DvfsRequest('gpu', MODE_RESTORE)).ok
    assert tree.get(f'{GPU_DIR}/min_freq') == '114750000'
    assert tree.get(f'{GPU_DIR}/max_freq') == '1109250000'


class UnreadableMaxSysfs(Sysfs):
    """A tree whose cpu2 scaling_max_freq cannot be read (as when the probe at start failed)."""

    def read(self, rel_dir, kind, attr):
        if rel_dir.endswith('policy2') and attr == 'scaling_max_freq':
            raise SysfsError('injected: input/output error', errno.EIO)
        return super().read(rel_dir, kind, attr)


def test_a_limit_not_read_at_start_is_left_alone_by_restore_and_said_so(tmp_path, caplog):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    domains, _ = probe_domains(load_profile(XAVIER_PROFILE), UnreadableMaxSysfs(tree.root))
    with caplog.at_level('WARNING', logger='dynofa_ros.dvfs'):
        writer = DvfsWriter(OrderCheckingSysfs(tree.root), domains,
                            allow_above_start_max=True)
    assert 'domain cpu2: could not read scaling_max_freq at start' in caplog.text
    assert 'cpu0' not in caplog.text                    # read fine: nothing to say
    rel = f'{CPU_DIR}/cpufreq/policy2'
    for request_ in (DvfsRequest('cpu2', MODE_RANGE, min_khz=345600, max_khz=1190400),
                     DvfsRequest('cpu2', MODE_GOVERNOR, governor='performance')):
        caplog.clear()
        assert writer.apply(request_).ok
        with caplog.at_level('WARNING', logger='dynofa_ros.dvfs'):
            assert [o.ok for o in writer.restore()] == [True]
        # The min and governor read at start come back; the max is never set to a value the
        # domain did not have (the highest available, 1907200, would lift nvpmodel's cap).
        assert tree.get(f'{rel}/scaling_min_freq') == '115200'
        assert tree.get(f'{rel}/scaling_max_freq') == '1190400'
        assert tree.get(f'{rel}/scaling_governor') == 'schedutil'
        assert 'restore cpu2: scaling_max_freq not read at start, left as they are' in caplog.text


@pytest.mark.parametrize('request_, reason', [
    (DvfsRequest('cpu9', MODE_PIN, frequency_khz=1420800), 'unknown domain'),
    (DvfsRequest('../../etc', MODE_PIN, frequency_khz=1420800), 'unknown domain'),
    (DvfsRequest('cpu0', 7), 'unknown mode'),
    (DvfsRequest('cpu0', MODE_PIN, frequency_khz=1400000), 'not an available frequency'),
    (DvfsRequest('cpu0', MODE_PIN, frequency_khz=0), 'not an available frequency'),
    (DvfsRequest('gpu', MODE_PIN, frequency_khz=599), 'not an available frequency'),
    (DvfsRequest('gpu', MODE_PIN, frequency_khz=599250000), 'not an available frequency'),
    (DvfsRequest('cpu0', MODE_RANGE, min_khz=960000, max_khz=345600), 'min 960000 kHz > max'),
    (DvfsRequest('cpu0', MODE_RANGE, min_khz=345600, max_khz=2000000), 'not an available'),
    (DvfsRequest('cpu0', MODE_GOVERNOR, governor='nvhost_podgov'), 'not available'),
    (DvfsRequest('cpu0', MODE_GOVERNOR, governor='../governor'), 'not available'),
    (DvfsRequest('cpu0', MODE_GOVERNOR, governor=''), 'not available'),
    (DvfsRequest('gpu', MODE_GOVERNOR, governor='schedutil'), 'not available'),
])
def test_invalid_commands_write_nothing(xavier, request_, reason):
    tree, sysfs, writer = xavier
    before = snapshot(tree.root)
    outcome = writer.apply(request_)
    assert not outcome.ok
    assert outcome.message.startswith('rejected') and reason in outcome.message
    assert snapshot(tree.root) == before and sysfs.log == []


def test_dry_run_writes_nothing_but_plans(xavier, caplog):
    tree, sysfs, writer = xavier
    writer.dry_run = True
    before = snapshot(tree.root)
    with caplog.at_level('INFO', logger='dynofa_ros.dvfs'):
        outcome = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200))
    assert outcome.ok and len(outcome.writes) == 3
    assert snapshot(tree.root) == before
    assert 'would write userspace' in caplog.text


@pytest.mark.parametrize('err, text', [(errno.EBUSY, 'device busy'),
                                       (errno.EROFS, 'read-only file system'),
                                       (errno.EINVAL, 'refused by the kernel')])
def test_injected_write_failure_rolls_back(tmp_path, err, text):
    # EBUSY/EROFS/EINVAL cannot be produced by a plain file system: injected at the one system
    # call (Sysfs._raw_write); classification, rollback and reporting are the real code.
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    sysfs = OrderCheckingSysfs(tree.root, fail={'scaling_setspeed': err})
    writer = DvfsWriter(sysfs, probe_domains(load_profile(XAVIER_PROFILE), sysfs)[0],
                        allow_above_start_max=True)
    before = snapshot(tree.root)
    outcome = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200))
    assert not outcome.ok and outcome.message.startswith('failed')
    assert text in outcome.message and 'rolled back 2 earlier writes' in outcome.message
    assert snapshot(tree.root) == before
    assert writer.domains['cpu0'].writable == (err != errno.EROFS)


def test_missing_attribute_and_directory_in_its_place(xavier):
    tree, _, writer = xavier
    os.remove(tree.path(f'{GPU_DIR}/max_freq'))
    outcome = writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=204000))
    assert not outcome.ok and 'attribute missing' in outcome.message
    rel = f'{CPU_DIR}/cpufreq/policy2'
    os.remove(tree.path(f'{rel}/scaling_setspeed'))
    os.mkdir(tree.path(f'{rel}/scaling_setspeed'))
    before = snapshot(tree.root)
    outcome = writer.apply(DvfsRequest('cpu2', MODE_PIN, frequency_khz=960000))
    assert not outcome.ok and 'a directory' in outcome.message
    assert 'rolled back 1 earlier writes' in outcome.message
    assert snapshot(tree.root) == before
    # The writer is still usable for the healthy domains.
    assert writer.apply(DvfsRequest('cpu4', MODE_PIN, frequency_khz=960000)).ok


def test_permission_denied_by_the_kernel_changes_nothing():
    tree = world_readable_tree('jetson_xavier_nx')
    try:
        sysfs = Sysfs(tree.root)
        writer = DvfsWriter(sysfs, probe_domains(load_profile(XAVIER_PROFILE), sysfs)[0],
                            allow_above_start_max=True)
        before = snapshot(tree.root)

        def attempt():
            outcome = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200))
            again = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200))
            return [outcome.ok, outcome.message, again.message]

        ok, message, again = run_without_write_permission(tree.root, attempt)
        assert not ok and 'permission denied' in message and 'nothing was written' in message
        assert 'read-only here' in again      # the domain is now known to be read-only
        assert snapshot(tree.root) == before
    finally:
        remove_tree(tree)


def test_unwritable_tree_is_probed_read_only():
    tree = world_readable_tree('generic_x86')
    profile = load_profile(GENERIC_PROFILE)  # read here: the checkout may be private
    try:
        def probe():
            domains, _ = probe_domains(profile, Sysfs(tree.root))
            writer = DvfsWriter(Sysfs(tree.root), domains, allow_above_start_max=True)
            outcome = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=800000))
            return [[d.writable for d in domains], outcome.message]

        writable, message = run_without_write_permission(tree.root, probe)
        assert writable == [False] * 4
        assert 'telemetry-only' in message
    finally:
        remove_tree(tree)


def test_watchdog_trips_once_per_silence(xavier):
    tree, _, writer = xavier
    dog = Watchdog(2.0, now=100.0)
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200)).ok
    dog.feed(100.5)
    assert not dog.check(102.0)
    assert dog.check(102.6)
    assert not dog.check(110.0)
    outcomes = writer.safe('')
    assert [o.ok for o in outcomes] == [True]
    assert tree.get(f'{CPU0}/scaling_governor') == 'schedutil'
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1420800'
    dog.feed(111.0)
    assert dog.check(113.5)
    assert not Watchdog(0.0, 0.0).check(1e9)     # 0 = off


def test_safe_governor_where_available(xavier):
    tree, _, writer = xavier
    assert writer.apply(DvfsRequest('cpu0', MODE_RANGE, min_khz=806400, max_khz=883200)).ok
    assert writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=204000)).ok
    assert all(o.ok for o in writer.safe('schedutil'))
    assert tree.get(f'{CPU0}/scaling_governor') == 'schedutil'
    assert tree.get(f'{CPU0}/scaling_min_freq') == '115200'
    # The GPU has no schedutil: restored to its start settings instead.
    assert tree.get(f'{GPU_DIR}/governor') == 'nvhost_podgov'
    assert tree.get(f'{GPU_DIR}/max_freq') == '1109250000'
