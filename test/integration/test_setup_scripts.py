"""Set-up split: scripts/setup writes (venv, build); sourcing scripts/env.sh sets variables."""

import os
import shutil
import subprocess

from support import REPO


def _tree_state(root, skip=()):
    """Return {path: (size, mtime_ns)} of every file and directory below root."""
    state = {}
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(base, d) not in skip]
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            state[path] = (st.st_size, st.st_mtime_ns)
    return state


def _source_env(repo, env=None, then='true'):
    return subprocess.run(['bash', '-c', f'source scripts/env.sh && {then}'], cwd=repo,
                          env=env or os.environ.copy(), capture_output=True, text=True,
                          timeout=60)


def test_sourcing_env_on_a_set_up_checkout_changes_nothing_on_disk():
    venv = os.environ['DYNOFA_VENV']
    before = _tree_state(REPO, skip={os.path.join(REPO, '.git')}), _tree_state(venv, skip={
        os.path.join(venv, 'lib'), os.path.join(venv, 'share'), os.path.join(venv, 'include')})
    # Source it and use it: the variables must be enough to import the build's messages.
    proc = _source_env(REPO,
                       then='python -c "import dynofa_ros.msg, rclpy" && echo "$DYNOFA_VENV"')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == venv
    after = _tree_state(REPO, skip={os.path.join(REPO, '.git')}), _tree_state(venv, skip={
        os.path.join(venv, 'lib'), os.path.join(venv, 'share'), os.path.join(venv, 'include')})
    assert after == before


def test_env_sh_creates_no_venv_and_says_to_run_setup(tmp_path):
    repo = tmp_path / 'checkout'
    (repo / 'scripts').mkdir(parents=True)
    shutil.copy(os.path.join(REPO, 'scripts', 'env.sh'), repo / 'scripts' / 'env.sh')
    venv = tmp_path / 'no_venv_here'
    env = dict(os.environ, DYNOFA_VENV=str(venv))
    proc = _source_env(str(repo), env=env, then='echo "$DYNOFA_INSTALL"')
    assert proc.returncode == 0
    assert proc.stdout.strip() == str(repo / 'install')
    assert 'run scripts/setup' in proc.stderr
    assert not venv.exists()
    assert sorted(p.name for p in repo.iterdir()) == ['scripts']


def test_setup_on_a_set_up_checkout_installs_and_builds_nothing():
    stamps = [os.path.join(os.environ['DYNOFA_VENV'], '.dynofa-requirements.sha256'),
              os.path.join(REPO, 'install', '.dynofa-build.sha256')]
    before = [os.stat(s).st_mtime_ns for s in stamps]
    proc = subprocess.run([os.path.join(REPO, 'scripts', 'setup')], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert 'installing' not in proc.stderr and 'colcon build' not in proc.stderr
    assert [os.stat(s).st_mtime_ns for s in stamps] == before


def test_setup_refuses_an_unknown_argument():
    proc = subprocess.run([os.path.join(REPO, 'scripts', 'setup'), '--bogus'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "unknown argument '--bogus'" in proc.stderr
