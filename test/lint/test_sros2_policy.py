"""
The shipped SROS2 policy is well-formed for sros2 and grants what issue 13 asks, no more.

No run-time test is possible here: sros2 is not on PyPI and the FastDDS of the ROS wheels
(ros-fastdds 3.2) is built without the DDS-Security plugins (docs/robot_install.md). So the
policy is checked against the rules of sros2's policy schema (ros2/sros2,
sros2/policy/schemas/policy.xsd: elements, required attributes, ALLOW/DENY), and the DDS grants
that `ros2 security create_permission` derives from it (sros2's permissions.xsl: topic
`rt/<name>`, services `rq/<name>Request` / `rr/<name>Reply`, relative names under the profile's
namespace, `~` under the node, everything else denied) are computed and asserted.
"""

import os
import xml.etree.ElementTree as ElementTree

from dynofa_ros.core.common import param_spec
import pytest
from support import REPO

POLICY = os.path.join(REPO, 'config', 'security', 'dynofa_policy.xml')
ENCLAVES = {'perception': '/dynofa_ros/perception', 'manager': '/dynofa_ros/manager',
            'hardware': '/dynofa_ros/hardware'}
COMMANDS = ('rt/dvfs_command', 'rt/subnet_command', 'rt/mapping_command')
# sros2's policy.xsd, as data: element -> (allowed children, required and optional attributes).
SCHEMA = {
    'policy': ({'contexts'}, {'version'}, set()),
    'contexts': ({'context'}, set(), set()),
    'context': ({'profiles'}, {'path'}, set()),
    'profiles': ({'profile', 'metadata'}, set(), {'type'}),
    'profile': ({'topics', 'services', 'actions'}, {'ns', 'node'}, set()),
    'topics': ({'topic'}, set(), {'publish', 'subscribe'}),
    'services': ({'service'}, set(), {'reply', 'request'}),
    'actions': ({'action'}, set(), {'call', 'execute'}),
    'topic': (set(), set(), set()), 'service': (set(), set(), set()),
    'action': (set(), set(), set()),
}
QUALIFIED = {'topics', 'services', 'actions'}
XML_BASE = '{http://www.w3.org/XML/1998/namespace}base'


def schema_errors(element, path=''):
    path = f'{path}/{element.tag}'
    children, required, optional = SCHEMA[element.tag]
    errors = [f'{path}: missing attribute {name}' for name in required - set(element.attrib)]
    extra = set(element.attrib) - required - optional - {XML_BASE}
    errors += [f'{path}: attribute {name} not in the schema' for name in extra]
    if element.tag in QUALIFIED:
        if not element.attrib:
            errors.append(f'{path}: no ALLOW/DENY qualifier')
        errors += [f'{path}: {k}={v!r} is not ALLOW or DENY' for k, v in element.attrib.items()
                   if v not in ('ALLOW', 'DENY')]
    if element.tag in ('topic', 'service', 'action') and not (element.text or '').strip():
        errors.append(f'{path}: empty name')
    if SCHEMA[element.tag][0] and not list(element):
        errors.append(f'{path}: needs at least one of {sorted(children)}')
    for child in element:
        if child.tag not in children:
            errors.append(f'{path}: <{child.tag}> not allowed here')
        elif child.tag != 'metadata':
            errors += schema_errors(child, path)
    return errors


def fqn(name, ns, node):
    ns = ns if ns.endswith('/') else ns + '/'
    if name.startswith('/'):
        return name
    if name.startswith('~'):
        return ns + node + name[1:]
    return ns + name


