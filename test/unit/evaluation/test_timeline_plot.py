"""The demo timeline stays readable: outliers are clipped and the target line is always in view."""

import random

from dynofa_ros.core.evaluation import run_report, timeline_plot
from dynofa_ros.core.evaluation.run_report import Phase, Timeline
import pytest


def _timeline():
    rng = random.Random(1)
    stats = [(t * 0.1, 'cam', 'n7_0', 0, 70.0, 30 + rng.random() * 10, 45 + rng.random() * 10, 2)
             for t in range(400)]
    for i in (3, 150, 151, 300):  # model loading and stalled frames, as seen in the demo
        stats[i] = stats[i][:5] + (4000.0, 4100.0, 2)
    return Timeline(stats=stats, frequencies=[(0.0, {'cpu0': 1907200})],
                    power=[(0.0, 5.0, 0.0), (40.0, 5.0, 200.0)])


def test_outliers_are_clipped_and_the_target_keeps_a_quarter_of_the_axis(tmp_path):
    phases = [Phase(0.0, 20.0, 'relaxed', 80.0), Phase(20.0, 40.0, 'tight', 40.0)]
    top = timeline_plot.plot(_timeline(), phases, str(tmp_path / 't.png'))
    assert (tmp_path / 't.png').stat().st_size > 10_000
    assert 80.0 * 1.5 <= top <= 80.0 * timeline_plot.MAX_TARGET_SPAN  # not 4100 ms
    assert all(p.target_ms / top >= 1 / timeline_plot.MAX_TARGET_SPAN for p in phases[1:])


def test_axis_rules():
    assert timeline_plot.latency_axis_top([30.0] * 99 + [4000.0], [40.0]) == 60.0
    # Most frames far above the target: the axis stops at 4x the target, the line stays visible.
    assert timeline_plot.latency_axis_top([900.0] * 100, [40.0]) == 160.0
    assert timeline_plot.latency_axis_top([100.0] * 100, [40.0]) == pytest.approx(115.0)
    assert timeline_plot.latency_axis_top([10.0], []) == pytest.approx(11.5)


def test_recovery_names_the_settled_sub_network_and_how_long_it_took_to_return():
    phases = [Phase(0.0, 10.0, 'relaxed', 80.0), Phase(10.0, 20.0, 'tight', 40.0),
              Phase(20.0, 30.0, 'contention', 80.0), Phase(30.0, 40.0, 'relaxed again', 80.0)]

    def frames(start, end, subnet, top1):
        return [(start + i * 0.1, 'cam', subnet, 0, top1, 30.0, 40.0, 1)
                for i in range(int(round((end - start) * 10)))]
    stats = (frames(0, 2, 'n7_3', 76.0) + frames(2, 10, 'n7_6', 78.0)
             + frames(10, 30, 'n7_0', 73.0) + frames(30, 31.5, 'n7_2', 75.0)
             + frames(31.5, 40, 'n7_6', 78.0))
    found = run_report.recovery(Timeline(stats=stats), phases)
    assert found[:3] == ('n7_6', pytest.approx(1.5), 'n7_6')
    assert found[3] == pytest.approx((20 * 76.0 + 80 * 78.0) / 100)
    assert 'on n7_6 (the relaxed phase settled on n7_6) 1.5 s after' in (
        run_report.format_recovery(found))
    # A more accurate sub-network than the settled one counts as back.
    better = stats[:300] + frames(30, 31, 'n7_2', 75.0) + frames(31, 40, 'n7_7', 79.0)
    found = run_report.recovery(Timeline(stats=better), phases)
    assert found[1:3] == (pytest.approx(1.0), 'n7_7')
    assert 'n7_7, more accurate than n7_6' in run_report.format_recovery(found)
    never = run_report.recovery(Timeline(stats=stats[:300]), phases)
    assert 'never' in run_report.format_recovery(never)
    assert run_report.recovery(Timeline(stats=stats), phases[:2]) is None
