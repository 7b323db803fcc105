"""Crash-safe DVFS and power-mode caps on fake sysfs trees: state file, recovery, caps."""

import json
import os
import stat

from dynofa_ros.core.fake_hardware.fake_sysfs import build, CPU_DIR, GPU_DIR
from dynofa_ros.core.hardware import dvfs_state, recovery
from dynofa_ros.core.hardware.dvfs_writer import (DvfsRequest, DvfsWriter, MODE_GOVERNOR,
                                                  MODE_PIN, MODE_RANGE)
from dynofa_ros.core.hardware.sysfs import Sysfs
from dynofa_ros.core.platforms.probe import probe_domains
from dynofa_ros.core.platforms.profiles import load_profile
import pytest
from support.hardware import snapshot as full_snapshot, XAVIER_PROFILE

CPU0 = f'{CPU_DIR}/cpufreq/policy0'


def snapshot(root):
    """
    Return the tree without scaling_setspeed.

    A kernel shows '<unsupported>' there whatever was written once the governor is not
    userspace; the fake tree keeps the last write.
    """
    return {k: v for k, v in full_snapshot(root).items() if not k.endswith('scaling_setspeed')}


def writer_on(root, state_dir, **kwargs):
    sysfs = Sysfs(root)
    domains, problems = probe_domains(load_profile(XAVIER_PROFILE), sysfs)
    assert problems == []
    state = dvfs_state.StateFile(str(state_dir), root)
    return DvfsWriter(sysfs, domains, state=state, **kwargs), state


@pytest.fixture
def tree(tmp_path):
    return build(str(tmp_path / 'root'), 'jetson_xavier_nx')


def pin_everything(writer):
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1420800)).ok
    assert writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=1109250)).ok


def test_start_settings_are_saved_before_the_first_write_and_removed_after_restore(
        tree, tmp_path):
    pristine = snapshot(tree.root)
    writer, state = writer_on(tree.root, tmp_path / 'state')
    assert not writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=12345)).ok
    assert not state.exists()                       # an invalid command writes nothing at all
    pin_everything(writer)
    saved, _ = state.load()
    assert saved['cpu0'][2]['scaling_max_freq'] == '1420800'
    assert saved['cpu0'][2]['scaling_governor'] == 'schedutil'
    assert saved['gpu'][2]['max_freq'] == '1109250000'
    assert set(saved) == {'cpu0', 'cpu2', 'cpu4', 'gpu'}      # every domain it may touch
    assert stat.S_IMODE(os.stat(state.path).st_mode) == 0o600
    assert os.listdir(state.dir) == [os.path.basename(state.path)]   # no temporary left
    assert all(o.ok for o in writer.restore())
    assert not state.exists()
    assert snapshot(tree.root) == pristine


def test_a_run_killed_while_pinned_is_restored_from_its_state_file(tree, tmp_path):
    pristine = snapshot(tree.root)
    writer, state = writer_on(tree.root, tmp_path / 'state')
    pin_everything(writer)
    del writer                                        # SIGKILL: no restore ran
    assert tree.get(f'{CPU0}/scaling_governor') == 'userspace'
    # What the old code did: a new start records the pinned state as its "original".
    again, _ = writer_on(tree.root, tmp_path / 'other')
    assert again.domains['cpu0'].original['scaling_governor'] == 'userspace'
    result = recovery.restore_from_file(Sysfs(tree.root), state)
    assert result.ok and sorted(result.restored) == ['cpu0', 'cpu2', 'cpu4', 'gpu']
    assert not state.exists()
    assert snapshot(tree.root) == pristine
    assert recovery.restore_from_file(Sysfs(tree.root), state) is None   # nothing left


@pytest.mark.parametrize('content, error', [
    ('{not json', 'not valid JSON'),
    ('{"format": "something else"}', 'not a dynofa_ros DVFS state file'),
    (None, 'saved for sysfs_root'),
    ('EVIL_ATTR', "attribute 'uevent' is not allow-listed"),
    ('EVIL_PATH', 'must be relative'),
    ('EVIL_VALUE', 'is not a frequency'),
])
def test_a_corrupt_or_foreign_state_file_is_refused_and_nothing_is_written(
        tree, tmp_path, content, error):
    writer, state = writer_on(tree.root, tmp_path / 'state')
    pin_everything(writer)
    pinned = snapshot(tree.root)
    data = json.load(open(state.path))
    if content is None:
        data['sysfs_root'] = '/somewhere/else'
    elif content == 'EVIL_ATTR':
        data['domains']['cpu0']['original']['uevent'] = '1'
    elif content == 'EVIL_PATH':
        data['domains']['cpu0']['path'] = '/etc'
    elif content == 'EVIL_VALUE':
        data['domains']['gpu']['original']['max_freq'] = '1; reboot'
    text = json.dumps(data) if content in (None, 'EVIL_ATTR', 'EVIL_PATH', 'EVIL_VALUE') \
        else content
    with open(state.path, 'w') as f:
        f.write(text)
    with pytest.raises(dvfs_state.StateFileError, match=error):
        recovery.restore_from_file(Sysfs(tree.root), state)
    assert snapshot(tree.root) == pinned
    assert state.exists()


