"""The parameter spec loader: malformed specs named clearly, every validator, mapped blocks."""

import copy
import dataclasses

from dynofa_ros.core.common import param_spec
from dynofa_ros.core.common.param_spec import SpecError
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.perception import params as perception_params
import pytest
from support import REPO

BASE = {
    'node': 'demo', 'title': 'Demo node', 'summary': 'A node for tests.',
    'example_header': 'Example parameters.',
    'parameters': {
        'rate_hz': {'type': 'double', 'default': 2.0, 'description': 'Rate, Hz.',
                    'validation': {'bounds': [0.1, 100.0]}},
        'count': {'type': 'integer', 'default': 3, 'description': 'How many.',
                  'read_only': True, 'validation': {'bounds': [1, 10]}},
        'mode': {'type': 'string', 'default': 'fast', 'description': 'Mode.',
                 'validation': {'one_of': ['fast', 'slow']}},
        'name': {'type': 'string', 'default': 'x', 'description': 'Name.',
                 'validation': {'not_empty': True}},
        'topic': {'type': 'string', 'default': 'a/b', 'description': 'Topic.',
                  'validation': {'pattern': 'topic_name'}},
        'cores': {'type': 'integer_array', 'default': None, 'example': [0, 1],
                  'description': 'Cores.',
                  'validation': {'element_bounds': [0, 7], 'unique': True}},
        'ids': {'type': 'string_array', 'default': ['a'], 'description': 'Ids.',
                'validation': {'not_empty': True, 'unique': True, 'pattern': 'identifier'}},
        'flag': {'type': 'bool', 'default': False, 'description': 'A flag.'},
    },
    'mapped': {'ids': {'keys_from': 'ids', 'parameters': {
        'weight': {'type': 'double', 'default': 1.0, 'description': 'Weight.',
                   'validation': {'bounds': [0.0, 5.0]}}}}},
}


