"""The export tool: the catalog's sub-networks into the ONNX cache, reused on a second run."""

import os

from dynofa_ros.tools import export
import pytest
from support import engine as lib

pytest.importorskip('onnxruntime')


def test_export_builds_each_subnet_once_and_checks_it(tmp_path, capsys):
    checkpoint = str(tmp_path / 'w12.pth')
    lib.save_fresh_checkpoint(checkpoint, calibrate=False)
    catalog = lib.write_catalog(tmp_path, ids=('small', 'mid'))
    cache = str(tmp_path / 'onnx')
    args = ['--catalog', catalog, '--checkpoint', checkpoint, '--cache-dir', cache]
    assert export.main(args + ['--check']) == 0
    out = capsys.readouterr().out
    assert out.count('exported') == 2 and 'max |diff|' in out
    files = sorted(os.listdir(os.path.join(cache, lib.SUPERNET)))
    assert len(files) == 2 and all(f.endswith('.onnx') for f in files)
    assert export.main(args + ['--subnets', 'small']) == 0
    assert 'kept' in capsys.readouterr().out
    assert sorted(os.listdir(os.path.join(cache, lib.SUPERNET))) == files


@pytest.mark.parametrize('args, message', [
    (['--catalog', '/nonexistent.yaml'], 'catalog not found'),
    (['--subnets', 'nope'], "unknown sub-network 'nope'"),
    (['--checkpoint', '/nonexistent/w12.pth'], 'checkpoint not found'),
])
def test_export_refuses_bad_input(tmp_path, capsys, args, message):
    if '--catalog' not in args:
        args = ['--catalog', lib.write_catalog(tmp_path, ids=('small',))] + args
    assert export.main(args + ['--cache-dir', str(tmp_path / 'c')]) == 2
    assert message in capsys.readouterr().err
