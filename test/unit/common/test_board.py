"""The board name diagnostics use as hardware_id, read from a fake root on disk."""

import platform

from dynofa_ros.core.system.board import board_model


def test_device_tree_model_wins_and_its_trailing_nul_is_dropped(tmp_path):
    (tmp_path / 'proc/device-tree').mkdir(parents=True)
    (tmp_path / 'proc/device-tree/model').write_bytes(b'NVIDIA Jetson Xavier NX Developer Kit\0')
    (tmp_path / 'sys/class/dmi/id').mkdir(parents=True)
    (tmp_path / 'sys/class/dmi/id/product_name').write_text('ignored\n')
    assert board_model(str(tmp_path)) == 'NVIDIA Jetson Xavier NX Developer Kit'


def test_dmi_vendor_and_product_on_a_pc(tmp_path):
    dmi = tmp_path / 'sys/class/dmi/id'
    dmi.mkdir(parents=True)
    (dmi / 'sys_vendor').write_text('LENOVO\n')
    (dmi / 'product_name').write_text('ThinkPad T14\n')
    assert board_model(str(tmp_path)) == 'LENOVO ThinkPad T14'


def test_without_either_the_architecture_says_it_is_unknown(tmp_path):
    assert board_model(str(tmp_path)) == f'unknown {platform.machine()} machine'
