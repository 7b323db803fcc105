"""
Get, set and list parameters of a running node (`ros2 param` for machines without ros2cli).

    param get /manager apps.cam.latency_target_ms
    param set /manager apps.cam.latency_target_ms 60.0
    param list /manager
    param dump /manager

Values are parsed as YAML, as `ros2 param set` does: 60 is an integer, 60.0 a double, true a
bool, [1, 2] an integer array, anything else (a mapping too) the text as a string. A refused set
prints the node's reason and exits 1. A name the node does not have (undeclared, or declared
without a value) prints `Parameter not set` and exits 1, as `ros2 param get` does; an absent node
exits 1 too. Options go before or after the sub-command (`param get /manager x --timeout 3`).

The node's rcl_interfaces parameter services are called directly, so this works with Humble's
rclpy, which has no rclpy.parameter_client.
"""

import argparse
import sys

from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import GetParameters, ListParameters, SetParameters
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python
import yaml

NOT_SET = 'Parameter not set'


def parse_value(text):
    """Turn a command-line value into the Python value `ros2 param set` would send."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, list):
        if not value:
            raise ValueError('empty arrays have no type; give at least one element')
        if len({type(v) for v in value}) != 1 or not isinstance(value[0], (bool, int, float, str)):
            raise ValueError(f'arrays must hold values of one scalar type: {text}')
        return value
    if isinstance(value, (bool, int, float)):
        return value
    return text


class ParamClient:
    """A short-lived node that talks to another node's parameter services."""

    def __init__(self, target, timeout=10.0, context=None):
        self._own_context = context is None
        self.context = context or rclpy.Context()
        if self._own_context:
            rclpy.init(context=self.context)
        self.node = Node('dynofa_param_client', context=self.context,
                         start_parameter_services=False)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.timeout = timeout
        self.target = target
        base = target.rstrip('/')
        self.clients = {kind: self.node.create_client(srv, f'{base}/{kind}') for kind, srv in (
            ('get_parameters', GetParameters), ('set_parameters', SetParameters),
            ('list_parameters', ListParameters))}
        if not all(c.wait_for_service(timeout_sec=timeout) for c in self.clients.values()):
            self.close()
            raise TimeoutError(f'node {target} is not reachable (no parameter services after '
                               f'{timeout:.0f} s)')

    def _call(self, kind, request):
        future = self.clients[kind].call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=self.timeout)
        if not future.done():
            raise TimeoutError(f'{self.target} did not answer within {self.timeout:.0f} s')
        return future.result()

    def get_values(self, names):
        """
        Return {name: value}; names the node has no value for are left out.

        A node answers an undeclared or uninitialised name with no values at all (rclpy) or a
        PARAMETER_NOT_SET value; either way the name is not set.
        """
        values = self._call('get_parameters', GetParameters.Request(names=list(names))).values
        if len(values) != len(names):
            return {}
        return {n: parameter_value_to_python(v) for n, v in zip(names, values)
                if v.type != ParameterType.PARAMETER_NOT_SET}

    def set_values(self, values):
        """Set parameters; return {name: (successful, reason)}."""
        params = [Parameter(n, value=v) for n, v in values.items()]
        request = SetParameters.Request(parameters=[p.to_parameter_msg() for p in params])
        results = self._call('set_parameters', request).results
        return {p.name: (r.successful, r.reason) for p, r in zip(params, results)}

    def names(self):
        request = ListParameters.Request(prefixes=[], depth=0)
        return sorted(self._call('list_parameters', request).result.names)

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        if self._own_context:
            self.context.try_shutdown()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='param', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--timeout', type=float, default=10.0, help='seconds to wait for the node')
    sub = parser.add_subparsers(dest='command', required=True)
    for name in ('get', 'set', 'list', 'dump'):
        p = sub.add_parser(name)
        # The same option after the sub-command; SUPPRESS keeps an earlier --timeout.
        p.add_argument('--timeout', type=float, default=argparse.SUPPRESS,
                       help='seconds to wait for the node (default 10)')
        p.add_argument('node', help='node name, e.g. /manager')
        if name in ('get', 'set'):
            p.add_argument('name', help='parameter name')
        if name == 'set':
            p.add_argument('value', help='new value (YAML syntax)')
    args = parser.parse_args(argv)
    try:
        value = parse_value(args.value) if args.command == 'set' else None
    except ValueError as exc:
        parser.error(str(exc))
    try:
        client = ParamClient(args.node, args.timeout)
    except TimeoutError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    try:
        if args.command == 'get':
            values = client.get_values([args.name])
            if args.name not in values:
                print(NOT_SET, file=sys.stderr)
                return 1
            text = yaml.safe_dump(values[args.name], default_flow_style=True)
            print(text.strip().removesuffix('...').strip())
        elif args.command == 'set':
            ok, reason = client.set_values({args.name: value})[args.name]
            if not ok:
                print(f'refused: {reason or "no reason given"}', file=sys.stderr)
                return 1
            print('set')
        elif args.command == 'list':
            print('\n'.join(client.names()))
        else:
            names = client.names()
            print(yaml.safe_dump({args.node: {'ros__parameters': client.get_values(names)}},
                                 default_flow_style=None, sort_keys=True), end='')
        return 0
    except TimeoutError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == '__main__':
    sys.exit(main())
