"""The three launch files, run against stand-ins of `launch` and `launch_ros` (not on PyPI)."""

import importlib
import os
import runpy
import sys
import types

from dynofa_ros.core.system import bringup
import pytest
from support import REPO
import yaml

LAUNCH_FILES = {'dynofa': 'all', 'hardware': 'hardware', 'application': 'application'}


class _Action:
    """A launch action that keeps its arguments (the stand-ins accept what launch accepts)."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration:
    """Names a launch argument."""

    def __init__(self, variable_name):
        self.variable_name = variable_name


class LaunchDescription:
    """Holds the entities of a launch file."""

    def __init__(self, initial_entities=None):
        self.entities = list(initial_entities or [])


class Context:
    """perform_substitution as launch does for a LaunchConfiguration: the argument's value."""

    def __init__(self, values):
        self.values = values

    def perform_substitution(self, substitution):
        assert isinstance(substitution, LaunchConfiguration), substitution
        return self.values[substitution.variable_name]


@pytest.fixture
def launch_stand_ins(monkeypatch):
    """Install `launch` and `launch_ros` stand-ins; yield a loader of launch files."""
    actions = {name: type(name, (_Action,), {}) for name in (
        'DeclareLaunchArgument', 'OpaqueFunction', 'SetEnvironmentVariable')}
    modules = {
        'launch': types.SimpleNamespace(LaunchDescription=LaunchDescription),
        'launch.actions': types.SimpleNamespace(**actions),
        'launch.substitutions': types.SimpleNamespace(LaunchConfiguration=LaunchConfiguration),
        'launch_ros': types.SimpleNamespace(),
        'launch_ros.actions': types.SimpleNamespace(Node=type('Node', (_Action,), {})),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, 'dynofa_ros.launch_support', raising=False)
    importlib.import_module('dynofa_ros.launch_support')
    yield lambda name: runpy.run_path(os.path.join(REPO, 'launch', f'{name}.launch.py'))
    sys.modules.pop('dynofa_ros.launch_support', None)


def _run(description, **given):
    """Run a launch description's OpaqueFunction with its declared defaults plus given values."""
    declared = [e for e in description.entities if type(e).__name__ == 'DeclareLaunchArgument']
    values = {e.args[0]: e.kwargs['default_value'] for e in declared}
    values.update(given)
    opaque = [e for e in description.entities if type(e).__name__ == 'OpaqueFunction']
    assert len(opaque) == 1
    return opaque[0].kwargs['function'](Context(values))


def test_hardware_and_application_groups_partition_the_system():
    hardware = {s.name for s in bringup.group_nodes('hardware')}
    application = {s.name for s in bringup.group_nodes('application')}
    assert hardware == {'hardware'}
    assert not hardware & application
    assert hardware | application == {s.name for s in bringup.group_nodes('all')} == {
        s.name for s in bringup.SYSTEM_NODES}


@pytest.mark.parametrize('name, group', sorted(LAUNCH_FILES.items()))
def test_each_launch_file_starts_its_group_with_every_argument(launch_stand_ins, name, group):
    description = launch_stand_ins(name)['generate_launch_description']()
    declared = {e.args[0] for e in description.entities
                if type(e).__name__ == 'DeclareLaunchArgument'}
    assert declared == {a.name for a in bringup.LAUNCH_ARGUMENTS}
    nodes = _run(description, params_file=os.path.join(REPO, 'config', 'system.yaml'),
                 catalog='/data/profiled.yaml')
    assert [n.kwargs['name'] for n in nodes] == [s.name for s in bringup.group_nodes(group)]
    for node in nodes:
        overrides = node.kwargs['parameters'][1]
        if node.kwargs['name'] == 'perception':
            assert overrides['catalog'] == '/data/profiled.yaml'
        if node.kwargs['name'] == 'manager':  # catalog:= reaches the manager's app too
            assert '/data/profiled.yaml' in overrides.values()


def test_launch_files_refuse_a_parameter_file_that_a_namespace_would_drop(
        launch_stand_ins, tmp_path):
    plain = tmp_path / 'plain.yaml'
    plain.write_text(yaml.safe_dump({'hardware': {'ros__parameters': {'dry_run': True}}}))
    description = launch_stand_ins('hardware')['generate_launch_description']()
    with pytest.raises(RuntimeError, match='would drop'):
        _run(description, params_file=str(plain), namespace='robot1')
    assert _run(description, params_file=str(plain))  # without a namespace the key applies
