"""Declare a node's parameters from its spec file; validate on set, apply after the set."""

from dynofa_ros.core.common import param_spec
from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.exceptions import ParameterException
from rclpy.parameter import Parameter

KINDS = {
    'bool': Parameter.Type.BOOL, 'integer': Parameter.Type.INTEGER,
    'double': Parameter.Type.DOUBLE, 'string': Parameter.Type.STRING,
    'integer_array': Parameter.Type.INTEGER_ARRAY, 'string_array': Parameter.Type.STRING_ARRAY,
}

_ARRAYS = (Parameter.Type.INTEGER_ARRAY, Parameter.Type.STRING_ARRAY)


def descriptor(param):
    """Return the ParameterDescriptor of a param_spec.Param: type, range, read_only, rules."""
    d = ParameterDescriptor(
        description=param.description, type=KINDS[param.kind].value, read_only=param.read_only,
        additional_constraints=param_spec.constraints(param))
    if param.bounds is not None and param.kind == 'double':
        d.floating_point_range = [FloatingPointRange(
            from_value=float(param.bounds[0]), to_value=float(param.bounds[1]), step=0.0)]
    elif param.bounds is not None and param.kind == 'integer':
        d.integer_range = [IntegerRange(
            from_value=int(param.bounds[0]), to_value=int(param.bounds[1]), step=1)]
    return d


class SpecParameters:
    """
    A node's parameters as its spec declares them.

    The on-set callback only validates: the spec's rules, then the node's own `check(values)`
    (context such as the probed hardware; '' or the reason). The post-set callback hands the
    accepted values to the node's `apply(values)`. Both are given to start(), once the node can
    judge and apply; before that (while declaring) only the spec's rules run.
    """

    def __init__(self, node, spec):
        self.node, self.spec = node, spec
        self._check, self._apply = None, None
        node.add_on_set_parameters_callback(self._on_set)
        node.add_post_set_parameters_callback(self._post_set)

    def declare(self):
        """Declare every parameter outside the mapped blocks; return {name: start value}."""
        return {p.name: self._declare(p.name, p, p.default) for p in self.spec.parameters}

    def declare_mapped(self, prefix, ids, defaults=None):
        """Declare <prefix>.<id>.<key> for every id; defaults overrides spec defaults by key."""
        defaults = defaults or {}
        return {f'{prefix}.{i}.{p.name}': self._declare(f'{prefix}.{i}.{p.name}', p,
                                                        defaults.get(p.name, p.default))
                for i in ids for p in self.spec.block(prefix).parameters}

    def start(self, check=None, apply=None):
        """From now on validate sets with check(values) too, and apply(values) after them."""
        self._check, self._apply = check, apply

    def _declare(self, name, param, default):
        unset = default is None or default == []  # ROS cannot infer a type from these
        try:
            value = self.node.declare_parameter(
                name, KINDS[param.kind] if unset else default, descriptor(param)).value
        except ParameterException as exc:
            raise ValueError(f'parameter {name}: {exc.args[0]}') from None
        if value is None:
            return default
        return list(value) if param.kind.endswith('_array') else value

    def _on_set(self, parameters):
        values = _values(parameters)
        for name, value in values.items():
            reason = self.spec.check(name, value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        if self._check is not None:
            reason = self._check(values)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _post_set(self, parameters):
        if self._apply is not None:
            self._apply(_values(parameters))


def _values(parameters):
    """Return {name: value} with array values as lists (rclpy gives array.array)."""
    return {p.name: list(p.value) if p.type_ in _ARRAYS and p.value is not None else p.value
            for p in parameters}