def spec(**changes):
    """Parse BASE with changes; a key 'parameters__count__type' sets data[...][...][...]."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *path, last = dotted.split('__')
        node = data
        for key in path:
            node = node[key]
        node[last] = value
    return param_spec.parse(data, 'demo.yaml')


def test_a_valid_spec_gives_typed_defaults_and_finds_mapped_names():
    s = spec()
    assert s.defaults()['rate_hz'] == 2.0 and s.defaults()['cores'] is None
    param, block, key = s.find('ids.a.weight')
    assert (param.name, block.prefix, key) == ('weight', 'ids', 'a')
    assert s.find('ids.a.colour') == (None, None, None)
    assert s.find('count')[0].read_only and not s.find('rate_hz')[0].read_only
    assert s.check('nothing', 1) == "unknown parameter 'nothing'"


@pytest.mark.parametrize('name, good, bad, reason', [
    ('rate_hz', 0.1, 200.0, 'must be in [0.1, 100], got 200.0'),
    ('rate_hz', 5, float('nan'), 'must be finite'),
    ('rate_hz', 5.0, 'fast', 'must be a number'),
    ('count', 10, 0, 'must be in [1, 10]'),
    ('count', 1, 1.5, 'must be an integer'),
    ('count', 1, True, 'must be an integer'),
    ('mode', 'slow', 'turbo', 'must be one of fast, slow'),
    ('name', 'y', '  ', 'must not be empty'),
    ('topic', '/ns/cam', 'a topic', 'must be a ROS topic name'),
    ('cores', [3, 7], [3, 8], 'value(s) [8] outside [0, 7]'),
    ('cores', None, [2, 2], 'distinct values: it lists [2] twice'),
    ('cores', [], ['0'], 'must be a list of integers'),
    ('ids', ['a', 'b_2'], [], 'must be a non-empty list'),
    ('ids', ['a'], ['a', 'a'], 'distinct'),
    ('ids', ['a'], ['bad id'], 'elements must be letters, digits and underscores'),
    ('ids', ['a'], 'a', 'must be a list of strings'),
    ('flag', True, 1, 'must be true or false'),
    ('ids.x.weight', 0.0, 6.0, 'ids.x.weight must be in [0, 5]'),
])
def test_each_validator_accepts_good_values_and_names_the_reason(name, good, bad, reason):
    s = spec()
    assert s.check(name, good) == ''
    assert reason in s.check(name, bad)


@pytest.mark.parametrize('changes, message', [
    ({'parameters__count__type': 'int'}, 'count: type must be one of'),
    ({'parameters__count__colour': 'red'}, "count: unknown field(s) ['colour']"),
    ({'parameters__count__description': ''}, 'count: needs a description'),
    ({'parameters__count__default': 11}, 'count: default is not valid: count must be in'),
    ({'parameters__count__validation': {'bounds': [5, 1]}}, 'count: bounds must be'),
    ({'parameters__count__validation': {'range': [1, 5]}}, 'count: validation may only'),
    ({'parameters__mode__validation': {'bounds': [1, 5]}}, 'mode: bounds apply to'),
    ({'parameters__count__validation': {'element_bounds': [1, 5]}}, 'element_bounds apply'),
    ({'parameters__mode__validation': {'pattern': 'email'}}, 'mode: pattern must be one of'),
    ({'parameters__mode__validation': {'unique': True}}, 'mode: unique applies'),
    ({'parameters__cores__example': [9]}, 'cores: example is not valid'),
    ({'mapped__ids__keys_from': 'mode'}, 'mapped.ids: keys_from'),
    ({'mapped__ids__parameters__weight__type': 'float'}, 'mapped.ids.weight: type must be'),
    ({'title': ''}, 'title: must be a non-empty string'),
    ({'extra': 1}, "unknown key(s) ['extra']"),
])
def test_a_malformed_spec_is_refused_naming_file_and_parameter(changes, message):
    with pytest.raises(SpecError, match='^demo.yaml: ') as info:
        spec(**changes)
    assert message in str(info.value)


def test_a_missing_default_and_an_unreadable_file_are_refused(tmp_path):
    data = copy.deepcopy(BASE)
    del data['parameters']['count']['default']
    with pytest.raises(SpecError, match='count: has no default'):
        param_spec.parse(data, 'demo.yaml')
    with pytest.raises(SpecError, match='cannot read parameter spec'):
        param_spec.load(str(tmp_path / 'none.yaml'))
    (tmp_path / 'bad.yaml').write_text('node: [')
    with pytest.raises(SpecError, match='bad.yaml is not valid YAML'):
        param_spec.load(str(tmp_path / 'bad.yaml'))


def test_constraints_read_as_words():
    s = spec()
    assert param_spec.constraints(s.find('rate_hz')[0]) == 'in [0.1, 100]'
    cores = param_spec.constraints(s.find('cores')[0])
    assert cores == 'each element in [0, 7]; distinct elements'
    assert param_spec.constraints(s.find('flag')[0]) == ''


def test_shipped_specs_load_and_their_defaults_are_valid():
    for node in ('perception', 'manager', 'hardware'):
        s = param_spec.load_node(node, REPO)
        assert s.node == node
        for param in s.parameters + sum((b.parameters for b in s.mapped), ()):
            assert param_spec.check(param, param.default) == '', (node, param.name)


def test_manager_config_defaults_come_from_the_spec():
    spec_defaults = manager_config.SPEC.defaults()
    for f in dataclasses.fields(manager_config.ManagerConfig):
        if f.name != 'apps':
            assert f.default == spec_defaults[f.name], f.name
    apps = {p.name: p.default for p in manager_config.SPEC.block('apps').parameters}
    target = manager_config.AppTarget('cam')
    for f in dataclasses.fields(target):
        if f.name != 'app_id':
            lists = ('domains', 'profile_keys')     # kept as tuples: AppTarget is frozen
            assert getattr(target, f.name) == (tuple(apps[f.name]) if f.name in lists
                                               else apps[f.name]), f.name


def test_running_perception_node_refuses_num_threads_zero_with_a_reason():
    assert perception_params.check('num_threads', 0) == ''   # at start: torch's default
    assert 'only at start' in perception_params.check_running('num_threads', 0)
    assert perception_params.check_running('num_threads', 2) == ''
    assert 'must be in' in perception_params.check_running('num_threads', 300)
