"""The vision_msgs-shaped result: standard types when importable, same-shaped own types if not."""

from types import SimpleNamespace

from builtin_interfaces.msg import Time
from dynofa_ros import msg as own
from dynofa_ros.nodes import vision_results
from std_msgs.msg import Header


def test_without_vision_msgs_the_package_types_with_the_same_fields_are_used():
    def no_vision_msgs(name):
        if name.startswith('vision_msgs'):
            raise ModuleNotFoundError(name)
        return __import__(name, fromlist=['_'])
    types = vision_results.vision_types(no_vision_msgs)
    assert types.package == 'dynofa_ros' and types.classification is own.VisionClassification
    # The fields and types of vision_msgs 4.x (Humble, Jazzy).
    assert own.VisionClassification.get_fields_and_field_types() == {
        'header': 'std_msgs/Header', 'results': 'sequence<dynofa_ros/ObjectHypothesis>'}
    assert own.ObjectHypothesis.get_fields_and_field_types() == {
        'class_id': 'string', 'score': 'double'}
    assert own.LabelInfo.get_fields_and_field_types() == {
        'header': 'std_msgs/Header', 'class_map': 'sequence<dynofa_ros/VisionClass>',
        'threshold': 'double'}
    assert own.VisionClass.get_fields_and_field_types() == {
        'class_id': 'uint16', 'class_name': 'string'}


def test_an_importable_vision_msgs_is_preferred():
    standard = SimpleNamespace(Classification=object, ObjectHypothesis=int, LabelInfo=str,
                               VisionClass=float)
    types = vision_results.vision_types(
        lambda name: standard if name == 'vision_msgs.msg' else None)
    assert types == ('vision_msgs', object, int, str, float)


def test_result_and_label_map_contents():
    types = vision_results.vision_types()
    header = Header(frame_id='cam', stamp=Time(sec=3))
    msg = vision_results.classification(types, header, [281, 7], [0.75, 0.125])
    assert msg.header == header
    assert [(h.class_id, h.score) for h in msg.results] == [('281', 0.75), ('7', 0.125)]
    info = vision_results.label_info(types, Time(sec=4), ['a', 'b'])
    assert info.header.stamp.sec == 4 and info.threshold == 0.0
    assert [(c.class_id, c.class_name) for c in info.class_map] == [(0, 'a'), (1, 'b')]
