"""
The privilege-dropping tests pass in a checkout other users cannot read (issue 13).

The checkout's files (what a fresh clone holds, with this working copy's changes) are copied
into a `mktemp -d` folder, mode 0700 like a private home directory, and the tests that run the
DVFS writer as 'nobody' are run there in a new pytest process.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile

from support import REPO

PRIVILEGE_DROPPING = ['test_permission_denied_by_the_kernel_changes_nothing',
                      'test_unwritable_tree_is_probed_read_only']
COPIED = ['dynofa_ros', 'config', 'test', 'setup.cfg', 'package.xml']


def test_privilege_dropping_tests_pass_in_a_private_checkout():
    folder = tempfile.mkdtemp(prefix='dynofa_private_clone_')
    try:
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        checkout = os.path.join(folder, 'dynofa_ros')
        os.mkdir(checkout)
        ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
        for name in COPIED:
            source = os.path.join(REPO, name)
            if os.path.isdir(source):
                shutil.copytree(source, os.path.join(checkout, name), ignore=ignore)
            else:
                shutil.copy2(source, checkout)
        run = subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', 'test/unit/hardware/test_dvfs_writer.py',
             '-k', ' or '.join(PRIVILEGE_DROPPING)],
            cwd=checkout, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert f'{len(PRIVILEGE_DROPPING)} passed' in run.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
