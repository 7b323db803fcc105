"""The profile tool on a tiny setup: latency and MACs written into the catalog; bad input."""

import os

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common.catalog import profile_key
from dynofa_ros.tools import profile
import pytest
from support import engine as lib
from support import REPO


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('profile') / 'w12.pth'
    lib.save_fresh_checkpoint(path, calibrate=False)
    return str(path)


def test_profile_writes_latency_and_macs_for_selected_subnets(tmp_path, checkpoint):
    path = lib.write_catalog(tmp_path, ids=('small', 'mid'))
    out = str(tmp_path / 'profiled.yaml')
    rc = profile.main(['--catalog', path, '--checkpoint', checkpoint, '--subnets', 'small',
                       '--threads', '1', '--warmup', '0', '--runs', '1', '--output', out])
    assert rc == 0
    profiled = catalog_mod.load(out)
    small, mid = profiled.get('small'), profiled.get('mid')
    latency = small.latency(profile_key('cpu'), 1)
    assert latency is not None and latency > 0
    assert 50 < small.macs_m < 500          # n7_0's architecture at 128 px
    assert mid.latency_ms == {} and mid.macs_m != mid.macs_m    # untouched (NaN)
    assert catalog_mod.load(path).get('small').latency_ms == {}    # --output left it alone


def test_profile_updates_the_catalog_in_place_and_keeps_other_keys(tmp_path):
    path = lib.write_catalog(tmp_path, ids=('small',))
    data = catalog_mod.load(path)
    data.subnets[0].latency_ms['gpu/board/published'] = {0: 12.5}
    data.save()
    assert profile.main(['--catalog', path, '--threads', '1,2', '--warmup', '0', '--runs', '1',
                         '--no-macs']) == 0
    small = catalog_mod.load(path).get('small')
    assert set(small.latency_ms[profile_key('cpu')]) == {1, 2}
    assert small.latency_ms['gpu/board/published'] == {0: 12.5}
    assert small.macs_m != small.macs_m


def test_profile_macs_only_measures_no_latency(tmp_path):
    path = lib.write_catalog(tmp_path, ids=('small', 'mid'))
    assert profile.main(['--catalog', path, '--macs-only']) == 0
    catalog = catalog_mod.load(path)
    assert all(s.macs_m > 0 and s.latency_ms == {} for s in catalog.subnets)
    assert catalog.get('small').macs_m < catalog.get('mid').macs_m
    assert open(path).readline().startswith('# Sub-network catalog')


@pytest.mark.parametrize('args, message', [
    (['--catalog', '/nonexistent/catalog.yaml'], 'catalog not found'),
    (['--threads', 'two'], 'not a comma-separated list'),
    (['--threads', '0'], 'integers >= 1'),
    (['--runs', '0'], '--runs >= 1'),
    (['--subnets', 'nope'], "unknown sub-network 'nope'"),
    (['--checkpoint', '/nonexistent/w12.pth'], 'checkpoint not found'),
    (['--device', 'cuda'], 'CUDA is not available'),
    (['--macs-only', '--no-macs'], 'exclude each other'),
])
def test_profile_rejects_bad_input_with_exit_code_2(tmp_path, capsys, args, message):
    path = lib.write_catalog(tmp_path, ids=('small',))
    before = open(path).read()
    argv = ['--catalog', path, '--warmup', '0', '--runs', '1'] + args
    assert profile.main(argv) == 2
    assert message in capsys.readouterr().err
    assert open(path).read() == before


def test_profile_rejects_wrong_checkpoint(tmp_path, capsys):
    path = lib.write_catalog(tmp_path, ids=('small',))
    (tmp_path / 'bad.pth').write_bytes(b'garbage')
    assert profile.main(['--catalog', path, '--checkpoint', str(tmp_path / 'bad.pth')]) == 2
    assert 'bad.pth is not a readable torch file' in capsys.readouterr().err


def _shipped_state():
    path = os.path.join(REPO, catalog_mod.DEFAULT_CATALOG)
    with open(path, 'rb') as f:
        return path, f.read(), os.stat(path).st_mtime_ns


def test_profile_never_edits_the_shipped_catalog(tmp_path, monkeypatch, capsys):
    """The tracked catalog stays as it is; the profiled copy goes to $ROS_HOME/dynofa_ros/."""
    monkeypatch.setenv('ROS_HOME', str(tmp_path / 'ros_home'))
    monkeypatch.chdir(REPO)  # from the repo root, config/... names the tracked file
    shipped, before, mtime = _shipped_state()
    subnet = catalog_mod.load(shipped).subnets[0].id
    argv = ['--catalog', catalog_mod.DEFAULT_CATALOG, '--subnets', subnet, '--macs-only']
    assert profile.main(argv) == 0
    out = tmp_path / 'ros_home' / 'dynofa_ros' / os.path.basename(shipped)
    assert f'catalog:={out}' in capsys.readouterr().out
    assert catalog_mod.load(str(out)).get(subnet).macs_m > 0
    # A second run does not overwrite the first one's result without being asked to.
    assert profile.main(argv) == 2
    assert f'update it with --catalog {out}' in capsys.readouterr().err
    assert profile.main(['--catalog', str(out), '--subnets', subnet, '--macs-only']) == 0
    # --output naming a shipped file is refused before any work.
    assert profile.main(argv + ['--output', shipped]) == 2
    assert 'will not write catalog' in capsys.readouterr().err
    assert _shipped_state() == (shipped, before, mtime)


def test_profile_measures_each_backend_under_its_own_key(tmp_path, checkpoint):
    pytest.importorskip('onnxruntime')
    path = lib.write_catalog(tmp_path, ids=('small',))
    assert profile.main(['--catalog', path, '--checkpoint', checkpoint, '--threads', '1',
                         '--warmup', '1', '--runs', '3', '--no-macs',
                         '--backend', 'torch,onnxruntime']) == 0
    small = catalog_mod.load(path).get('small')
    torch_key, ort_key = profile_key('cpu', 'torch'), profile_key('cpu', 'onnxruntime')
    assert ort_key == torch_key + '@onnxruntime'
    assert set(small.latency_ms) == {torch_key, ort_key}
    assert small.latency(ort_key, 1) > 0 and small.latency(torch_key, 1) > 0
    assert small.latency(ort_key, 1) != small.latency(torch_key, 1)
    assert profile.main(['--catalog', path, '--backend', 'tensorflow']) == 2
