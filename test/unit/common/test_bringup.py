"""Parameter files apply under any namespace; launch arguments reach every node using them."""

import os

from dynofa_ros.core.system import bringup
from dynofa_ros.tools import run_system
import pytest
from support import REPO

SYSTEM_YAML = os.path.join(REPO, 'config', 'system.yaml')
NODES = {'hardware', 'perception', 'manager'}


@pytest.mark.parametrize('given, expected', [
    ('', ''), ('robot1', '/robot1'), ('/robot1', '/robot1'), ('robot1/', '/robot1'),
    ('fleet/robot1', '/fleet/robot1'), ('/', ''),
])
def test_namespaces_are_made_absolute_like_ros2_launch(given, expected):
    assert bringup.absolute_namespace(given) == expected


@pytest.mark.parametrize('key, fqn, applies', [
    ('perception', '/perception', True),
    ('perception', '/robot1/perception', False),
    ('/**/perception', '/perception', True),
    ('/**/perception', '/robot1/perception', True),
    ('/**/perception', '/fleet/robot1/perception', True),
    ('/*/perception', '/perception', False),
    ('/*/perception', '/robot1/perception', True),
    ('/**', '/robot1/manager', True),
    ('/robot1/perception', '/robot1/perception', True),
    ('/robot2/perception', '/robot1/perception', False),
])
def test_keys_match_node_names_as_rclpy_does(key, fqn, applies):
    assert bringup.key_applies(key, fqn) is applies


@pytest.mark.parametrize('namespace', ['', 'robot1', '/fleet/robot1'])
def test_shipped_parameter_files_apply_in_any_namespace(namespace):
    for name in ('system', 'hardware', 'perception', 'manager'):
        path = os.path.join(REPO, 'config', f'{name}.yaml')
        assert bringup.params_file_problems(path, namespace, NODES) == []
    for node in NODES:
        assert bringup.file_parameters([SYSTEM_YAML], namespace, node), node


def test_sections_a_namespaced_node_would_drop_are_named(tmp_path):
    path = tmp_path / 'mine.yaml'
    path.write_text('perception:\n  ros__parameters: {app_id: cam}\n'
                    'robot2:\n  manager:\n    ros__parameters: {apps: [cam]}\n'
                    '/**:\n  ros__parameters: {use_sim_time: false}\n'
                    'camera_driver:\n  ros__parameters: {fps: 30}\n')
    problems = bringup.params_file_problems(str(path), 'robot1', NODES)
    assert len(problems) == 2
    assert "section 'perception' does not apply to node /robot1/perception" in problems[0]
    assert "'/**/perception'" in problems[0]
    assert "section 'robot2/manager' does not apply to node /robot1/manager" in problems[1]
    assert bringup.params_file_problems(str(path), '', {'perception'}) == []
    # run_system refuses to start nodes that would run on defaults.
    assert run_system.main([f'params_file:={path}', 'namespace:=robot1', '--node', 'perception',
                            '--prefix', str(tmp_path)]) == 2


def test_catalog_and_app_id_reach_the_manager_too():
    assert bringup.node_overrides({'catalog': '/c.yaml'}, [SYSTEM_YAML], '/r') == {
        'perception': {'catalog': '/c.yaml'}, 'manager': {'apps.cam.catalog': '/c.yaml'}}
    overrides = bringup.node_overrides({'app_id': 'cam2', 'catalog': '/c.yaml'},
                                       [SYSTEM_YAML], '/r')
    assert overrides['perception'] == {'app_id': 'cam2', 'catalog': '/c.yaml'}
    manager = overrides['manager']
    assert manager.pop('apps') == ['cam2']
    assert manager.pop('apps.cam2.catalog') == '/c.yaml'
    file_values = bringup.file_parameters([SYSTEM_YAML], '/r', 'manager')
    assert manager == {k.replace('apps.cam.', 'apps.cam2.'): v for k, v in file_values.items()
                       if k.startswith('apps.cam.') and not k.endswith('.catalog')}


def test_later_parameter_files_win(tmp_path):
    overlay = tmp_path / 'overlay.yaml'
    overlay.write_text('/**/perception:\n  ros__parameters: {app_id: front}\n'
                       '/**/manager:\n  ros__parameters: {apps: [front, rear]}\n')
    overrides = bringup.node_overrides({'app_id': 'left'}, [SYSTEM_YAML, str(overlay)])
    assert overrides['manager']['apps'] == ['left', 'rear']
    assert overrides['perception'] == {'app_id': 'left'}


def test_another_camera_application_is_configured_like_the_first():
    overrides = bringup.node_overrides({'catalog': '/c.yaml'}, [SYSTEM_YAML])
    spec = bringup.add_app(overrides, 'cam_b', '', [SYSTEM_YAML])
    assert spec == bringup.NodeSpec('perception_node', 'perception_cam_b')
    perception = bringup.file_parameters([SYSTEM_YAML], '', 'perception')
    assert overrides['perception_cam_b'] == dict(
        perception, app_id='cam_b', image_topic='cam_b/image_raw', catalog='/c.yaml')
    manager = overrides['manager']
    assert manager['apps'] == ['cam', 'cam_b']
    assert manager['apps.cam_b.catalog'] == '/c.yaml'
    assert manager['apps.cam_b.domains'] == ['cpu0']
    for bad in ('cam', 'cam_b', 'bad-id'):
        with pytest.raises(ValueError):
            bringup.add_app(overrides, bad, '', [SYSTEM_YAML])
