"""
The whole system started by `run_system` under a namespace, with launch arguments.

Every node must get the values of config/system.yaml (its /**/<node> keys apply in any
namespace), `namespace:=robot1` without a leading slash must work as in ros2 launch, and the
launch arguments must reach every node that uses them: catalog:= the perception node and the
manager's latency model, app_id:= the perception node and the manager's apps.
"""

import os
import signal
import subprocess

from dynofa_ros.core.system import bringup
from dynofa_ros.msg import PerceptionStats
from support import REPO
from support.hardware import remove_tree, world_readable_tree
from support.perception import write_small_catalog
from support.ros import executable
import yaml

NS = '/robot1'
OVERRIDDEN = {('hardware', 'sysfs_root'), ('perception', 'catalog'), ('perception', 'app_id'),
              ('manager', 'apps')}


def _file_values(node):
    with open(os.path.join(REPO, 'config', 'system.yaml')) as f:
        return yaml.safe_load(f)[bringup.section_key(node)]['ros__parameters']


def test_namespaced_system_gets_its_file_and_launch_arguments(ros_probe, tmp_path):
    tree = world_readable_tree('jetson_xavier_nx')
    catalog = write_small_catalog(tmp_path)
    log = open(tmp_path / 'run_system.log', 'w')
    proc = subprocess.Popen(
        [executable('run_system'), 'namespace:=robot1', f'sysfs_root:={tree.root}',
         f'catalog:={catalog}', 'app_id:=cam2', '--app', 'cam_b=camera_b/image_raw'],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def output():
        if not log.closed:
            log.flush()
        return (tmp_path / 'run_system.log').read_text()

    try:
        for node in ('hardware', 'perception', 'manager'):
            values = {k: v for k, v in _file_values(node).items()
                      if (node, k) not in OVERRIDDEN and not k.startswith('apps.cam.')}
            try:
                got = ros_probe.get_parameters(f'{NS}/{node}', list(values), timeout=120)
            except TimeoutError:
                raise AssertionError(f'{NS}/{node} not up:\n{output()[-4000:]}')
            assert dict(zip(values, got)) == values, node

        assert ros_probe.get_parameters(f'{NS}/hardware', ['sysfs_root']) == [tree.root]
        assert ros_probe.get_parameters(f'{NS}/perception', ['catalog', 'app_id']) == [
            catalog, 'cam2']
        # The manager manages cam2 (not cam) with cam's file settings and the new catalog.
        cam = {k[len('apps.cam.'):]: v for k, v in _file_values('manager').items()
               if k.startswith('apps.cam.')}
        names = ['apps'] + [f'apps.cam2.{k}' for k in cam]
        got = dict(zip(names, ros_probe.get_parameters(f'{NS}/manager', names)))
        assert got.pop('apps') == ['cam2', 'cam_b']
        assert got.pop('apps.cam2.catalog') == catalog
        assert got == {f'apps.cam2.{k}': v for k, v in cam.items() if k != 'catalog'}
        # --app: a second camera application, configured like the first, managed too.
        names = [f'apps.cam_b.{k}' for k in cam]
        got = dict(zip(cam, ros_probe.get_parameters(f'{NS}/manager', names)))
        assert got == dict(cam, catalog=catalog)
        values = _file_values('perception')
        names = sorted(values)
        second = dict(zip(names, ros_probe.get_parameters(f'{NS}/perception_cam_b', names)))
        assert second == dict(values, app_id='cam_b', image_topic='camera_b/image_raw',
                              catalog=catalog)

        # Stats of an application the manager does not manage are reported, once.
        pub = ros_probe.publisher(PerceptionStats, f'{NS}/perception_stats')
        ros_probe.wait_for_subscribers(pub, timeout=30)
        line = "perception stats from application 'ghost', which this manager does not manage"
        ros_probe.wait_until(lambda: pub.publish(PerceptionStats(app_id='ghost')) or
                             line in output(), timeout=30, what=lambda: output()[-3000:])
        assert proc.poll() is None, output()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(60)
        log.close()
        remove_tree(tree)
    assert output().count(line) == 1
