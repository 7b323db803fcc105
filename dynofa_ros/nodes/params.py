"""Parameter descriptors: the one place that turns a kind and a range into what ROS shows."""

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.parameter import Parameter

KINDS = {
    'bool': Parameter.Type.BOOL, 'integer': Parameter.Type.INTEGER,
    'double': Parameter.Type.DOUBLE, 'string': Parameter.Type.STRING,
    'integer_array': Parameter.Type.INTEGER_ARRAY, 'string_array': Parameter.Type.STRING_ARRAY,
}


def kind_of(value):
    """Return the kind name of a default value (bool, integer, double or string)."""
    for kind, cls in (('bool', bool), ('integer', int), ('double', float), ('string', str)):
        if isinstance(value, cls):
            return kind
    raise TypeError(f'no parameter kind for {value!r}')


def descriptor(description, kind, bounds=None, read_only=False, choices=()):
    """Return a ParameterDescriptor with its type, inclusive (low, high) range and flags."""
    d = ParameterDescriptor(
        description=description, type=KINDS[kind].value, read_only=read_only,
        additional_constraints=f'one of {", ".join(choices)}' if choices else '')
    if bounds is not None and kind == 'double':
        d.floating_point_range = [FloatingPointRange(
            from_value=float(bounds[0]), to_value=float(bounds[1]), step=0.0)]
    elif bounds is not None and kind == 'integer':
        d.integer_range = [IntegerRange(
            from_value=int(bounds[0]), to_value=int(bounds[1]), step=1)]
    return d
