"""Convert ROS messages to and from plain dicts (for YAML printing, command-line publishing)."""

import array
import importlib
import math

import numpy as np


def message_class(type_name, default_package='dynofa_ros'):
    """
    Import a message class from 'pkg/msg/Name', 'pkg/Name' or 'Name' (in default_package).

    Raise ValueError naming the type when it cannot be found.
    """
    parts = type_name.strip().split('/')
    if len(parts) == 1:
        pkg, name = default_package, parts[0]
    elif len(parts) == 2:
        pkg, name = parts
    elif len(parts) == 3 and parts[1] == 'msg':
        pkg, name = parts[0], parts[2]
    else:
        raise ValueError(f'bad message type {type_name!r}: use pkg/msg/Name')
    try:
        return getattr(importlib.import_module(f'{pkg}.msg'), name)
    except (ImportError, AttributeError):
        raise ValueError(f'unknown message type {pkg}/msg/{name}')


def to_dict(msg):
    """Return a message as nested dicts, lists and Python scalars."""
    if not hasattr(msg, 'get_fields_and_field_types'):
        if isinstance(msg, (bytes, bytearray)):
            return list(msg)
        if isinstance(msg, (array.array, np.ndarray, list, tuple)):
            return [to_dict(v) for v in msg]
        if isinstance(msg, float) and not math.isfinite(msg):
            return str(msg)
        return msg.item() if isinstance(msg, np.generic) else msg
    return {name: to_dict(getattr(msg, name)) for name in msg.get_fields_and_field_types()}


_INT_BITS = {'int8': (True, 8), 'uint8': (False, 8), 'int16': (True, 16),
             'uint16': (False, 16), 'int32': (True, 32), 'uint32': (False, 32),
             'int64': (True, 64), 'uint64': (False, 64), 'byte': (False, 8),
             'octet': (False, 8), 'char': (False, 8)}
_FLOATS = ('float', 'double', 'float32', 'float64')


def _element_type(ftype):
    """Return (element, True) for sequence<T>, sequence<T, N> and T[N]; else (ftype, False)."""
    if ftype.startswith('sequence<'):
        return ftype[len('sequence<'):-1].split(',')[0].strip(), True
    if ftype.endswith(']') and '[' in ftype:
        return ftype[:ftype.index('[')], True
    return ftype, False


def convert(value, ftype, where='value'):
    """
    Convert a YAML scalar to a primitive field type (ros2cli does the same), or raise ValueError.

    An integer fits a float field; a float with no fraction fits an integer field in range;
    anything else that is not already of the field's type is refused (a bool is not a number).
    Message classes that skip their own field checks (ROS_PYTHON_CHECK_FIELDS unset) would
    otherwise keep a wrong type and fail at publish time, in C, killing the process.
    """
    base = ftype.split('<=')[0]
    if base in _FLOATS:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif base in _INT_BITS:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            signed, bits = _INT_BITS[base]
            low, high = (-(1 << bits - 1), (1 << bits - 1) - 1) if signed else (0, (1 << bits) - 1)
            if low <= value <= high:
                return value
            raise ValueError(f'{where}: {value} is out of range for {ftype} [{low}, {high}]')
    elif base == 'boolean':
        if isinstance(value, bool):
            return value
    elif base in ('string', 'wstring'):
        if isinstance(value, (str, int, float)):
            return str(value)
    else:
        return value
    raise ValueError(f'{where}: {value!r} does not fit type {ftype}')


def fill(msg, values, path=''):
    """
    Set fields of a message from a dict, recursing into nested messages; return the message.

    Numbers are converted to the field's type as `ros2 topic pub` does (40 into a float field is
    40.0). Raise ValueError naming the field for an unknown field or a value that does not fit.
    """
    if not isinstance(values, dict):
        raise ValueError(f'{path or "message"}: expected a mapping of field names')
    fields = msg.get_fields_and_field_types()
    for name, value in values.items():
        where = f'{path}.{name}' if path else name
        if name not in fields:
            raise ValueError(f'{where}: no such field (fields: {", ".join(fields)})')
        current = getattr(msg, name)
        if hasattr(current, 'get_fields_and_field_types'):
            fill(current, value, where)
            continue
        ftype = fields[name]
        element, is_array = _element_type(ftype)
        if is_array:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f'{where}: {value!r} does not fit type {ftype} (a list)')
            if '/' in element:
                inner = message_class(element)
                value = [fill(inner(), v, f'{where}[{i}]') for i, v in enumerate(value)]
            else:
                value = [convert(v, element, f'{where}[{i}]') for i, v in enumerate(value)]
        else:
            value = convert(value, ftype, where)
        try:
            setattr(msg, name, value)
        except (AssertionError, TypeError, ValueError) as exc:
            raise ValueError(f'{where}: {value!r} does not fit type {ftype} ({exc})')
    return msg
