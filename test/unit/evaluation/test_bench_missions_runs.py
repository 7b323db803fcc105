"""The random-mission benchmark still runs, and writes missions a user's evaluate accepts."""

import os
import subprocess
import sys

from dynofa_ros.tools import evaluate
from support import REPO


def test_bench_missions_runs_and_its_missions_load(tmp_path, capsys):
    path = os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH', '')) if p)
    run = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'bench_missions.py'),
                          '--count', '2', '--seeds', '1', '--duration', '3', '--jobs', '1',
                          '--out', str(tmp_path)], capture_output=True, text=True,
                         timeout=300, cwd=REPO, env=dict(os.environ, PYTHONPATH=path))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith('SIMULATED') and 'against the oracle' in run.stdout
    missions = sorted(p for p in os.listdir(tmp_path) if p.endswith('.yaml'))
    assert len(missions) == 2 and (tmp_path / 'results.md').exists()
    assert evaluate.main(['--scenario', str(tmp_path / missions[0]), '--duration', '2',
                          '--policy', 'dynofa']) == 0
    assert '| dynofa |' in capsys.readouterr().out
