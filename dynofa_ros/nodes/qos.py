"""The QoS profiles of the system's topics (docs/interfaces.md), in one place."""

from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)

# Commands: a node that starts late still receives the last decision.
COMMAND_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
# Telemetry and statistics: every message matters, old ones do not.
TELEMETRY_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                           reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.VOLATILE)
SENSOR_QOS = qos_profile_sensor_data


def camera_qos(reliability='best_effort', depth=5):
    """Return the camera subscription QoS: sensor-data by default, reliable on request."""
    policy = {'best_effort': ReliabilityPolicy.BEST_EFFORT,
              'reliable': ReliabilityPolicy.RELIABLE}[reliability]
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=policy,
                      durability=DurabilityPolicy.VOLATILE)
