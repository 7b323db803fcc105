"""The generated parameter docs and example configs match the specs in config/params/."""

import difflib
import os

from dynofa_ros.core.common import param_spec
from dynofa_ros.core.system import bringup
from dynofa_ros.tools import param_docs
import pytest
from support import REPO
import yaml

GENERATED = param_docs.generated(REPO)


@pytest.mark.parametrize('rel', sorted(GENERATED))
def test_generated_file_matches_its_spec(rel):
    path = os.path.join(REPO, rel)
    with open(path) as f:
        on_disk = f.read()
    diff = ''.join(difflib.unified_diff(on_disk.splitlines(True), GENERATED[rel].splitlines(True),
                                        f'{rel} (on disk)', f'{rel} (from the specs)', n=1))
    assert on_disk == GENERATED[rel], (
        f'{rel} is out of date with config/params/; regenerate it with\n'
        f'    {param_docs.COMMAND}\n{diff}')


def test_every_example_config_value_is_valid_for_its_node():
    for node in param_docs.NODES:
        spec = param_spec.load_node(node, REPO)
        with open(os.path.join(REPO, 'config', f'{node}.yaml')) as f:
            values = yaml.safe_load(f)[bringup.section_key(node)]['ros__parameters']
        for name, value in values.items():
            assert spec.check(name, value) == '', (node, name)


def test_system_config_keys_exist_in_the_specs_with_valid_values():
    """config/system.yaml is tuned by hand: each value must still mean something valid."""
    with open(os.path.join(REPO, 'config', 'system.yaml')) as f:
        system = yaml.safe_load(f)
    assert set(system) == {bringup.section_key(node) for node in param_docs.NODES}
    for key, section in system.items():
        node = key.rsplit('/', 1)[-1]
        spec = param_spec.load_node(node, REPO)
        values = section['ros__parameters']
        for name, value in values.items():
            param, block, key = spec.find(name)
            assert param is not None, f'config/system.yaml: {node}.{name} is not in its spec'
            assert spec.check(name, value) == '', f'config/system.yaml: {node}.{name}'
            if block is not None:  # apps.<id>.*: the id must be one of the listed apps
                listed = values.get(block.keys_from, spec.defaults()[block.keys_from])
                assert key in listed, f'config/system.yaml: {node}.{name}: {key} not listed'
