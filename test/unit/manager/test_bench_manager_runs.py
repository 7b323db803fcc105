"""The manager benchmark still runs (benchmarks are not run by CI otherwise and would rot)."""

import os
import subprocess
import sys

from support import REPO


def test_bench_manager_runs_and_reports_its_ratios():
    path = os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH', '')) if p)
    run = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'bench_manager.py'),
                          '--steps', '3'], capture_output=True, text=True, timeout=120,
                         cwd=REPO, env=dict(os.environ, PYTHONPATH=path))
    assert run.returncode == 0, run.stderr[-2000:]
    for line in ('outer step, 2 apps', 'b may move', 'inner loop, one frame', 'goal 0.5 ms'):
        assert line in run.stdout, run.stdout
