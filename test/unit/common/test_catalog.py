"""Catalog loading and validation: shipped catalogs, round trip, clear errors."""

import argparse
import glob
import math
import os

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common.catalog import CatalogError
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.perception import params as perception_params
from dynofa_ros.tools import engine_tool_args
import pytest
from support import engine as lib
from support import REPO
import yaml


def test_shipped_catalogs_load_sorted_fastest_first():
    paths = glob.glob(os.path.join(REPO, 'config', 'catalogs', '*.yaml'))
    assert paths
    for path in paths:
        catalog = catalog_mod.load(path)
        assert catalog.supernet in catalog_mod.SUPERNETS
        top1 = [s.top1 for s in catalog.subnets]
        assert top1 == sorted(top1) and [s.index for s in catalog.subnets] == list(
            range(len(top1)))
        assert all(s.accuracy_source.startswith(('published', 'measured')) for s in
                   catalog.subnets)


def test_default_catalog_is_the_published_w12_pareto_set():
    catalog = catalog_mod.load(os.path.join(REPO, 'config', 'catalogs',
                                            'ofa_mbv3_w12_dynamic_ofa.yaml'))
    assert catalog.supernet == 'ofa_mbv3_d234_e346_k357_w1.2'
    assert len(catalog.subnets) == 7 and catalog.subnets[0].arch.r == 176


def test_every_default_catalog_is_the_one_shipped_default():
    assert os.path.isfile(os.path.join(REPO, catalog_mod.DEFAULT_CATALOG))
    # The nodes' defaults are written in their parameter specs; the tools' in catalog.py.
    assert manager_config.DEFAULT_CATALOG == catalog_mod.DEFAULT_CATALOG
    assert perception_params.DEFAULT_CATALOG == catalog_mod.DEFAULT_CATALOG
    parser = argparse.ArgumentParser()
    engine_tool_args.add_common(parser)
    assert parser.parse_args([]).catalog is catalog_mod.DEFAULT_CATALOG


def test_round_trip_keeps_every_field(tmp_path):
    catalog = catalog_mod.load(lib.write_catalog(tmp_path))
    catalog.get('small').macs_m = 123.456
    catalog.get('small').latency_ms['cpu/x/y'] = {1: 10.0, 2: 6.5}
    catalog.bn_stats = 'tiny.bn.pt'
    out = str(tmp_path / 'again.yaml')
    catalog.save(out)
    again = catalog_mod.load(out)
    assert again.ids() == catalog.ids() and again.bn_stats == 'tiny.bn.pt'
    assert again.get('small').macs_m == pytest.approx(123.46)
    assert again.get('small').latency('cpu/x/y', 2) == 6.5
    assert again.get('mid').latency('cpu/x/y', 1) is None and math.isnan(again.get('mid').macs_m)
    assert again.get('large').arch == catalog.get('large').arch


def test_profile_key_names_device_machine_and_model():
    key = catalog_mod.profile_key('cpu')
    assert key.startswith('cpu/') and len(key.split('/')) >= 3


def test_profile_keys_name_the_backend_and_old_keys_read_as_torch(monkeypatch):
    torch_key = catalog_mod.profile_key('cpu', 'torch')
    ort_key = catalog_mod.profile_key('cpu', 'onnxruntime')
    assert ort_key == torch_key + '@onnxruntime' and '@' not in torch_key
    assert catalog_mod.split_key(ort_key) == (torch_key, 'onnxruntime')
    assert catalog_mod.split_key(torch_key) == (torch_key, 'torch')
    monkeypatch.setattr(catalog_mod, 'default_backend', lambda: 'torch')
    assert catalog_mod.profile_key('cpu') == torch_key
    with pytest.raises(ValueError, match='tensorflow'):
        catalog_mod.profile_key('cpu', 'tensorflow')
    old = catalog_mod.Subnet(id='a', index=0, arch=None, top1=1.0, accuracy_source='x',
                             latency_ms={'cpu/x/y': {1: 5.0}, 'cpu/x/y@onnxruntime': {1: 2.0}})
    assert old.latency('cpu/x/y@torch', 1) == 5.0 and old.latency('cpu/x/y', 1) == 5.0
    assert old.latency('cpu/x/y@onnxruntime', 1) == 2.0
    new = catalog_mod.Subnet(id='b', index=0, arch=None, top1=1.0, accuracy_source='x',
                             latency_ms={'cpu/x/y@torch': {1: 4.0}})
    assert new.latency('cpu/x/y', 1) == 4.0 and new.latency('cpu/x/y@onnxruntime', 1) is None


def broken(change):
    data = lib.catalog_dict()
    change(data)
    return data


def set_arch(index, key, value):
    return lambda d: d['subnets'][index]['arch'].__setitem__(key, value)


@pytest.mark.parametrize('data, message', [
    ({'subnets': []}, 'supernet None is not one of'),
    (broken(lambda d: d.__setitem__('supernet', 'resnet9')), "supernet 'resnet9'"),
    (broken(lambda d: d.__setitem__('subnets', [])), 'no sub-networks'),
    (broken(lambda d: d.pop('subnets')), 'expected a mapping with a "subnets" list'),
    (broken(lambda d: d['subnets'][1].__setitem__('id', 'small')), "duplicate id 'small'"),
    (broken(lambda d: d['subnets'][0].pop('id')), 'non-empty string id'),
    (broken(set_arch(0, 'ks', [3] * 19)), 'expected 20 ks, 20 e and 5 d values'),
    (broken(set_arch(0, 'e', [5] * 20)), 'e values [5] not in [3, 4, 6]'),
    (broken(set_arch(0, 'd', [1, 2, 3, 4, 4])), 'd values [1] not in [2, 3, 4]'),
    (broken(set_arch(0, 'r', 130)), 'resolution 130 must be a multiple of 8'),
    (broken(set_arch(0, 'r', 'big')), 'integer lists ks, e, d and integer r'),
    (broken(lambda d: d['subnets'][2].__setitem__('arch', d['subnets'][0]['arch'])),
     "same architecture as 'small'"),
    (broken(lambda d: d['subnets'][0]['accuracy'].__setitem__('top1', 140)),
     'accuracy.top1 140.0 outside [0, 100]'),
    (broken(lambda d: d['subnets'][0]['accuracy'].pop('top1')),
     'accuracy.top1 must be a number'),
    (broken(lambda d: d['subnets'][0].__setitem__('latency_ms', {'cpu/a/b': {1: -3}})),
     'must be a finite positive number'),
    (broken(lambda d: d['subnets'][0].__setitem__('latency_ms', {'cpu/a/b': 5})),
     'must map thread count to ms'),
])
def test_invalid_catalogs_are_refused_with_the_reason(tmp_path, data, message):
    path = tmp_path / 'bad.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError) as info:
        catalog_mod.load(str(path))
    assert message in str(info.value) and 'bad.yaml' in str(info.value)


def test_unreadable_catalogs_are_refused(tmp_path):
    with pytest.raises(CatalogError, match='cannot read catalog .*missing.yaml'):
        catalog_mod.load(str(tmp_path / 'missing.yaml'))
    (tmp_path / 'bad.yaml').write_text('subnets: [unclosed\n')
    with pytest.raises(CatalogError, match='bad.yaml is not valid YAML'):
        catalog_mod.load(str(tmp_path / 'bad.yaml'))


def test_get_names_known_ids(tmp_path):
    catalog = catalog_mod.load(lib.write_catalog(tmp_path))
    with pytest.raises(KeyError, match=r"'nope'.*\['small', 'mid', 'large'\]"):
        catalog.get('nope')
