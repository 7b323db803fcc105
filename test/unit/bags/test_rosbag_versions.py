"""Bags open in Humble's and Jazzy's rosbag2 (strict readers of their metadata) and keep QoS."""

from dynofa_ros.core.bags import rosbag
import pytest
from rosbags.interfaces import QosDurability, QosReliability
from support.bags import small_camera_bag
from support.rosbag2_metadata import BadConversion, read_as_humble, read_as_jazzy

INFINITE_NS = 9223372036854775807
LATCHED = rosbag.offered_qos(1, 1, 1, 1, 1, INFINITE_NS, INFINITE_NS, INFINITE_NS)
SENSOR = rosbag.offered_qos(1, 5, 2, 2)


def write_bag(path, **kwargs):
    writer = rosbag.open_writer(str(path), **kwargs)
    store = rosbag.typestore()
    command = writer.add_connection('/subnet_command', 'dynofa_ros/msg/SubnetCommand',
                                    typestore=store, offered_qos_profiles=[LATCHED])
    writer.add_connection('/perception_stats', 'dynofa_ros/msg/PerceptionStats',
                          typestore=store, offered_qos_profiles=[SENSOR, SENSOR])
    cls = store.types['dynofa_ros/msg/SubnetCommand']
    header = store.types['std_msgs/msg/Header']
    stamp = store.types['builtin_interfaces/msg/Time'](sec=1, nanosec=2)
    writer.write(command, 10, store.serialize_cdr(
        cls(header(stamp, 'f'), 'cam', 'n7_1', 1, 40.0, 76.0, 'test'), cls.__msgtype__))
    writer.close()
    return str(path)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
@pytest.mark.parametrize('read', [read_as_humble, read_as_jazzy], ids=['humble', 'jazzy'])
def test_default_bags_open_in_humble_and_jazzy_with_their_qos(tmp_path, storage, read):
    meta = read(write_bag(tmp_path / 'bag', storage=storage))
    assert meta['version'] == 8 and meta['storage_identifier'] == storage
    topics = {t['name']: t for t in meta['topics']}
    command = topics['/subnet_command']
    assert command['type'] == 'dynofa_ros/msg/SubnetCommand' and command['message_count'] == 1
    (qos,) = command['offered_qos_profiles']
    assert (qos['history'], qos['depth'], qos['reliability'], qos['durability']) == (1, 1, 1, 1)
    assert qos['deadline'] == (9223372036, 854775807)
    assert [q['reliability'] for q in topics['/perception_stats']['offered_qos_profiles']] == [
        2, 2]


def test_version_9_bags_are_refused_by_humble_and_read_by_jazzy(tmp_path):
    path = write_bag(tmp_path / 'bag', version=9)
    with pytest.raises(BadConversion, match='offered_qos_profiles'):
        read_as_humble(path)
    meta = read_as_jazzy(path)
    assert meta['version'] == 9
    assert meta['topics'][0]['offered_qos_profiles'][0]['durability'] == 1


def test_camera_bags_open_in_humble(tmp_path):
    meta = read_as_humble(small_camera_bag(str(tmp_path / 'camera'), frames=2))
    assert meta['version'] == 8 and meta['topics'][0]['message_count'] == 2


def test_recorded_qos_reads_back_and_plays_as_rosbag2_would(tmp_path):
    qos = rosbag.topic_qos(write_bag(tmp_path / 'bag'))
    assert qos['/subnet_command'][0].durability == QosDurability.TRANSIENT_LOCAL
    assert rosbag.playback_qos(qos['/subnet_command']) == (True, True)
    assert rosbag.playback_qos(qos['/perception_stats']) == (False, False)
    assert rosbag.playback_qos([]) == (True, False)             # nothing recorded: default
    assert rosbag.playback_qos([LATCHED, SENSOR]) == (True, False)  # mixed: default
    assert qos['/perception_stats'][0].reliability == QosReliability.BEST_EFFORT


def test_unknown_versions_are_refused(tmp_path):
    with pytest.raises(ValueError, match='version 5 is not one of'):
        rosbag.open_writer(str(tmp_path / 'bag'), version=5)


def test_custom_data_is_a_map_as_jazzy_requires(tmp_path):
    meta = read_as_jazzy(write_bag(tmp_path / 'bag', version=9))
    assert meta['custom_data'] == {'dynofa_ros.writer': 'dynofa_ros bag tools (rosbags)'}
