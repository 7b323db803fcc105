"""Checkpoint loading of the engine: round trip, clear errors, random-weights warning."""

import logging

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.perception.engine import DynamicOfaEngine, EngineError
from dynofa_ros.core.perception.supernet import build_supernet, extract, load_checkpoint
import numpy as np
import pytest
from support import engine as lib
import torch


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ckpt')
    checkpoint = tmp / 'w12.pth'
    reference = lib.save_fresh_checkpoint(checkpoint, seed=3)
    catalog = catalog_mod.load(lib.write_catalog(tmp, ids=('small', 'mid')))
    return tmp, str(checkpoint), reference, catalog


def test_checkpoint_round_trip_gives_identical_weights_and_outputs(setup):
    tmp, checkpoint, reference, catalog = setup
    loaded = load_checkpoint(build_supernet(lib.SUPERNET), checkpoint, lib.SUPERNET)
    expected = reference.state_dict()
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)

    engine = DynamicOfaEngine(catalog, checkpoint=checkpoint, initial_subnet='small',
                              cache_budget_mb=0)
    try:
        image = lib.photos()[0]
        result = engine.infer(image)
        assert not engine.random_weights
        static = extract(reference, catalog.get('small').arch)
        from dynofa_ros.core.images.preprocess import preprocess
        with torch.no_grad():
            logits = static(torch.from_numpy(preprocess(image, 128)))
        torch.testing.assert_close(torch.from_numpy(result.probs),
                                   torch.softmax(logits, 1)[0], rtol=1e-4, atol=1e-6)
    finally:
        engine.close()


def test_missing_checkpoint_names_path_and_expected_supernet(setup, tmp_path):
    _, _, _, catalog = setup
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(EngineError, match='nope.pth.*not found.*w1.2'):
        DynamicOfaEngine(catalog, checkpoint=missing)


def test_corrupt_checkpoint_is_reported(setup, tmp_path):
    _, _, _, catalog = setup
    corrupt = tmp_path / 'corrupt.pth'
    corrupt.write_bytes(b'\x00not a torch file' * 10)
    with pytest.raises(EngineError, match='corrupt.pth is not a readable torch file'):
        DynamicOfaEngine(catalog, checkpoint=str(corrupt))


def test_checkpoint_without_state_dict_is_reported(setup, tmp_path):
    _, _, _, catalog = setup
    odd = tmp_path / 'odd.pth'
    torch.save({'epoch': 3, 'optimizer': {}}, str(odd))
    with pytest.raises(EngineError, match="odd.pth has no 'state_dict'"):
        DynamicOfaEngine(catalog, checkpoint=str(odd))


def test_wrong_architecture_checkpoint_is_reported(setup, tmp_path):
    _, _, _, catalog = setup
    other = tmp_path / 'w10.pth'
    lib.save_fresh_checkpoint(other, name='ofa_mbv3_d234_e346_k357_w1.0')
    with pytest.raises(EngineError, match=r'w10.pth does not fit supernet .*w1.2'):
        DynamicOfaEngine(catalog, checkpoint=str(other))


def test_no_checkpoint_runs_with_random_weights_and_warns(setup, caplog):
    _, _, _, catalog = setup
    with caplog.at_level(logging.WARNING, logger='dynofa_ros.engine'):
        engine = DynamicOfaEngine(catalog, initial_subnet='small', cache_budget_mb=0)
    try:
        assert engine.random_weights
        assert any('RANDOM WEIGHTS' in r.getMessage() and r.levelno == logging.WARNING
                   for r in caplog.records)
        result = engine.infer(lib.photos()[1])
        assert result.probs.shape == (1000,) and result.probs.dtype == np.float32
        assert abs(float(result.probs.sum()) - 1.0) < 1e-4
    finally:
        engine.close()


def test_bad_construction_arguments_are_refused(setup):
    _, _, _, catalog = setup
    with pytest.raises(EngineError, match='unknown sub-network .*nope'):
        DynamicOfaEngine(catalog, initial_subnet='nope')
    with pytest.raises(EngineError, match='cache_budget_mb'):
        DynamicOfaEngine(catalog, cache_budget_mb=-1)
    with pytest.raises(ValueError, match='CUDA is not available'):
        DynamicOfaEngine(catalog, device='cuda')


def test_default_initial_subnet_is_the_most_accurate(setup):
    _, _, _, catalog = setup
    engine = DynamicOfaEngine(catalog, cache_budget_mb=0)
    try:
        assert engine.active.id == 'mid'
    finally:
        engine.close()
