"""
Strict stand-ins for how Humble's and Jazzy's rosbag2 read a bag's metadata.yaml and its QoS.

Written from ros2/rosbag2: humble rosbag2_storage/src/rosbag2_storage/metadata_io.cpp (metadata
version 5; offered_qos_profiles read with `as<std::string>()` from version 4 on) and
rosbag2_transport/src/rosbag2_transport/qos.cpp (the QoS string parsed as a YAML list whose
history, reliability, durability and liveliness are read with `as<int>()`); jazzy
rosbag2_storage/include/rosbag2_storage/yaml.hpp (metadata version 9: a YAML list from version 9,
the YAML string before; custom_data from 6, type_description_hash from 7, ros_distro from 8) and
rosbag2_storage/src/rosbag2_storage/qos.cpp (integer or named policies, detected from history).
Each field is read as the C++ code reads it, with yaml-cpp's conversions: a conversion yaml-cpp
refuses raises BadConversion here, as the real reader throws YAML::BadConversion.
"""

import os

import yaml


class BadConversion(Exception):
    """yaml-cpp's YAML::BadConversion ('bad conversion')."""


_TRUE = {'y', 'yes', 'true', 'on'}
_FALSE = {'n', 'no', 'false', 'off'}
_POLICY_NAMES = {  # rmw_qos_*_policy_from_str
    'history': {'system_default': 0, 'keep_last': 1, 'keep_all': 2, 'unknown': 3},
    'reliability': {'system_default': 0, 'reliable': 1, 'best_effort': 2, 'unknown': 3,
                    'best_available': 4},
    'durability': {'system_default': 0, 'transient_local': 1, 'volatile': 2, 'unknown': 3,
                   'best_available': 4},
    'liveliness': {'system_default': 0, 'automatic': 1, 'manual_by_node': 2,
                   'manual_by_topic': 3, 'unknown': 4, 'best_available': 5},
}


def _scalar(node, what):
    if isinstance(node, (dict, list)) or node is None:
        raise BadConversion(f'{what}: not a scalar')
    return node


def as_string(node, what='value'):
    value = _scalar(node, what)
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def as_int(node, what='value', unsigned=False):
    text = as_string(node, what).strip()
    try:
        value = int(text)
    except ValueError:
        raise BadConversion(f'{what}: {text!r} is not an integer')
    if unsigned and value < 0:
        raise BadConversion(f'{what}: {value} is negative')
    return value


def as_bool(node, what='value'):
    text = as_string(node, what).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadConversion(f'{what}: {text!r} is not a bool')


def as_map(node, what):
    if not isinstance(node, dict):
        raise BadConversion(f'{what}: not a map')
    return node


def as_list(node, what):
    if not isinstance(node, list):
        raise BadConversion(f'{what}: not a sequence')
    return node


def _get(node, key, what):
    if key not in as_map(node, what):
        raise BadConversion(f'{what}.{key}: missing')  # yaml-cpp: invalid node -> throws
    return node[key]


def _time(node, what):
    return (as_int(_get(node, 'sec', what), f'{what}.sec', True),
            as_int(_get(node, 'nsec', what), f'{what}.nsec', True))


def _qos(node, what, named):
    out = {'depth': as_int(_get(node, 'depth', what), f'{what}.depth'),
           'avoid_ros_namespace_conventions': as_bool(
               _get(node, 'avoid_ros_namespace_conventions', what), what)}
    for policy in ('history', 'reliability', 'durability', 'liveliness'):
        value = _get(node, policy, what)
        if named:
            name = as_string(value, f'{what}.{policy}')
            if name not in _POLICY_NAMES[policy]:
                raise BadConversion(f'{what}.{policy}: {name!r}')
            out[policy] = _POLICY_NAMES[policy][name]
        else:
            out[policy] = as_int(value, f'{what}.{policy}')
    for key in ('deadline', 'lifespan', 'liveliness_lease_duration'):
        out[key] = _time(_get(node, key, what), f'{what}.{key}')
    return out


