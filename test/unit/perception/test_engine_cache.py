"""Per-sub-network BN statistics and the cache of extracted static sub-networks."""

import logging
import threading

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.perception.bn_stats import BnStatsFile
from dynofa_ros.core.perception.engine import DynamicOfaEngine, EngineError
from dynofa_ros.core.perception.subnet_cache import SubnetCache
from dynofa_ros.core.perception.supernet import extract, module_bytes
import numpy as np
import pytest
from support import engine as lib
import torch


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Write a checkpoint, a two-entry catalog and BN statistics calibrated on two photos."""
    tmp = tmp_path_factory.mktemp('cache')
    checkpoint, supernet, catalog, stats, photos = lib.calibrated_catalog(tmp, seed=2)
    sizes = {s.id: module_bytes(extract(supernet, s.arch)) for s in catalog.subnets}
    return {'tmp': tmp, 'checkpoint': checkpoint, 'catalog': catalog, 'stats': stats,
            'sizes': sizes, 'image': photos[0]}


def make_engine(setup, **kwargs):
    kwargs.setdefault('checkpoint', setup['checkpoint'])
    kwargs.setdefault('initial_subnet', 'small')
    return DynamicOfaEngine(setup['catalog'], **kwargs)


def frame(engine, subnet_id, image, wait_cache=False):
    engine.request_switch(subnet_id)
    if wait_cache:
        assert engine.wait_cache_idle(60)
    return engine.infer(image)


def test_each_subnet_gets_its_own_statistics_and_switching_back_restores_them(setup):
    stats = setup['stats'].subnets
    small, mid = stats['small']['bn'], stats['mid']['bn']
    assert not torch.equal(small['first_conv.bn'][0], mid['first_conv.bn'][0])
    image = setup['image']
    calibrated = make_engine(setup, cache_budget_mb=0)
    try:
        assert calibrated.has_bn_stats == ['mid', 'small']
        first = frame(calibrated, 'small', image).probs
        other = frame(calibrated, 'mid', image).probs
        again = frame(calibrated, 'small', image)
        assert again.path == 'dynamic' and again.switched
        np.testing.assert_array_equal(again.probs, first)
        assert not np.allclose(first, other)
    finally:
        calibrated.close()


def test_calibrated_statistics_change_the_output(setup, tmp_path):
    without = catalog_mod.load(lib.write_catalog(tmp_path, ids=('small', 'mid')))
    image = setup['image']
    engines = [make_engine(setup, cache_budget_mb=0),
               DynamicOfaEngine(without, checkpoint=setup['checkpoint'],
                                initial_subnet='small', cache_budget_mb=0)]
    try:
        with_stats, plain = (e.infer(image).probs for e in engines)
        assert engines[1].has_bn_stats == []
        assert not np.allclose(with_stats, plain, rtol=1e-3, atol=1e-6)
    finally:
        for engine in engines:
            engine.close()


def test_cached_and_dynamic_paths_give_the_same_outputs(setup):
    image = setup['image']
    dynamic = make_engine(setup, cache_budget_mb=0)
    cached = make_engine(setup, cache_budget_mb=256)
    try:
        for subnet_id in ('small', 'mid', 'small'):
            slow = frame(dynamic, subnet_id, image)
            fast = frame(cached, subnet_id, image, wait_cache=True)
            assert (slow.path, fast.path) == ('dynamic', 'cached')
            assert slow.subnet.id == fast.subnet.id == subnet_id
            torch.testing.assert_close(torch.from_numpy(fast.probs),
                                       torch.from_numpy(slow.probs), rtol=1e-4, atol=1e-6)
    finally:
        dynamic.close()
        cached.close()


def test_engine_cache_stays_within_its_budget(setup):
    sizes = setup['sizes']
    budget_mb = (max(sizes.values()) + 1024) / 2**20     # room for one network, not two
    engine = make_engine(setup, cache_budget_mb=budget_mb)
    try:
        for subnet_id in ('small', 'mid', 'small', 'mid'):
            result = frame(engine, subnet_id, setup['image'], wait_cache=True)
            assert result.path == 'cached'
            info = engine.cache_info()
            assert info['used_mb'] <= budget_mb and info['keys'] == [subnet_id]
        assert engine.cache_info()['evictions'] == 3
    finally:
        engine.close()


def test_missing_statistics_warn_and_use_the_checkpoints(setup, tmp_path, caplog):
    partial = BnStatsFile(lib.SUPERNET, {'small': setup['stats'].subnets['small']})
    partial.save(str(tmp_path / 'partial.bn.pt'))
    with caplog.at_level(logging.WARNING, logger='dynofa_ros.engine'):
        engine = make_engine(setup, cache_budget_mb=0, bn_stats=str(tmp_path / 'partial.bn.pt'))
    plain_catalog = catalog_mod.load(lib.write_catalog(tmp_path, ids=('small', 'mid')))
    plain = DynamicOfaEngine(plain_catalog, checkpoint=setup['checkpoint'],
                             initial_subnet='mid', cache_budget_mb=0)
    try:
        assert any('no BN statistics for mid' in r.getMessage() for r in caplog.records)
        frame(engine, 'small', setup['image'])
        np.testing.assert_array_equal(frame(engine, 'mid', setup['image']).probs,
                                      plain.infer(setup['image']).probs)
    finally:
        engine.close()
        plain.close()


def test_unusable_statistics_files_are_refused(setup, tmp_path):
    with pytest.raises(EngineError, match='nope.bn.pt not found'):
        make_engine(setup, bn_stats=str(tmp_path / 'nope.bn.pt'))
    junk = tmp_path / 'junk.bn.pt'
    torch.save({'something': 1}, str(junk))
    with pytest.raises(EngineError, match='junk.bn.pt is not a BN statistics file'):
        make_engine(setup, bn_stats=str(junk))
    other = tmp_path / 'other.bn.pt'
    BnStatsFile('ofa_mbv3_d234_e346_k357_w1.0').save(str(other))
    with pytest.raises(EngineError, match='other.bn.pt is for ofa_mbv3_d234_e346_k357_w1.0'):
        make_engine(setup, bn_stats=str(other))


def test_lru_cache_evicts_least_recently_used_within_budget():
    built, errors = [], []

    def build(key):
        built.append(key)
        if key == 'broken':
            raise RuntimeError('cannot build')
        return bytearray(300 if key == 'huge' else 100)

    cache = SubnetCache(250, build=build, size_of=len,
                        on_error=lambda key, exc: errors.append((key, str(exc))))
    try:
        for key in ('a', 'b'):
            cache.request(key)
        assert cache.wait_idle(10)
        assert cache.keys() == ['a', 'b'] and cache.used_bytes() == 200
        assert cache.get('a') is not None           # a becomes most recently used
        cache.request('c')
        assert cache.wait_idle(10)
        assert cache.keys() == ['a', 'c'] and cache.evictions == 1
        cache.request('c')                          # cached: not built again
        cache.request('huge')                       # larger than the whole budget: not kept
        cache.request('broken')
        assert cache.wait_idle(10)
        assert cache.keys() == ['a', 'c'] and cache.used_bytes() <= 250
        assert built == ['a', 'b', 'c', 'huge', 'broken']
        assert errors == [('broken', 'cannot build')]
    finally:
        cache.close()


def test_zero_budget_cache_builds_nothing_and_close_stops_the_builder():
    cache = SubnetCache(0, build=lambda key: bytearray(1), size_of=len)
    cache.request('a')
    assert cache.wait_idle(1) and cache.keys() == []
    gate = threading.Event()
    cache = SubnetCache(10, build=lambda key: gate.wait(10) and bytearray(1), size_of=len)
    cache.request('a')
    cache.request('b')
    gate.set()
    cache.close()
    assert all(t.name != 'subnet-cache-builder' or not t.is_alive()
               for t in threading.enumerate())
