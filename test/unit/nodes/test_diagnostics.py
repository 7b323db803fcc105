"""The one DiagnosticArray renderer the nodes share: rows of plain data in, messages out."""

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus
from dynofa_ros.core.hardware import status
from dynofa_ros.nodes.diagnostics import diagnostic_array


def test_rows_become_statuses_in_order_with_text_values():
    stamp = Time(sec=12, nanosec=34)
    rows = [status.telemetry_status('hardware', ['cpu0: gone'], 'model', False),
            (DiagnosticStatus.STALE, 'manager: cam', 'no frames', {'feasible': True, 'ms': 1.5}),
            (2, 'x', '', {})]
    array = diagnostic_array(stamp, rows, 'jetson_xavier_nx')
    assert array.header.stamp == stamp
    assert [(s.level, s.name, s.message, s.hardware_id) for s in array.status] == [
        (b'\x01', 'hardware: telemetry', '1 stale sensor(s): cpu0: gone', 'jetson_xavier_nx'),
        (b'\x03', 'manager: cam', 'no frames', 'jetson_xavier_nx'),
        (b'\x02', 'x', '', 'jetson_xavier_nx')]
    assert [(kv.key, kv.value) for kv in array.status[0].values] == [
        ('power_source', 'model'), ('power_measured', 'false'), ('stale_sensors', 'cpu0: gone')]
    assert [(kv.key, kv.value) for kv in array.status[1].values] == [
        ('feasible', 'True'), ('ms', '1.5')]
    assert array.status[2].values == []
