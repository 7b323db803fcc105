"""Simulated hardware: the fake tree's frequency becomes a latency factor."""

from dynofa_ros.core.fake_hardware import fake_sysfs
from dynofa_ros.core.fake_hardware.dvfs_emulation import DvfsEmulation, EmulationError
import pytest


@pytest.fixture
def tree(tmp_path):
    fake_sysfs.build_xavier_nx(str(tmp_path))
    return tmp_path / 'sys/devices/system/cpu/cpufreq/policy0'


def test_factor_follows_the_current_frequency(tree):
    now = [0.0]
    emu = DvfsEmulation(str(tree / 'scaling_cur_freq'), sensitivity=1.0, clock=lambda: now[0])
    assert emu.ref_khz == 1907200
    (tree / 'scaling_cur_freq').write_text('1907200\n')
    now[0] += 1
    assert emu.factor() == pytest.approx(1.0)
    (tree / 'scaling_cur_freq').write_text('953600\n')
    now[0] += 1
    assert emu.factor() == pytest.approx(2.0)


def test_partial_sensitivity_and_refresh_interval(tree):
    now = [0.0]
    (tree / 'scaling_cur_freq').write_text('953600\n')
    emu = DvfsEmulation(str(tree / 'scaling_cur_freq'), sensitivity=0.5, refresh_s=1.0,
                        clock=lambda: now[0])
    assert emu.factor() == pytest.approx(0.5 * 2 + 0.5)
    (tree / 'scaling_cur_freq').write_text('1907200\n')
    now[0] += 0.5
    assert emu.factor() == pytest.approx(1.5), 're-read before the refresh interval'
    now[0] += 0.6
    assert emu.factor() == pytest.approx(1.0)


def test_unreadable_file_keeps_the_last_value_and_says_why(tree):
    now = [0.0]
    emu = DvfsEmulation(str(tree / 'scaling_cur_freq'), clock=lambda: now[0])
    before = emu.factor()
    (tree / 'scaling_cur_freq').write_text('garbage\n')
    now[0] += 1
    assert emu.factor() == before and 'garbage' in emu.error


def test_bad_settings_are_refused(tree, tmp_path):
    with pytest.raises(ValueError, match='sensitivity'):
        DvfsEmulation(str(tree / 'scaling_cur_freq'), sensitivity=1.5)
    lonely = tmp_path / 'cur'
    lonely.write_text('1000\n')
    with pytest.raises(ValueError, match='no maximum frequency'):
        DvfsEmulation(str(lonely))
    with pytest.raises(FileNotFoundError):
        DvfsEmulation(str(tmp_path / 'missing'), ref_khz=1000)


def test_read_failure_is_logged_once_and_recovery_too(tree):
    now, said = [0.0], []
    emu = DvfsEmulation(str(tree / 'scaling_cur_freq'), clock=lambda: now[0], max_stale_s=1.0,
                        log=said.append)
    (tree / 'scaling_cur_freq').write_text('')
    for _ in range(5):
        now[0] += 0.1
        emu.factor()
    assert len(said) == 1 and 'cannot read' in said[0] and 'scaling_cur_freq' in said[0]
    (tree / 'scaling_cur_freq').write_text('953600\n')
    now[0] += 0.1
    assert emu.factor() == pytest.approx(0.9 * 2 + 0.1) and emu.error == ''
    assert len(said) == 2 and 'again' in said[1]


def test_a_frequency_unreadable_for_too_long_is_not_used(tree):
    now = [0.0]
    emu = DvfsEmulation(str(tree / 'scaling_cur_freq'), clock=lambda: now[0], max_stale_s=1.0)
    (tree / 'scaling_cur_freq').unlink()
    now[0] += 0.5
    emu.factor()                                  # within max_stale_s: the last value
    now[0] += 1.0
    with pytest.raises(EmulationError, match='stale'):
        emu.factor()
    (tree / 'scaling_cur_freq').write_text('1907200\n')
    now[0] += 0.1
    assert emu.factor() == pytest.approx(1.0)     # readable again: back in use
