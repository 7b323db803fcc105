"""The demo's check that its catalog was profiled on an idle machine, with real processes."""

import os
import subprocess
import sys
import time

from dynofa_ros.core.evaluation.load_check import Load, LoadMeter, MAX_OTHER_SHARE
from dynofa_ros.tools import demo
import pytest

BUSY = 'import time\nt = time.process_time()\nwhile time.process_time() - t < {s}:\n    pass\n'


def test_a_busy_process_that_is_not_measured_counts_as_load():
    hog = subprocess.Popen([sys.executable, '-c', BUSY.format(s=60)])
    try:
        time.sleep(0.5)
        meter = LoadMeter().start()
        time.sleep(2.0)
        load = meter.stop()
    finally:
        hog.kill()
        hog.wait()
    # One busy process on this machine's cores; other engineers' load can only add to it.
    assert load.other_share >= min(0.8 / (os.cpu_count() or 1), 1.0) * 0.5
    assert load.verdict(limit=0.0).startswith('other processes used')


def test_the_measured_child_is_not_counted_as_load():
    meter = LoadMeter().start()
    subprocess.run([sys.executable, '-c', BUSY.format(s=0.6)], check=True)
    load = meter.stop()
    assert load.children_s >= 0.6  # its CPU time is known, so it is subtracted


def test_demo_warns_by_default_and_refuses_with_require_idle():
    idle = Load(other_share=0.05, wall_s=30.0, cpus=2)
    busy = Load(other_share=MAX_OTHER_SHARE + 0.4, wall_s=30.0, cpus=2)
    assert demo.check_profile_load(idle, require_idle=True) == (None, '')
    code, warning = demo.check_profile_load(busy, require_idle=False)
    assert code is None and warning.startswith('WARNING: other processes used 65% of the 2 CPU')
    code, message = demo.check_profile_load(busy, require_idle=True)
    assert code == 3 and 'refusing' in message and 'too relaxed' in message
    assert demo.build_parser().parse_args(['--require-idle']).require_idle


@pytest.mark.parametrize('share, expected', [(0.0, ''), (MAX_OTHER_SHARE, '')])
def test_at_or_below_the_limit_is_idle(share, expected):
    assert Load(share, 10.0, 4).verdict() == expected
