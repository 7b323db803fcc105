"""The shipped udev rule grants the dynofa group exactly the attributes the writer allow-lists."""

import os
import shlex
import stat
import subprocess

from dynofa_ros.core.fake_hardware.fake_sysfs import build, CPU_DIR, GPU_DIR
from dynofa_ros.core.hardware.sysfs import CPUFREQ_WRITABLE, DEVFREQ_WRITABLE
import pytest
from support import REPO

RULE = os.path.join(REPO, 'config', 'udev', '99-dynofa-dvfs.rules')
PREFIX = {'cpu': '/sys%p/cpufreq/', 'devfreq': '/sys%p/'}
ALLOWED = {'cpu': CPUFREQ_WRITABLE, 'devfreq': DEVFREQ_WRITABLE}


def parse(path=RULE):
    """Return {subsystem: [(program, args)]} from the rule file, one rule per line."""
    rules = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            assert not line.endswith('\\'), 'udev rules must not rely on line continuation'
            keys = [part.strip() for part in line.split(', ')]
            subsystem = next(k.split('==')[1].strip('"') for k in keys
                             if k.startswith('SUBSYSTEM=='))
            assert 'ACTION=="add"' in keys
            runs = [shlex.split(k[len('RUN+='):].strip('"')) for k in keys
                    if k.startswith('RUN+=')]
            rules.setdefault(subsystem, []).extend((cmd[0], cmd[1:]) for cmd in runs)
    return rules


def granted(rules, subsystem):
    """Return the attributes that both get the dynofa group and g+w, checking each command."""
    chgrp, chmod = set(), set()
    for program, args in rules[subsystem]:
        assert program in ('/bin/chgrp', '/bin/chmod'), program
        what, paths = args[0], args[1:]
        assert what == ('dynofa' if program == '/bin/chgrp' else 'g+w'), (program, what)
        for path in paths:
            assert path.startswith(PREFIX[subsystem]) and '/' not in path[len(
                PREFIX[subsystem]):], path
            (chgrp if program == '/bin/chgrp' else chmod).add(path[len(PREFIX[subsystem]):])
    assert chgrp == chmod, f'{subsystem}: group and mode given to different attributes'
    return chgrp


def test_the_rule_grants_exactly_the_allow_listed_attributes():
    rules = parse()
    assert set(rules) == {'cpu', 'devfreq'}
    for subsystem in rules:
        assert granted(rules, subsystem) == ALLOWED[subsystem]


def test_a_rule_that_grants_more_or_less_is_caught(tmp_path):
    text = open(RULE).read()
    more = tmp_path / 'more.rules'
    more.write_text(text.replace('/sys%p/max_freq"', '/sys%p/max_freq /sys%p/uevent"'))
    with pytest.raises(AssertionError):
        assert granted(parse(str(more)), 'devfreq') == DEVFREQ_WRITABLE
    less = tmp_path / 'less.rules'
    less.write_text(text.replace(' /sys%p/cpufreq/scaling_setspeed', ''))
    with pytest.raises(AssertionError):
        assert granted(parse(str(less)), 'cpu') == CPUFREQ_WRITABLE


def test_the_rule_commands_change_only_those_attributes_on_a_tree(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    gid = 65534 if os.geteuid() == 0 else os.getgid()
    before = {p: os.stat(p) for p in _files(tree.root)}
    devices = {'cpu': ['/devices/system/cpu/cpu0', '/devices/system/cpu/cpu2'],
               'devfreq': ['/' + GPU_DIR[len('sys/'):]]}
    for subsystem, commands in parse().items():
        for devpath in devices[subsystem]:
            for program, args in commands:
                args = [a.replace('/sys%p', os.path.join(tree.root, 'sys') + devpath)
                        for a in args]
                args = [str(gid) if a == 'dynofa' else a for a in args]
                subprocess.run([program, *args], check=True)
    changed = {os.path.relpath(p, tree.root) for p in before
               if os.stat(p).st_mode != before[p].st_mode}
    expected = {f'{CPU_DIR}/cpufreq/policy{n}/{a}' for n in (0, 2) for a in CPUFREQ_WRITABLE}
    expected |= {f'{GPU_DIR}/{a}' for a in DEVFREQ_WRITABLE}
    assert changed == expected
    for rel in expected:
        st = os.stat(os.path.join(tree.root, rel))
        assert st.st_gid == gid and st.st_mode & stat.S_IWGRP and not st.st_mode & stat.S_IWOTH


def _files(root):
    for base, _, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            if not os.path.islink(path):
                yield path
