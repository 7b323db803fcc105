"""The package's FastDDS profile: when it is applied, and what it configures."""

import os
import xml.etree.ElementTree as ET

from dynofa_ros.core.system import dds_profile

NS = {'dds': 'http://www.eprosima.com'}


def test_the_profile_is_used_unless_the_user_chose_otherwise():
    path = dds_profile.profile_path()
    assert os.path.isfile(path)
    assert dds_profile.environment({}) == {'FASTDDS_DEFAULT_PROFILES_FILE': path}
    assert dds_profile.environment({'ROS_DISTRO': 'humble'}) == {
        'FASTRTPS_DEFAULT_PROFILES_FILE': path}      # FastDDS 2.x reads only this name
    assert dds_profile.environment({'RMW_IMPLEMENTATION': 'rmw_fastrtps_cpp'})
    for theirs in ({'FASTDDS_DEFAULT_PROFILES_FILE': '/mine.xml'},
                   {'FASTRTPS_DEFAULT_PROFILES_FILE': '/mine.xml'},
                   {'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'},
                   {'DYNOFA_DDS_PROFILE': 'off'}):
        assert dds_profile.environment(theirs) == {}, theirs


def test_apply_sets_the_variable_once_and_keeps_a_users_choice():
    env = {}
    assert dds_profile.apply(env) == {'FASTDDS_DEFAULT_PROFILES_FILE':
                                      dds_profile.profile_path()}
    assert dds_profile.apply(env) == {}
    mine = {'FASTDDS_DEFAULT_PROFILES_FILE': '/mine.xml'}
    dds_profile.apply(mine)
    assert mine == {'FASTDDS_DEFAULT_PROFILES_FILE': '/mine.xml'}


def test_the_shared_memory_segment_holds_several_full_hd_frames():
    root = ET.parse(dds_profile.profile_path()).getroot()
    shm = [d for d in root.iterfind('.//dds:transport_descriptor', NS)
           if d.findtext('dds:type', namespaces=NS) == 'SHM']
    assert len(shm) == 1
    segment = int(shm[0].findtext('dds:segment_size', namespaces=NS))
    assert segment >= 2 * 1920 * 1080 * 3
    participant = root.find('.//dds:participant', NS)
    assert participant.get('is_default_profile') == 'true'
    used = [t.text for t in participant.iterfind('.//dds:userTransports/dds:transport_id', NS)]
    assert shm[0].findtext('dds:transport_id', namespaces=NS) in used
    assert participant.findtext('.//dds:useBuiltinTransports', namespaces=NS) == 'false'