def test_read_only_domains_are_not_saved_so_recovery_does_not_fail_on_them(tree, tmp_path):
    writer, state = writer_on(tree.root, tmp_path / 'state')
    writer.domains['gpu'].writable = False          # e.g. the udev rule covers only cpufreq
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1420800)).ok
    saved, _ = state.load()
    assert 'gpu' not in saved
    result = recovery.restore_from_file(Sysfs(tree.root), state)
    assert result.ok and 'cpu0' in result.restored


def test_state_files_are_per_sysfs_root(tmp_path):
    a = dvfs_state.StateFile(str(tmp_path), '/')
    b = dvfs_state.StateFile(str(tmp_path), str(tmp_path))
    assert a.path != b.path
    assert dvfs_state.file_name('/') == dvfs_state.file_name('//')


def test_restore_all_finds_every_file_of_a_directory(tree, tmp_path):
    pristine = snapshot(tree.root)
    writer, _ = writer_on(tree.root, tmp_path / 'state')
    pin_everything(writer)
    (results,) = recovery.restore_all(str(tmp_path / 'state'))
    assert results[1].ok
    assert snapshot(tree.root) == pristine


def test_a_state_dir_that_cannot_be_written_refuses_the_command_and_writes_nothing(
        tree, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    pristine = snapshot(tree.root)
    writer, _ = writer_on(tree.root, blocker / 'state')
    outcome = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1420800))
    assert not outcome.ok and 'cannot save the start settings' in outcome.message
    assert snapshot(tree.root) == pristine


# --- power-mode caps (the fake Xavier NX tree caps the CPU clusters at 1420.8 MHz) ------------
def test_a_pin_above_the_power_mode_cap_is_refused_and_writes_nothing(tree, tmp_path):
    pristine = snapshot(tree.root)
    writer, state = writer_on(tree.root, tmp_path / 'state')
    assert writer.max_allowed_khz(writer.domains['cpu0']) == 1420800
    outcome = writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200))
    assert not outcome.ok
    assert 'above the power-mode cap of cpu0, 1420800 kHz' in outcome.message
    outcome = writer.apply(DvfsRequest('cpu2', MODE_RANGE, min_khz=115200, max_khz=1497600))
    assert not outcome.ok and 'power-mode cap' in outcome.message
    assert snapshot(tree.root) == pristine and not state.exists()
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1420800)).ok
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1420800'         # the cap never raised
    assert writer.apply(DvfsRequest('cpu0', MODE_GOVERNOR, governor='performance')).ok
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1420800'


def test_allow_above_start_max_lifts_the_cap(tree, tmp_path):
    writer, _ = writer_on(tree.root, tmp_path / 'state', allow_above_start_max=True)
    assert writer.max_allowed_khz(writer.domains['cpu0']) == 1907200
    assert writer.apply(DvfsRequest('cpu0', MODE_PIN, frequency_khz=1907200)).ok
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1907200'
    assert writer.restore()[0].ok
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1420800'


def test_a_power_mode_with_a_higher_cap_allows_the_higher_frequencies(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx', cpu_cap_khz=1907200)
    writer, _ = writer_on(tree.root, tmp_path / 'state')
    assert writer.max_allowed_khz(writer.domains['cpu2']) == 1907200
    assert writer.apply(DvfsRequest('cpu2', MODE_PIN, frequency_khz=1907200)).ok


def test_gpu_cap_is_its_max_freq_at_start(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    tree.put(f'{GPU_DIR}/max_freq', 599250000)
    writer, _ = writer_on(tree.root, tmp_path / 'state')
    assert writer.max_allowed_khz(writer.domains['gpu']) == 599250
    assert not writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=1109250)).ok
    assert writer.apply(DvfsRequest('gpu', MODE_PIN, frequency_khz=510000)).ok
