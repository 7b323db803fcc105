"""Unit tests of the overlap ledger: what sharing a domain cost each frame, from its timing."""

from dynofa_ros.core.manager.overlap import OverlapLedger, SETTLE_S
import pytest


def test_a_frame_alone_keeps_its_latency_as_solo_time():
    ledger = OverlapLedger()
    ledger.add('a', 'gpu', 1.0, 100.0, 3, 905250, 1.0)
    [frame] = ledger.settle(1.0, {'gpu': ['a']})
    assert frame.solo_ms == pytest.approx(100.0) and frame.slowdown == 1.0
    assert (frame.index, frame.f_khz) == (3, 905250)


def test_half_speed_while_another_application_runs():
    ledger = OverlapLedger()
    # a runs 0.0-0.1 s; b runs 0.05-0.12 s: they share 50 ms, each at half speed then.
    ledger.add('a', 'gpu', 0.10, 100.0, 0, 1, 2.0)
    assert ledger.settle(0.10, {'gpu': ['a', 'b']}) == []      # b's frame is still running
    ledger.add('b', 'gpu', 0.12, 70.0, 0, 1, 2.0)
    settled = {f.app_id: f for f in ledger.settle(0.12, {'gpu': ['a', 'b']})}
    assert settled['a'].solo_ms == pytest.approx(50.0 + 25.0)
    assert settled['a'].slowdown == pytest.approx(100.0 / 75.0)
    assert 'b' not in settled           # a's next frame may still overlap b's
    assert [f.app_id for f in ledger.settle(0.12 + SETTLE_S, {'gpu': ['a', 'b']})] == ['b']


def test_three_applications_at_a_third_and_other_domains_apart():
    ledger = OverlapLedger()
    ledger.add('b', 'gpu', 0.10, 100.0, 0, 1, 3.0)
    ledger.add('c', 'gpu', 0.10, 100.0, 0, 1, 3.0)
    ledger.add('x', 'cpu0', 0.10, 100.0, 0, 1, 1.0)       # another domain: no sharing
    ledger.add('a', 'gpu', 0.10, 100.0, 0, 1, 3.0)
    on_domain = {'gpu': ['a', 'b', 'c'], 'cpu0': ['x']}
    settled = {f.app_id: f for f in ledger.settle(0.10, on_domain)}
    assert settled['a'].solo_ms == pytest.approx(100.0 / 3)
    assert settled['x'].solo_ms == pytest.approx(100.0)


def test_a_silent_neighbour_settles_after_a_while_and_old_intervals_go():
    ledger = OverlapLedger()
    ledger.add('a', 'gpu', 1.0, 50.0, 0, 1, 2.0)
    assert ledger.settle(1.0 + 0.5 * SETTLE_S, {'gpu': ['a', 'b']}) == []
    [frame] = ledger.settle(1.0 + SETTLE_S, {'gpu': ['a', 'b']})
    assert frame.solo_ms == pytest.approx(50.0)
    ledger.settle(100.0, {})
    assert ledger.intervals == []