def humble_qos(text, what='offered_qos_profiles'):
    """Parse a QoS string as Humble's player does (an empty string: no recorded offers)."""
    if text == '':
        return []
    return [_qos(item, f'{what}[{i}]', named=False)
            for i, item in enumerate(as_list(yaml.safe_load(text), what))]


def jazzy_qos(node, what='offered_qos_profiles'):
    """Parse a list of QoS maps as Jazzy does: integer policies or names, told by history."""
    out = []
    for i, item in enumerate(as_list(node, what)):
        history = _get(item, 'history', f'{what}[{i}]')
        try:
            named = not 0 <= as_int(history) <= 3
        except BadConversion:
            named = True
        out.append(_qos(item, f'{what}[{i}]', named))
    return out


def _load(path):
    with open(os.path.join(path, 'metadata.yaml')) as f:
        return as_map(yaml.safe_load(f).get('rosbag2_bagfile_information'),
                      'rosbag2_bagfile_information')


def _common(meta):
    version = as_int(_get(meta, 'version', 'metadata'), 'version')
    out = {'version': version,
           'storage_identifier': as_string(meta['storage_identifier'], 'storage_identifier'),
           'duration': as_int(_get(meta['duration'], 'nanoseconds', 'duration')),
           'starting_time': as_int(_get(meta['starting_time'], 'nanoseconds_since_epoch',
                                        'starting_time')),
           'message_count': as_int(meta['message_count'], 'message_count', True),
           'relative_file_paths': [as_string(p) for p in as_list(
               meta['relative_file_paths'], 'relative_file_paths')]}
    if version >= 3:
        out['compression'] = (as_string(meta['compression_format']),
                              as_string(meta['compression_mode']))
    if version >= 5:
        out['files'] = [(as_string(_get(f, 'path', 'files')),
                         as_int(_get(f['starting_time'], 'nanoseconds_since_epoch', 'files')),
                         as_int(_get(f['duration'], 'nanoseconds', 'files')),
                         as_int(_get(f, 'message_count', 'files'), unsigned=True))
                        for f in as_list(meta['files'], 'files')]
    return out


def _topic(entry, version, read_qos, what):
    meta = _get(entry, 'topic_metadata', what)
    topic = {k: as_string(_get(meta, k, what), f'{what}.{k}')
             for k in ('name', 'type', 'serialization_format')}
    topic['message_count'] = as_int(_get(entry, 'message_count', what), unsigned=True)
    topic['offered_qos_profiles'] = read_qos(meta.get('offered_qos_profiles'), version,
                                             f'{what}.offered_qos_profiles')
    return topic, meta


def read_as_humble(path):
    """Return the metadata as Humble's rosbag2 reads it (its QoS as Humble's player parses it)."""
    meta = _load(path)
    out = _common(meta)

    def qos(node, version, what):
        return humble_qos(as_string(node, what), what) if version >= 4 else []

    out['topics'] = [_topic(t, out['version'], qos, f'topics[{i}]')[0] for i, t in enumerate(
        as_list(meta['topics_with_message_count'], 'topics_with_message_count'))]
    return out


def read_as_jazzy(path):
    """Return the metadata as Jazzy's rosbag2 reads it."""
    meta = _load(path)
    out = _common(meta)
    version = out['version']

    def qos(node, version, what):
        if version >= 9:
            return jazzy_qos(node, what)
        if version >= 4:
            text = as_string(node, what)
            return jazzy_qos(yaml.safe_load(text), what) if text else []
        return []

    topics = []
    for i, entry in enumerate(as_list(meta['topics_with_message_count'], 'topics')):
        topic, raw = _topic(entry, version, qos, f'topics[{i}]')
        if version >= 7:
            topic['type_description_hash'] = as_string(raw['type_description_hash'])
        topics.append(topic)
    out['topics'] = topics
    if version >= 6:
        out['custom_data'] = {as_string(k): as_string(v)
                              for k, v in as_map(meta['custom_data'], 'custom_data').items()}
    if version >= 8:
        out['ros_distro'] = as_string(meta['ros_distro'], 'ros_distro')
    return out
