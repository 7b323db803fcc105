"""Device mapping in the simulated evaluation: scenario schema, moves, the gpu_two_map gain."""

import dataclasses

from dynofa_ros.core.evaluation import comparison
from dynofa_ros.core.evaluation.scenarios import check_against, parse, ScenarioError, SCENARIOS
from dynofa_ros.core.evaluation.simulator import metrics, SimPlatform, Simulator
from dynofa_ros.core.manager.data import Decisions, DvfsDecision, MappingDecision
from dynofa_ros.tools import evaluate
import pytest


def _scenario(app):
    return {'name': 'm', 'duration_s': 5, 'apps': [dict(
        {'app_id': 'cam', 'camera_hz': 4, 'latency_target_ms': 250}, **app)]}


def test_scenario_apps_may_list_domains_and_domain_stays_the_one_element_form():
    listed = parse(_scenario({'domains': ['gpu', 'cpu0']})).apps[0]
    assert listed.domain == 'gpu' and listed.listed == ('gpu', 'cpu0')
    one = parse(_scenario({'domain': 'gpu'})).apps[0]
    assert one.listed == ('gpu',) and one == parse(_scenario({'domains': ['gpu']})).apps[0]


@pytest.mark.parametrize('app, words', [
    ({'domain': 'gpu', 'domains': ['gpu', 'cpu0']}, 'one of them'),
    ({}, 'one of them'),
    ({'domains': []}, 'non-empty list'),
    ({'domains': ['gpu', 'gpu']}, 'distinct'),
    ({'domains': 'gpu'}, 'non-empty list'),
])
def test_bad_domain_lists_are_refused(app, words):
    with pytest.raises(ScenarioError, match=words):
        parse(_scenario(app))


def test_a_listed_domain_the_platform_does_not_simulate_is_refused():
    scenario = parse(_scenario({'domains': ['gpu', 'cpu4']}))
    with pytest.raises(ScenarioError, match='cpu4'):
        check_against(scenario, SimPlatform().truth)


class _MoveAt:
    """Wrap a policy's step: at `t` it moves rear to the cluster pinned at its maximum."""

    def __init__(self, step, t):
        self.step, self.t, self.sent = step, t, False

    def __call__(self, now):
        out = self.step(now)
        if now >= self.t and not self.sent:
            self.sent = True
            out.extend(Decisions(dvfs=[DvfsDecision('cpu0', 'pin', 1907200)],
                                 mappings=[MappingDecision('rear', 0, 'cpu', (0, 1), 'test')]))
        return out


def test_the_simulator_moves_an_application_between_frames_at_a_cost():
    platform = SimPlatform()
    sim = Simulator(SCENARIOS['gpu_two_map'].scaled(6.0), 'performance', platform, seed=1)
    sim.policy.step = _MoveAt(sim.policy.step, 3.0)
    result = sim.run()
    (start, at), (moved, to) = result.placements['rear']
    assert (start, at, to) == (0.0, 'gpu', 'cpu0') and 3.0 <= moved < 3.0 + 0.25 + 0.1
    after = [f[1] for f in result.frames['rear'] if f[0] > moved]
    subnet = result.frames['rear'][-1][3]
    ref = platform.catalog().subnets[subnet].latency_ms[platform.truth['gpu']['latency_key']]
    on_cpu = platform.true_ms('cpu0', min(ref.values()))    # x latency_scale (3.2)
    # Alone on the cluster it runs at the cluster's true latency (3 % noise), and the first
    # frame there also pays the move.
    assert all(0.85 * on_cpu < ms < 1.15 * on_cpu for ms in after[1:]) and len(after) >= 5
    assert after[0] > 0.85 * on_cpu + platform.sim['move_overhead_ms']


def test_gpu_two_map_dynofa_moves_rear_and_saves_energy_over_not_moving():
    platform = SimPlatform()
    scenario = SCENARIOS['gpu_two_map']
    mapped = Simulator(scenario, 'dynofa', platform, seed=1).run()
    rear = dataclasses.replace(scenario.apps[1], domains=())
    single = dataclasses.replace(scenario, apps=(scenario.apps[0], rear))
    fixed = Simulator(single, 'dynofa', platform, seed=1).run()
    assert [d for _, d in mapped.placements['rear']] == ['gpu', 'cpu0']
    assert [d for _, d in fixed.placements['rear']] == ['gpu']
    m, f = metrics(mapped), metrics(fixed)
    assert abs(m['frames'] - f['frames']) <= 2     # the cameras' frames, +-1 in flight
    assert m['mj_per_frame'] < 0.95 * f['mj_per_frame']
    assert m['over_target_pct'] <= 5.0 and m['mean_top1'] >= f['mean_top1'] - 0.5


def test_the_oracle_searches_placements_too():
    platform = SimPlatform()
    scenario = SCENARIOS['gpu_two_map'].scaled(4.0)
    oracle = comparison.Oracle.simulated(platform, seed=1)
    assert {c[4]['rear'] for c in oracle.candidates(scenario)} == {'gpu', 'cpu0'}
    row, (_, _, where) = oracle.best(scenario, 77.0)
    assert comparison.meets(row) and where == {'front': 'gpu', 'rear': 'cpu0'}


def test_evaluate_shows_where_applications_ran_only_when_one_could_move(capsys):
    assert evaluate.main(['--scenario', 'gpu_two_map', '--policy', 'dynofa', '--policy',
                          'schedutil', '--duration', '8']) == 0
    text = capsys.readouterr().out
    assert '| placement |' in text and 'rear: gpu' in text and 'cpu0' in text
    assert evaluate.main(['--scenario', 'gpu_one', '--policy', 'dynofa', '--duration',
                          '2']) == 0
    assert 'placement' not in capsys.readouterr().out
