"""
Classification results in the vision_msgs shape: header + ObjectHypothesis results, labels once.

Where the vision_msgs package is importable (apt ros-<distro>-vision-msgs on a robot) the node
publishes the standard vision_msgs/Classification and vision_msgs/LabelInfo; elsewhere it
publishes dynofa_ros/VisionClassification and dynofa_ros/LabelInfo, which have the same fields,
so consumers written against vision_msgs need no adapter beyond the type name.
"""

from collections import namedtuple
import importlib

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

# Labels: sent once, kept for subscribers that join later.
LABEL_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.TRANSIENT_LOCAL)

VisionTypes = namedtuple(
    'VisionTypes', 'package classification hypothesis label_info vision_class')


def vision_types(import_module=importlib.import_module):
    """Return the vision_msgs message classes when importable, else this package's equivalents."""
    try:
        msgs = import_module('vision_msgs.msg')
        return VisionTypes('vision_msgs', msgs.Classification, msgs.ObjectHypothesis,
                           msgs.LabelInfo, msgs.VisionClass)
    except (ImportError, AttributeError):
        msgs = import_module('dynofa_ros.msg')
        return VisionTypes('dynofa_ros', msgs.VisionClassification, msgs.ObjectHypothesis,
                           msgs.LabelInfo, msgs.VisionClass)


def classification(types, header, class_ids, scores):
    """Return a Classification: class ids as text (the LabelInfo ids), scores best first."""
    return types.classification(header=header, results=[
        types.hypothesis(class_id=str(int(i)), score=float(s)) for i, s in zip(class_ids, scores)])


def label_info(types, stamp, labels, threshold=0.0):
    """Return the LabelInfo mapping every class id (the list index) to its name."""
    msg = types.label_info(class_map=[types.vision_class(class_id=i, class_name=name)
                                      for i, name in enumerate(labels)], threshold=threshold)
    msg.header.stamp = stamp
    return msg
