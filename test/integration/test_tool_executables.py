"""The installed tool executables: wrappers that run, and bad input refused with exit code 2."""

import subprocess

from dynofa_ros.tools import run_system
from support.ros import executable


def test_installed_profile_executable_exits_2_on_bad_input():
    proc = subprocess.run([executable('profile'), '--threads', 'x'], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and '--threads' in proc.stderr


def test_make_camera_bag_refuses_existing_output_and_bad_size(tmp_path):
    run = [executable('make_camera_bag'), str(tmp_path)]
    assert subprocess.run(run, capture_output=True).returncode == 2
    bad = subprocess.run([executable('make_camera_bag'), str(tmp_path / 'x'), '--size', 'big'],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and 'WIDTHxHEIGHT' in bad.stderr


# run_system finds the nodes in the install space, so this needs a build too.
def test_cli_refuses_bad_arguments_before_starting_anything(tmp_path, capsys):
    assert run_system.main([f'params_file:={tmp_path / "missing.yaml"}']) == 2
    assert 'not found' in capsys.readouterr().err
    params = tmp_path / 'p.yaml'
    params.write_text('manager:\n  ros__parameters: {}\n')
    assert run_system.main([f'params_file:={params}', '--node', 'manager',
                            '--set', 'perception:top_k:=3']) == 2
    assert 'not started' in capsys.readouterr().err
    assert run_system.main([f'params_file:={params}', 'chekpoint:=x']) == 2
    assert 'unknown launch arguments' in capsys.readouterr().err
    assert run_system.main([f'params_file:={params}', 'checkpoint=x']) == 2
    assert 'NAME:=VALUE' in capsys.readouterr().err
