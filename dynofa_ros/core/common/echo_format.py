"""
Messages as dicts for printing, long arrays and strings shortened as `ros2 topic echo` does.

Arrays, byte sequences and strings longer than truncate_length keep their first truncate_length
elements (characters) followed by '...'; no_arr / no_str replace them by a one-line summary.
Only the kept elements are converted, so an image prints in about the time of a small message.
"""

import array
import math

from dynofa_ros.core.common.msg_dict import to_dict
import numpy as np

TRUNCATE_LENGTH = 128  # the ros2 topic echo default
_SEQUENCES = (bytes, bytearray, array.array, np.ndarray, list, tuple)


def echo_dict(msg, truncate_length=TRUNCATE_LENGTH, no_arr=False, no_str=False):
    """Return msg as nested dicts; truncate_length <= 0 prints everything."""
    return {name: _value(getattr(msg, name), ftype, truncate_length, no_arr, no_str)
            for name, ftype in msg.get_fields_and_field_types().items()}


def _summary(ftype, length):
    if ftype.startswith('sequence<'):
        inner = ftype[len('sequence<'):-1].split(',')[0]
        return f'<sequence type: {inner}, length: {length}>'
    return f'<array type: {ftype.split("[")[0]}[{length}]>'


def _value(value, ftype, limit, no_arr, no_str):
    if hasattr(value, 'get_fields_and_field_types'):
        return echo_dict(value, limit, no_arr, no_str)
    if isinstance(value, str):
        if no_str:
            return f'<string length: {len(value)}>'
        return value[:limit] + '...' if 0 < limit < len(value) else value
    if isinstance(value, _SEQUENCES):
        if no_arr:
            return _summary(ftype, len(value))
        kept = value[:limit] if 0 < limit < len(value) else value
        inner = ftype[len('sequence<'):-1].split(',')[0] if ftype.startswith('sequence<') \
            else ftype.split('[')[0]
        items = [_value(v, inner, limit, no_arr, no_str) for v in kept] \
            if not isinstance(kept, (bytes, bytearray)) else list(kept)
        return items + ['...'] if len(kept) < len(value) else items
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return to_dict(value)
