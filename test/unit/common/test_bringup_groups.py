"""The privilege split: the hardware and application launch files start the system between them."""

import ast
import os

from dynofa_ros.core.common import bringup
from support import REPO


def test_hardware_and_application_groups_partition_the_system():
    hardware = {s.name for s in bringup.group_nodes('hardware')}
    application = {s.name for s in bringup.group_nodes('application')}
    assert hardware == {'hardware'}
    assert not hardware & application
    assert hardware | application == {s.name for s in bringup.group_nodes('all')} == {
        s.name for s in bringup.SYSTEM_NODES}


def test_each_split_launch_file_starts_its_group():
    for group in ('hardware', 'application'):
        path = os.path.join(REPO, 'launch', f'{group}.launch.py')
        tree = ast.parse(open(path).read(), path)
        values = {node.targets[0].id: node.value.value for node in tree.body
                  if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)}
        assert values['GROUP'] == group
        assert 'bringup.group_nodes(GROUP)' in open(path).read()
