"""The joint search, the governors as simulated, the simulator and the evaluate tool (no ROS)."""

import os

from dynofa_ros.core.evaluation.governors import SimGovernor
from dynofa_ros.core.evaluation.scenarios import SCENARIOS
from dynofa_ros.core.evaluation.simulator import metrics, Simulator
from dynofa_ros.core.manager.joint_search import AppInput, DomainSearch
from dynofa_ros.core.platforms.profiles import Domain
from dynofa_ros.tools import evaluate
import numpy as np

GPU = Domain('gpu', 'devfreq', (), (100000, 200000, 400000, 800000))


def test_search_picks_least_energy_among_the_most_accurate_that_fit():
    freqs = np.array(GPU.frequencies_khz, dtype=float)
    solo = np.outer(800000.0 / freqs, [10.0, 20.0, 40.0])      # (freq, subnet) ms
    app = AppInput('a', solo, np.array([70.0, 75.0, 80.0]), 50.0, 0.0, 1, rate_hz=10.0)
    power = (1.0, 0.1 * freqs / 800000, 4.0 * (freqs / 800000) ** 3)
    choice = DomainSearch(freqs, power, [app], 1.0).solve(slack=0.0)
    # The most accurate sub-network (40 ms at 800 MHz) only fits at 800 MHz.
    assert choice.feasible and choice.subnets == (2,) and choice.freq_index == 3
    relaxed = DomainSearch(freqs, power, [app], 1.0).solve(slack=5.0)
    # 5 points of slack: 75 % at 400 MHz (40 ms) costs less energy.
    assert relaxed.subnets == (1,) and relaxed.freq_index == 2


def test_search_shares_the_domain_and_reports_infeasibility():
    freqs = np.array([800000.0])
    solo = np.array([[30.0, 60.0]])
    a = AppInput('a', solo, np.array([70.0, 80.0]), 70.0, 0.0, 1)
    b = AppInput('b', solo, np.array([70.0, 80.0]), 70.0, 0.0, 1)
    search = DomainSearch(freqs, (1.0, np.array([0.1]), np.array([2.0])), [a, b], 1.0)
    choice = search.solve(0.0)
    # Saturated together each takes twice its solo time: only 30 ms each fits 70 ms.
    assert choice.subnets == (0, 0) and choice.latency_ms == (60.0, 60.0) and choice.feasible
    tight = AppInput('a', solo, np.array([70.0, 80.0]), 20.0, 0.0, 1)
    bad = DomainSearch(freqs, (1.0, np.array([0.1]), np.array([2.0])), [tight, b], 1.0)
    choice = bad.solve(0.0)
    assert not choice.feasible and 'fastest' in choice.note and choice.subnets == (0, 0)


def test_governors_follow_the_kernel_rules():
    perf, save = SimGovernor('performance', GPU), SimGovernor('powersave', GPU)
    assert perf.tick(0.01, 0.0, GPU.f_max) == GPU.f_max
    assert save.tick(0.01, 1.0, GPU.f_min) == GPU.f_min
    ondemand = SimGovernor('ondemand', GPU)
    f = GPU.f_max
    for _ in range(5):
        f = ondemand.tick(0.01, 0.3, f)
    assert f == 400000            # lowest >= f_min + 0.3 x span
    for _ in range(2):
        f = ondemand.tick(0.01, 1.0, f)
    assert f == GPU.f_max         # above up_threshold: jump to max
    sched = SimGovernor('schedutil', GPU)
    f = GPU.f_max
    for _ in range(300):          # steady 50 % load at f_max: settle where util x 1.25 fits
        f = sched.tick(0.001, min(1.0, 0.5 * GPU.f_max / f), f)
    assert f == 800000            # 1.25 x 50 % x 800 MHz = 500 MHz: next level up is 800
    idle = SimGovernor('schedutil', GPU)
    for _ in range(500):
        f = idle.tick(0.001, 0.0, GPU.f_max)
    assert f == GPU.f_min


def test_simulated_manager_meets_targets_that_schedutil_misses():
    scenario = SCENARIOS['contention'].scaled(12.0)
    ours = metrics(Simulator(scenario, 'dynofa', seed=2).run())
    sched = metrics(Simulator(scenario, 'schedutil', seed=2).run())
    assert ours['over_target_pct'] < sched['over_target_pct']
    assert ours['mj_per_frame'] < sched['mj_per_frame']
    assert ours['frames'] > 0 and sched['frames'] > 0


def test_evaluate_tool_prints_tables_and_writes_plots(tmp_path, capsys):
    rc = evaluate.main(['--scenario', 'two_models', '--scenario', 'target_changes',
                        '--policy', 'dynofa', '--policy', 'schedutil', '--duration', '4',
                        '--out', str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith('SIMULATED')
    assert out.count('| dynofa |') == 2 and out.count('| schedutil |') == 2
    for name in ('two_models.png', 'target_changes.png', 'results.md'):
        assert os.path.getsize(tmp_path / name) > 1000 or name == 'results.md'
    with open(tmp_path / 'two_models.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_evaluate_tool_refuses_bad_arguments(tmp_path, capsys):
    assert evaluate.main(['--platform', str(tmp_path / 'none.yaml')]) == 2
    assert 'not found' in capsys.readouterr().err
