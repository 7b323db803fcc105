"""The latency model's online fit of the frequency sensitivity (no ROS)."""

from dynofa_ros.core.manager.latency_model import LatencyModel
from dynofa_ros.core.manager.policy import load_catalog
from dynofa_ros.core.platforms.profiles import Domain
from dynofa_ros.core.platforms.scaling_law import latency_factor
import pytest

CPU = Domain('cpu0', 'cpufreq', (0, 1), (422400, 960000, 1420800, 1907200))
KEY = 'gpu/jetson_xavier_nx/published'


def model():
    return LatencyModel(load_catalog('config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml'), CPU, KEY,
                        sensitivity=0.9)


def feed(m, f, count, k_true=0.7, first_extra_ms=0.0):
    for i in range(count):
        ms = m.base[3] * latency_factor(f, CPU.f_max, k_true) + (first_extra_ms if i == 0 else 0)
        m.observe(3, f, ms)


def test_two_frequencies_25_percent_apart_give_the_sensitivity():
    m = model()
    feed(m, 1907200, 9)
    assert m.wants_frequency_sample() and m.k == 0.9
    assert m.sampled_frequency() == 1907200
    feed(m, 1420800, 9)
    assert not m.wants_frequency_sample() and m.k == pytest.approx(0.7, abs=0.01)
    # The prediction at the running frequency does not jump when k is fitted.
    assert m.predict(3, 1420800) == pytest.approx(
        m.base[3] * latency_factor(1420800, CPU.f_max, 0.7), rel=0.02)


def test_the_first_frame_at_a_frequency_is_left_out_of_the_fit():
    m = model()
    feed(m, 1907200, 9)
    # The first frame after the change ran partly at the old clock, or paid for a device move.
    feed(m, 1420800, 9, first_extra_ms=60.0)
    assert m.k == pytest.approx(0.7, abs=0.01)


def test_frequencies_closer_than_25_percent_or_shared_frames_give_no_fit():
    m = model()
    feed(m, 1907200, 9)
    feed(m, 1907200 * 0.85, 9)
    assert m.learned is None
    shared = model()
    for f in (1907200, 1420800):
        for _ in range(9):
            shared.observe(3, f, 50.0, slowdown=1.4)
    assert shared.learned is None and shared.wants_frequency_sample()
