"""Every test docs/reliability.md names exists, and every row of its tables names one."""

import os
import re

from support import REPO

DOC = os.path.join(REPO, 'docs', 'reliability.md')
NAMED = re.compile(r'`(test/[\w/]+\.py)(?:::(\w+))?`')


def test_every_named_test_exists():
    with open(DOC) as f:
        text = f.read()
    named = NAMED.findall(text)
    assert len(named) > 20
    missing = []
    for path, name in named:
        full = os.path.join(REPO, path)
        if not os.path.isfile(full):
            missing.append(path)
            continue
        with open(full) as f:
            source = f.read()
        if name and not re.search(rf'^def {name}\(', source, re.M):
            missing.append(f'{path}::{name}')
    assert not missing, missing


def test_every_row_names_a_test_or_says_why_not():
    with open(DOC) as f:
        rows = [line for line in f if line.startswith('| ') and not line.startswith('| fault')]
    for row in rows:
        assert NAMED.search(row) or 'not on this branch' in row, row
