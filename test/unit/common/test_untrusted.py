"""Untrusted strings are clipped and escaped; refusal logs are throttled per kind."""

from dynofa_ros.core.common.untrusted import clip, LIMIT, quote, RefusalThrottle
import pytest


def test_short_strings_pass_unchanged():
    assert clip('cpu0') == 'cpu0' and clip(42) == '42' and quote('a') == "'a'"


def test_long_strings_are_cut_and_say_their_length():
    text = 'x' * 10_000
    out = clip(text)
    assert out.startswith('x' * LIMIT) and out.endswith('[10000 characters]')
    assert len(out) < LIMIT + 40
    assert len(clip(list(range(4096)))) < LIMIT + 40  # a 4096-entry core list


def test_control_characters_cannot_forge_log_lines():
    out = clip('subnet\n[WARN] [hardware]: forged\x1b[31m')
    assert '\n' not in out and '\x1b' not in out and '\\n' in out


class Clock:

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_throttle_logs_first_of_each_kind_then_one_per_period_with_the_held_count():
    clock, lines = Clock(), []
    throttle = RefusalThrottle(5.0, clock)
    for _ in range(100):
        throttle(lines.append, 'encoding', 'bad encoding')
    throttle(lines.append, 'too_large', 'bomb')  # another kind is not hidden by the flood
    assert lines == ['bad encoding', 'bomb']
    clock.now = 5.0
    assert throttle(lines.append, 'encoding', 'bad encoding')
    assert lines[-1] == 'bad encoding (99 more encoding refusals not logged in the last 5 s)'
    clock.now = 6.0
    assert not throttle(lines.append, 'encoding', 'bad encoding')
    assert len(lines) == 3


def test_throttle_period_must_not_be_negative():
    with pytest.raises(ValueError):
        RefusalThrottle(-1)
