"""Turn plain status rows from the core, (level, name, message, values), into a DiagnosticArray."""

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue


def diagnostic_array(stamp, rows, hardware_id=''):
    """
    Return a DiagnosticArray with one DiagnosticStatus per (level, name, message, values) row.

    level is a number (0 OK, 1 WARN, 2 ERROR, 3 STALE) or a DiagnosticStatus level constant;
    values is a {key: value} dict, kept in its order, every value shown with str().
    """
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [
        DiagnosticStatus(level=level if isinstance(level, bytes) else bytes([level]), name=name,
                         message=message, hardware_id=hardware_id,
                         values=[KeyValue(key=k, value=str(v)) for k, v in values.items()])
        for level, name, message, values in rows]
    return array
