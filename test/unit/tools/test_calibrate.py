"""The calibrate tool on a tiny setup: a BN statistics file the engine uses; bad input."""

import os

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.perception.bn_stats import BnStatsFile
from dynofa_ros.core.perception.engine import DynamicOfaEngine
from dynofa_ros.tools import calibrate
import pytest
from support import engine as lib
from support import REPO
import torch


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('calibrate')
    checkpoint = str(tmp / 'w12.pth')
    lib.save_fresh_checkpoint(checkpoint)
    return {'checkpoint': checkpoint, 'images': lib.write_photos(tmp / 'images', 3)}


def test_calibrate_writes_stats_next_to_the_catalog_and_names_them(tmp_path, env):
    path = lib.write_catalog(tmp_path, ids=('small', 'mid'))
    rc = calibrate.main(['--catalog', path, '--checkpoint', env['checkpoint'],
                         '--images', env['images'], '--max-images', '2', '--batch-size', '1'])
    assert rc == 0
    catalog = catalog_mod.load(path)
    assert catalog.bn_stats == 'tiny.bn.pt'
    assert catalog.bn_stats_path() == os.path.join(str(tmp_path), 'tiny.bn.pt')
    stats = BnStatsFile.load(catalog.bn_stats_path())
    assert stats.images == 2 and sorted(stats.subnets) == ['mid', 'small']
    assert stats.subnets['small']['arch'] == catalog.get('small').arch.as_dict()
    small = stats.subnets['small']['bn']['first_conv.bn']
    mid = stats.subnets['mid']['bn']['first_conv.bn']
    assert not torch.equal(small[0], mid[0])        # each at its own resolution
    engine = DynamicOfaEngine(catalog, checkpoint=env['checkpoint'], cache_budget_mb=0)
    try:
        assert engine.has_bn_stats == ['mid', 'small']
        assert engine.infer(lib.photos()[0]).probs.shape == (1000,)
    finally:
        engine.close()


def test_calibrating_some_subnets_keeps_the_others(tmp_path, env):
    path = lib.write_catalog(tmp_path, ids=('small', 'mid'))
    common = ['--catalog', path, '--images', env['images'], '--max-images', '1']
    assert calibrate.main(common + ['--subnets', 'small']) == 0
    first = BnStatsFile.load(str(tmp_path / 'tiny.bn.pt')).subnets['small']['bn']
    assert calibrate.main(common + ['--subnets', 'mid', '--output',
                                    str(tmp_path / 'tiny.bn.pt')]) == 0
    both = BnStatsFile.load(str(tmp_path / 'tiny.bn.pt'))
    assert sorted(both.subnets) == ['mid', 'small']
    torch.testing.assert_close(both.subnets['small']['bn']['first_conv.bn'][0],
                               first['first_conv.bn'][0])


@pytest.mark.parametrize('args, message', [
    (['--images', '/nonexistent/images'], 'image folder /nonexistent/images not found'),
    (['--images', 'EMPTY'], 'no readable images'),
    (['--images', 'IMAGES', '--subnets', 'nope'], "unknown sub-network 'nope'"),
    (['--images', 'IMAGES', '--batch-size', '0'], '--batch-size >= 1'),
    (['--images', 'IMAGES', '--checkpoint', '/nonexistent/x.pth'], 'checkpoint not found'),
    (['--images', 'IMAGES', '--catalog', '/nonexistent/c.yaml'], 'catalog not found'),
    ([], '--images'),
])
def test_calibrate_rejects_bad_input_with_exit_code_2(tmp_path, env, capsys, args, message):
    path = lib.write_catalog(tmp_path, ids=('small',))
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'broken.png').write_bytes(b'not a png')
    args = [{'EMPTY': str(empty), 'IMAGES': env['images']}.get(a, a) for a in args]
    before = open(path).read()
    assert calibrate.main(['--catalog', path] + args) == 2
    assert message in capsys.readouterr().err
    assert open(path).read() == before
    assert not os.path.exists(str(tmp_path / 'tiny.bn.pt'))


def test_calibrate_never_edits_the_shipped_catalog(tmp_path, env, monkeypatch, capsys):
    monkeypatch.setenv('ROS_HOME', str(tmp_path / 'ros_home'))
    shipped = os.path.join(REPO, catalog_mod.DEFAULT_CATALOG)
    with open(shipped, 'rb') as f:
        before = f.read()
    subnet = catalog_mod.load(shipped).subnets[0].id
    argv = ['--catalog', shipped, '--subnets', subnet, '--checkpoint', env['checkpoint'],
            '--images', env['images'], '--max-images', '1', '--batch-size', '1']
    assert calibrate.main(argv) == 0
    folder = tmp_path / 'ros_home' / 'dynofa_ros'
    copy = catalog_mod.load(str(folder / os.path.basename(shipped)))
    assert copy.bn_stats_path() == str(folder / 'ofa_mbv3_w12_dynamic_ofa.bn.pt')
    assert sorted(BnStatsFile.load(copy.bn_stats_path()).subnets) == [subnet]
    assert 'use it with catalog:=' in capsys.readouterr().out
    assert calibrate.main(argv + ['--output', os.path.join(os.path.dirname(shipped),
                                                           'x.bn.pt')]) == 2
    with open(shipped, 'rb') as f:
        assert f.read() == before
    assert not os.path.exists(os.path.join(os.path.dirname(shipped), 'x.bn.pt'))
