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


def fill(msg, values, path=''):
    """
    Set fields of a message from a dict, recursing into nested messages; return the message.

    Raise ValueError naming the field for an unknown field or a value of the wrong type.
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
        if ftype.startswith('sequence<') and '/' in ftype:
            inner = message_class(ftype[len('sequence<'):].rstrip('>').split(',')[0])
            value = [fill(inner(), v, f'{where}[{i}]') for i, v in enumerate(value)]
        try:
            setattr(msg, name, value)
        except (AssertionError, TypeError, ValueError) as exc:
            raise ValueError(f'{where}: {value!r} does not fit type {ftype} ({exc})')
    return msg
