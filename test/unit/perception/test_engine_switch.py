"""Switching and task mapping: applied at frame boundaries, refused when invalid."""

import errno
import os
import threading

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.perception import labels
from dynofa_ros.core.perception.engine import DynamicOfaEngine, MappingError
import numpy as np
import pytest
from support import engine as lib
import torch


@pytest.fixture(scope='module')
def engine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('switch')
    checkpoint = tmp / 'w12.pth'
    lib.save_fresh_checkpoint(checkpoint, seed=1)
    catalog = catalog_mod.load(lib.write_catalog(tmp, ids=('small', 'mid')))
    engine = DynamicOfaEngine(catalog, checkpoint=str(checkpoint), initial_subnet='small',
                              cache_budget_mb=0)
    yield engine
    engine.close()


@pytest.fixture(scope='module')
def image():
    return lib.photos()[0]


def run_to(engine, image, subnet_id):
    engine.request_switch(subnet_id)
    return engine.infer(image)


def test_unknown_subnet_is_refused_and_nothing_changes(engine, image):
    run_to(engine, image, 'small')
    before = engine.infer(image)
    with pytest.raises(KeyError, match=r"unknown sub-network 'nope'.*'small', 'mid'"):
        engine.request_switch('nope')
    after = engine.infer(image)
    assert after.subnet.id == 'small' and not after.switched
    np.testing.assert_array_equal(after.probs, before.probs)


def test_bad_frames_are_refused_and_keep_a_pending_switch(engine, image):
    run_to(engine, image, 'small')
    engine.request_switch('mid')
    for bad in (image[:, :, 0], image.astype(np.float32), np.zeros((0, 4, 3), np.uint8)):
        with pytest.raises(ValueError, match='HxWx3|uint8'):
            engine.infer(bad)
    assert engine.active.id == 'small'
    result = engine.infer(image)
    assert result.subnet.id == 'mid' and result.switched


def test_switch_is_reported_once_and_changes_the_resolution(engine, image):
    run_to(engine, image, 'small')
    assert engine.request_switch('mid').id == 'mid'
    assert engine.active.id == 'small'      # nothing happens before the next frame
    first, second = engine.infer(image), engine.infer(image)
    assert (first.subnet.id, first.switched) == ('mid', True)
    assert (second.subnet.id, second.switched) == ('mid', False)
    assert first.path == 'dynamic'          # budget 0: never cached
    assert first.inference_ms > 0 and first.preprocess_ms > 0


def test_switch_requested_during_inference_waits_for_the_next_frame(engine, image):
    reference = run_to(engine, image, 'small')
    started, proceed, results = threading.Event(), threading.Event(), []

    def hold_first_forward(module, inputs):
        if not started.is_set():
            started.set()
            assert proceed.wait(30)

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hold_first_forward)
    try:
        worker = threading.Thread(target=lambda: results.append(engine.infer(image)))
        worker.start()
        assert started.wait(30)
        engine.request_switch('mid')        # while the forward pass is held mid-way
        proceed.set()
        worker.join(30)
    finally:
        handle.remove()
    held = results[0]
    assert held.subnet.id == 'small' and not held.switched
    np.testing.assert_allclose(held.probs, reference.probs, rtol=1e-5, atol=1e-7)
    following = engine.infer(image)
    assert following.subnet.id == 'mid' and following.switched


def test_invalid_mapping_is_refused_and_nothing_changes(engine, image):
    before = (engine.device, engine.num_threads, engine.cpu_affinity)
    cases = [({'device': 'cuda'}, 'CUDA is not available'),
             ({'device': 'tpu'}, "not 'cpu', 'cuda'"),
             ({'num_threads': -1}, 'outside'),
             ({'num_threads': (os.cpu_count() or 1) + 1}, 'outside'),
             ({'cpu_affinity': [4096]}, r'cores \[4096\] are not available')]
    for kwargs, reason in cases:
        with pytest.raises(MappingError, match=reason):
            engine.set_mapping(**kwargs)
        with pytest.raises(ValueError):
            engine.set_mapping(**kwargs)
    engine.infer(image)
    assert (engine.device, engine.num_threads, engine.cpu_affinity) == before


def test_mapping_is_applied_on_the_worker_at_the_next_frame(engine, image):
    original_affinity = os.sched_getaffinity(0)
    seen = {}

    def worker():
        torch.set_num_threads(2)
        engine.set_mapping(num_threads=1, cpu_affinity=[min(original_affinity)])
        seen['before'] = torch.get_num_threads()
        engine.infer(image)
        seen['after'] = torch.get_num_threads()
        seen['affinity'] = os.sched_getaffinity(0)

    try:
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(60)
        assert seen['before'] == 2 and seen['after'] == 1
        assert seen['affinity'] == {min(original_affinity)}
        assert os.sched_getaffinity(0) == {min(original_affinity)}     # the whole process
        assert engine.num_threads == 1 and engine.cpu_affinity == (min(original_affinity),)
    finally:
        engine.set_mapping(num_threads=0, cpu_affinity=[])
        engine.infer(image)
    assert os.sched_getaffinity(0) == original_affinity


def _refuse_one_thread(monkeypatch, nth):
    """Make the kernel refuse the nth sched_setaffinity call with EPERM; return the calls."""
    real, calls = os.sched_setaffinity, []

    def setaffinity(tid, cores):
        calls.append(tid)
        if len(calls) == nth:
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        real(tid, cores)

    monkeypatch.setattr(os, 'sched_setaffinity', setaffinity)
    return calls


def _affinities():
    return {int(t): os.sched_getaffinity(int(t)) for t in os.listdir('/proc/self/task')}


def test_affinity_the_kernel_refuses_is_a_refused_mapping_and_nothing_changes(
        engine, image, monkeypatch):
    engine.infer(image)
    before = (engine.device, engine.num_threads, engine.cpu_affinity)
    parked = threading.Event()
    other = threading.Thread(target=parked.wait)    # a second thread, so one gets pinned first
    other.start()
    try:
        threads = _affinities()
        calls = _refuse_one_thread(monkeypatch, nth=2)
        with pytest.raises(MappingError, match=r'refused by the kernel .*Operation not permitted'):
            engine.set_mapping(num_threads=1, cpu_affinity=[min(os.sched_getaffinity(0))])
        monkeypatch.undo()
        assert len(calls) >= 3          # the first thread was pinned, then put back
        assert {t: a for t, a in _affinities().items() if t in threads} == threads
    finally:
        parked.set()
        other.join()
    engine.infer(image)
    assert (engine.device, engine.num_threads, engine.cpu_affinity) == before


def test_engine_refuses_to_start_with_an_affinity_the_kernel_refuses(tmp_path, monkeypatch):
    catalog = catalog_mod.load(lib.write_catalog(tmp_path, ids=('small',)))
    _refuse_one_thread(monkeypatch, nth=1)
    with pytest.raises(MappingError, match='refused by the kernel'):
        DynamicOfaEngine(catalog, cpu_affinity=[min(os.sched_getaffinity(0))])


def test_labels_and_top_k():
    assert len(labels.IMAGENET_LABELS) == 1000
    assert labels.IMAGENET_LABELS[0] == 'tench'
    probs = np.zeros(1000, dtype=np.float32)
    probs[[281, 7, 999]] = [0.5, 0.3, 0.2]
    ids, names, scores = labels.top_k(probs, 2)
    assert ids == [281, 7] and names[0] == labels.IMAGENET_LABELS[281]
    assert scores == pytest.approx([0.5, 0.3])
    with pytest.raises(ValueError, match='1000 probabilities'):
        labels.top_k(np.ones(10), 3)
