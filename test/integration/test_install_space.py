"""The package builds and installs what a robot needs, and its interfaces import everywhere."""

import os
import subprocess
import sys

from support.ros import install_prefix, REPO

MESSAGES = ('Classification', 'DomainState', 'DvfsAck', 'DvfsCapabilities', 'DvfsCommand',
            'DvfsDomainLimits', 'LabelInfo', 'MappingCommand', 'MissionTarget',
            'ObjectHypothesis', 'PerceptionStats', 'PowerState', 'RailPower', 'SubnetCommand',
            'SystemState', 'ThermalZone', 'VisionClass', 'VisionClassification')


def _python(code, cwd, env=None):
    return subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env or os.environ.copy(),
                          capture_output=True, text=True, timeout=60)


def test_install_space_holds_executables_launch_and_config():
    prefix = install_prefix()
    lib = os.path.join(prefix, 'lib', 'dynofa_ros')
    for exe in ('perception_node', 'manager_node', 'hardware_node', 'run_system', 'param',
                'topic'):
        assert os.access(os.path.join(lib, exe), os.X_OK), exe
    share = os.path.join(prefix, 'share', 'dynofa_ros')
    for launch_file in ('dynofa', 'hardware', 'application'):
        assert os.path.isfile(os.path.join(share, 'launch', f'{launch_file}.launch.py'))
    assert os.path.isfile(os.path.join(share, 'config', 'udev', '99-dynofa-dvfs.rules'))
    assert os.path.isfile(os.path.join(share, 'config', 'systemd', 'dynofa-hardware.service'))
    assert os.path.isfile(
        os.path.join(share, 'config', 'catalogs', 'ofa_mbv3_w12_dynamic_ofa.yaml'))
    assert os.path.isfile(os.path.join(share, 'package.xml'))
    for name in MESSAGES:
        assert os.path.isfile(os.path.join(share, 'msg', name + '.msg')), name


def test_messages_import_from_install_space_and_repository_root(tmp_path):
    code = ('from dynofa_ros.msg import ' + ', '.join(MESSAGES) + '\n'
            'import dynofa_ros.core.common.catalog, dynofa_ros.msg\n'
            'print(SubnetCommand().subnet_index, dynofa_ros.msg.__file__)')
    from_install = _python(code, cwd=str(tmp_path))
    assert from_install.returncode == 0, from_install.stderr
    assert from_install.stdout.split()[1].startswith(install_prefix())
    from_repo = _python(code, cwd=REPO)
    assert from_repo.returncode == 0, from_repo.stderr
    # From the repository root the hand-written modules come from the source tree.
    where = _python('import dynofa_ros.core.common.catalog as c; print(c.__file__)', cwd=REPO)
    assert where.stdout.strip().startswith(os.path.join(REPO, 'dynofa_ros'))


def test_no_generated_msg_package_in_the_source_tree():
    assert not os.path.exists(os.path.join(REPO, 'dynofa_ros', 'msg'))