def grants():
    """Return {enclave: {(ALLOW|DENY, publish|subscribe, DDS topic)}} as sros2 derives them."""
    out = {}
    for context in ElementTree.parse(POLICY).getroot().iter('context'):
        rules = out.setdefault(context.get('path'), set())
        for profile in context.iter('profile'):
            ns, node = profile.get('ns'), profile.get('node')
            for group in profile:
                names = [fqn(e.text.strip(), ns, node) for e in group]
                for qualifier_name, qualifier in group.attrib.items():
                    for name in names:
                        if group.tag == 'topics':
                            rules.add((qualifier, qualifier_name, f'rt{name}'))
                        elif group.tag == 'services':
                            out_kind, in_kind = (('rr', 'rq') if qualifier_name == 'reply'
                                                 else ('rq', 'rr'))
                            end = {'rq': 'Request', 'rr': 'Reply'}
                            rules.add((qualifier, 'publish', f'{out_kind}{name}{end[out_kind]}'))
                            rules.add((qualifier, 'subscribe', f'{in_kind}{name}{end[in_kind]}'))
    return out


def allowed(enclave_rules, action, topic):
    return ('ALLOW', action, topic) in enclave_rules and ('DENY', action, topic) not in \
        enclave_rules


def test_policy_follows_the_sros2_policy_schema():
    root = ElementTree.parse(POLICY).getroot()
    assert root.tag == 'policy'
    assert schema_errors(root) == []


def test_one_enclave_per_node_and_no_wildcards():
    rules = grants()
    assert set(rules) == set(ENCLAVES.values())
    assert not [r for enclave in rules.values() for r in enclave if set('*?[') & set(r[2])]


@pytest.mark.parametrize('topic', COMMANDS)
def test_only_the_manager_may_publish_commands(topic):
    rules = grants()
    assert [e for e in rules if allowed(rules[e], 'publish', topic)] == [ENCLAVES['manager']]


@pytest.mark.parametrize('service', ['set_parameters', 'set_parameters_atomically'])
def test_only_the_manager_enclave_may_set_the_managers_parameters(service):
    rules = grants()
    request = f'rq/manager/{service}Request'
    assert [e for e in rules if allowed(rules[e], 'publish', request)] == [ENCLAVES['manager']]
    assert [e for e in rules if allowed(rules[e], 'subscribe', request)] == [ENCLAVES['manager']]


def test_the_hardware_node_takes_only_dvfs_commands():
    rules = grants()[ENCLAVES['hardware']]
    subscribed = {t for q, action, t in rules if q == 'ALLOW' and action == 'subscribe'}
    assert subscribed - {'rt/parameter_events'} == {'rt/dvfs_command'} | {
        t for t in subscribed if t.startswith('rq/hardware/')}


def _spec_topics(node, publish, subscribe):
    defaults = param_spec.load_node(node).defaults()
    return ({fqn(defaults[k], '/', node) for k in publish},
            {fqn(defaults[k], '/', node) for k in subscribe})


@pytest.mark.parametrize('node, publish, subscribe', [
    ('perception', ['classification_topic', 'stats_topic'],
     ['image_topic', 'subnet_command_topic', 'mapping_command_topic']),
    ('manager', ['subnet_command_topic', 'dvfs_command_topic', 'mapping_command_topic'],
     ['perception_stats_topic', 'system_state_topic', 'power_state_topic',
      'mission_target_topic']),
    ('hardware', ['system_state_topic', 'power_state_topic', 'diagnostics_topic'],
     ['command_topic']),
])
def test_every_topic_of_a_node_is_granted_to_its_enclave(node, publish, subscribe):
    rules = grants()[ENCLAVES[node]]
    pub, sub = _spec_topics(node, publish, subscribe)
    if node == 'perception':
        sub |= {t + '/compressed' for t in sub if t.endswith('image_raw')}
    for topic in pub | {'/rosout', '/parameter_events', '/diagnostics'}:
        assert allowed(rules, 'publish', f'rt{topic}'), (node, topic)
    for topic in sub:
        assert allowed(rules, 'subscribe', f'rt{topic}'), (node, topic)
    for service in ('get_parameters', 'set_parameters', 'list_parameters'):
        assert allowed(rules, 'subscribe', f'rq/{node}/{service}Request'), (node, service)
        assert allowed(rules, 'publish', f'rr/{node}/{service}Reply'), (node, service)
