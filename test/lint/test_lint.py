"""Lint as ament does: flake8 with ament's configuration (99 columns, plugins) and pep257."""

import os

from ament_flake8.main import main_with_errors as flake8_main
from ament_pep257.main import main as pep257_main
from support import REPO


PATHS = [os.path.join(REPO, p) for p in ('dynofa_ros', 'test', 'launch', 'bench', 'setup.py')]


def test_flake8():
    rc, errors = flake8_main(argv=[p for p in PATHS if os.path.exists(p)])
    assert rc == 0, f'{len(errors)} flake8 errors:\n' + '\n'.join(errors)


def test_pep257():
    rc = pep257_main(argv=[p for p in PATHS if os.path.exists(p)])
    assert rc == 0, 'pep257 errors (see output above)'
