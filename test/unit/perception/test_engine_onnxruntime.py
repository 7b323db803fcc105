"""The onnxruntime backend: export cache, sessions in the LRU, switching, providers, warm-up."""

import logging
import os

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.perception import onnx_backend
from dynofa_ros.core.perception.engine import DynamicOfaEngine, MappingError
import numpy as np
import pytest
from support import engine as lib

pytest.importorskip('onnxruntime', reason='onnxruntime is a pinned requirement')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Write a checkpoint, a two-entry catalog and BN statistics calibrated on two photos."""
    tmp = tmp_path_factory.mktemp('ort')
    checkpoint, supernet, catalog, stats, photos = lib.calibrated_catalog(tmp, seed=3)
    return {'tmp': tmp, 'checkpoint': checkpoint, 'catalog': catalog, 'image': photos[0],
            'cache': str(tmp / 'onnx')}


def make(setup, backend='onnxruntime', **kwargs):
    kwargs.setdefault('checkpoint', setup['checkpoint'])
    kwargs.setdefault('initial_subnet', 'small')
    kwargs.setdefault('onnx_cache_dir', setup['cache'])
    kwargs.setdefault('num_threads', 1)
    return DynamicOfaEngine(setup['catalog'], backend=backend, **kwargs)


def test_sessions_match_torch_and_replace_the_dynamic_path_once_ready(setup):
    image = setup['image']
    ort_engine, torch_engine = make(setup), make(setup, backend='torch')
    try:
        first = ort_engine.infer(image)
        assert ort_engine.wait_cache_idle(120) and torch_engine.wait_cache_idle(120)
        for subnet_id in ('small', 'mid', 'small'):
            ort_engine.request_switch(subnet_id)
            torch_engine.request_switch(subnet_id)
            assert ort_engine.wait_cache_idle(120) and torch_engine.wait_cache_idle(120)
            fast, ref = ort_engine.infer(image), torch_engine.infer(image)
            assert (fast.path, fast.backend) == ('cached', 'onnxruntime')
            assert (ref.path, ref.backend) == ('cached', 'torch')
            assert fast.subnet.id == ref.subnet.id == subnet_id
            np.testing.assert_allclose(fast.probs, ref.probs, rtol=1e-4, atol=1e-6)
            assert list(np.argsort(-fast.probs)[:5]) == list(np.argsort(-ref.probs)[:5])
        # Before its session existed, the first frame ran on the torch supernet.
        assert (first.path, first.backend) == ('dynamic', 'torch')
        assert sorted(ort_engine.cache_info()['keys']) == ['mid', 'small']
    finally:
        ort_engine.close()
        torch_engine.close()


def test_exports_are_cached_on_disk_under_weights_arch_and_bn_statistics(setup, tmp_path):
    cache = str(tmp_path / 'onnx')
    engine = make(setup, onnx_cache_dir=cache, cache_budget_mb=0)
    try:
        small = engine.onnx_file('small')
        mid = engine.onnx_file('mid')
        assert os.path.isfile(small) and os.path.isfile(mid) and small != mid
        inode = os.stat(small).st_ino
    finally:
        engine.close()
    again = make(setup, onnx_cache_dir=cache, cache_budget_mb=0)      # a restart
    try:
        assert again.onnx_file('small') == small
        assert os.stat(small).st_ino == inode      # reused, not exported again
    finally:
        again.close()
    # Other weights, or the checkpoint's BN statistics instead of calibrated ones: other keys.
    other_ckpt = str(tmp_path / 'other.pth')
    lib.save_fresh_checkpoint(other_ckpt, seed=4)
    plain = catalog_mod.load(lib.write_catalog(tmp_path, ids=('small', 'mid')))
    for engine in (make(setup, onnx_cache_dir=cache, cache_budget_mb=0, checkpoint=other_ckpt),
                   DynamicOfaEngine(plain, checkpoint=setup['checkpoint'], backend='onnxruntime',
                                    onnx_cache_dir=cache, cache_budget_mb=0)):
        try:
            assert engine.onnx_file_path('small') != small
        finally:
            engine.close()


def test_a_switch_to_a_ready_session_happens_at_the_next_frame(setup):
    image = setup['image']
    engine = make(setup)
    try:
        engine.request_switch('mid')
        assert engine.wait_cache_idle(120)
        result = engine.infer(image)
        assert result.switched and result.subnet.id == 'mid'
        assert (result.path, result.backend) == ('cached', 'onnxruntime')
    finally:
        engine.close()


def test_sessions_are_warmed_up_and_held_in_the_memory_bounded_lru(setup):
    engine = make(setup)
    try:
        assert engine.wait_cache_idle(120)
        session = engine._cache.get('small', 'cpu', 1)
        assert isinstance(session, onnx_backend.OnnxSubnet)
        assert session.warmup_s > 0 and session.providers == ['CPUExecutionProvider']
        assert session.nbytes == os.path.getsize(session.path)
    finally:
        engine.close()
    size = os.path.getsize(engine.onnx_file_path('small'))
    tight = make(setup, cache_budget_mb=(size * 1.5) / 2**20)
    try:
        assert tight.wait_cache_idle(120)
        tight.request_switch('mid')
        tight.infer(setup['image'])
        assert tight.wait_cache_idle(120)
        info = tight.cache_info()
        assert info['keys'] == ['mid'] and info['evictions'] == 1
        assert info['used_mb'] <= info['budget_mb']
    finally:
        tight.close()


def test_a_thread_count_change_keeps_the_old_session_until_the_new_one_is_ready(setup):
    image = setup['image']
    engine = make(setup)
    try:
        assert engine.wait_cache_idle(120)
        engine.set_mapping(num_threads=2)
        result = engine.infer(image)    # the 2-thread session is not built yet
        assert (result.path, result.backend) == ('cached', 'onnxruntime')
        assert engine.wait_cache_idle(120)
        assert engine._cache.get('small', 'cpu', 2).num_threads == 2
    finally:
        engine.close()


def test_unknown_backends_and_missing_providers_are_refused_with_the_providers_present(setup):
    with pytest.raises(onnx_backend.OnnxBackendError, match='tensorflow'):
        make(setup, backend='tensorflow')
    with pytest.raises(onnx_backend.OnnxBackendError, match=r"only \['CPUExecutionProvider'\]"):
        onnx_backend.providers_for('cuda:0', '/tmp', present=['CPUExecutionProvider'])
    engine = make(setup, cache_budget_mb=0)
    try:
        with pytest.raises(MappingError):
            engine.set_mapping(device='cuda')   # torch has no CUDA here either
        assert engine.device == 'cpu'
    finally:
        engine.close()


def test_tensorrt_comes_first_with_its_engine_cache_when_present():
    chosen = onnx_backend.providers_for(
        'cuda:1', '/cache', present=['TensorrtExecutionProvider', 'CUDAExecutionProvider',
                                     'CPUExecutionProvider'])
    assert [p for p, _ in chosen] == ['TensorrtExecutionProvider', 'CUDAExecutionProvider',
                                      'CPUExecutionProvider']
    trt = chosen[0][1]
    assert trt['trt_engine_cache_enable'] == 'True' and trt['device_id'] == '1'
    assert trt['trt_engine_cache_path'] == '/cache/tensorrt'
    cuda_only = onnx_backend.providers_for('cuda', '/cache', present=[
        'CUDAExecutionProvider', 'CPUExecutionProvider'])
    assert [p for p, _ in cuda_only] == ['CUDAExecutionProvider', 'CPUExecutionProvider']


def test_auto_picks_onnxruntime_when_installed(monkeypatch):
    assert onnx_backend.resolve_backend('auto') == 'onnxruntime'
    monkeypatch.setattr(onnx_backend, 'available', lambda: False)
    assert onnx_backend.resolve_backend('auto') == 'torch'
    with pytest.raises(onnx_backend.OnnxBackendError, match='not installed'):
        onnx_backend.resolve_backend('onnxruntime')


def test_failed_session_builds_are_reported_and_the_torch_path_keeps_running(
        setup, caplog, tmp_path):
    blocker = tmp_path / 'not_a_dir'
    blocker.write_text('a file where the cache directory should be')
    with caplog.at_level(logging.ERROR):
        engine = make(setup, onnx_cache_dir=str(blocker))
        try:
            assert engine.wait_cache_idle(120)
            result = engine.infer(setup['image'])
            assert (result.path, result.backend) == ('dynamic', 'torch')
        finally:
            engine.close()
    assert 'ONNX Runtime session of small' in caplog.text


def test_the_disk_cache_keeps_the_most_recently_used_exports(tmp_path):
    for i in range(5):
        path = tmp_path / f'n{i}.onnx'
        path.write_bytes(b'x')
        os.utime(path, (1000 + i, 1000 + i))
    onnx_backend.touch(str(tmp_path / 'n0.onnx'))      # used now
    removed = onnx_backend.prune(str(tmp_path), keep=3)
    assert sorted(os.path.basename(p) for p in removed) == ['n1.onnx', 'n2.onnx']
    assert sorted(os.listdir(tmp_path)) == ['n0.onnx', 'n3.onnx', 'n4.onnx']


def test_random_weights_export_to_a_temporary_directory_removed_on_close(setup):
    engine = DynamicOfaEngine(setup['catalog'], backend='onnxruntime', initial_subnet='small',
                              num_threads=1)
    try:
        assert engine.wait_cache_idle(120)
        directory = engine.onnx_cache_dir
        assert os.path.isfile(engine.onnx_file_path('small'))
        assert not directory.startswith(onnx_backend.default_cache_dir())
    finally:
        engine.close()
    assert not os.path.exists(directory)
