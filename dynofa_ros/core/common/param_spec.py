"""
A node's parameters as one declarative YAML spec, config/params/<node>.yaml: read, check.

Each parameter has a type, a default, a description, read_only and validation (bounds,
element_bounds, one_of, not_empty, unique, pattern); a mapped block declares <prefix>.<id>.<key>
parameters for every id listed in another parameter (the manager's apps.<id>.*). `check` returns
'' or the reason a value is refused, as generate_parameter_library validators do.
"""

from collections.abc import Sequence
from dataclasses import dataclass
import math
import os
import re

from dynofa_ros.core.common import paths, yaml_file
from dynofa_ros.core.common.errors import ConfigError

TYPES = ('bool', 'integer', 'double', 'string', 'integer_array', 'string_array')
# name: (regex, what a matching value is), for the pattern validator.
PATTERNS = {
    'topic_name': (re.compile(r'^[~/]?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$'),
                   'a ROS topic name'),
    'device': (re.compile(r'^(cpu|cuda(:[0-9]+)?)$'), "'cpu', 'cuda' or 'cuda:N'"),
    'identifier': (re.compile(r'^[A-Za-z0-9_]+$'), 'letters, digits and underscores'),
}
NO_EXAMPLE = '<no example>'
_FIELDS = {'type', 'default', 'description', 'read_only', 'validation', 'example'}
_VALIDATORS = {'bounds', 'element_bounds', 'one_of', 'not_empty', 'unique', 'pattern'}


class SpecError(ConfigError):
    """A parameter spec file is malformed; the message names the file and the parameter."""


@dataclass(frozen=True)
class Param:
    """One parameter; name is the key inside its mapped block for mapped parameters."""

    name: str
    kind: str                       # one of TYPES
    default: object
    description: str
    read_only: bool = False
    bounds: tuple = None            # inclusive (low, high) of a number
    element_bounds: tuple = None    # inclusive (low, high) of every element of an integer_array
    one_of: tuple = ()
    not_empty: bool = False
    unique: bool = False            # array elements must be distinct
    pattern: str = None             # a PATTERNS name; per element for string_array
    example: object = NO_EXAMPLE    # the value the example config shows instead of the default

    @property
    def numeric(self):
        """Return True for integer and double parameters."""
        return self.kind in ('integer', 'double')


@dataclass(frozen=True)
class Mapped:
    """Parameters <prefix>.<id>.<key>, one block per id listed in parameter keys_from."""

    prefix: str
    keys_from: str
    parameters: tuple


@dataclass(frozen=True)
class NodeParameterSpec:
    """The parameters of one node, as read from its spec file."""

    node: str
    title: str
    summary: str
    example_header: str
    parameters: tuple
    mapped: tuple = ()
    path: str = ''

    def names(self):
        """Return the names of the parameters that are not mapped."""
        return [p.name for p in self.parameters]

    def find(self, name):
        """Return (Param, mapped block or None, id or None) for a full name, or (None, ...)."""
        for param in self.parameters:
            if param.name == name:
                return param, None, None
        parts = name.split('.')
        for block in self.mapped:
            if len(parts) == 3 and parts[0] == block.prefix:
                for param in block.parameters:
                    if param.name == parts[2]:
                        return param, block, parts[1]
        return None, None, None

    def check(self, name, value):
        """Return '' when value is acceptable for parameter name, otherwise the reason."""
        param = self.find(name)[0]
        if param is None:
            return f'unknown parameter {name!r}'
        return check(param, value, name)

    def defaults(self):
        """Return {name: default} of the parameters that are not mapped."""
        return {p.name: p.default for p in self.parameters}

    def block(self, prefix):
        """Return the mapped block with this prefix."""
        return next(b for b in self.mapped if b.prefix == prefix)


def _type_error(param, value, where):
    kind = param.kind
    if kind == 'bool':
        ok, text = isinstance(value, bool), 'true or false'
    elif kind == 'integer':
        ok, text = isinstance(value, int) and not isinstance(value, bool), 'an integer'
    elif kind == 'double':
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        text = 'a number'
    elif kind == 'string':
        ok, text = isinstance(value, str), 'a string'
    else:
        cls = int if kind == 'integer_array' else str
        ok = isinstance(value, Sequence) and not isinstance(value, str) and all(
            isinstance(v, cls) and not isinstance(v, bool) for v in value)
        text = f'a list of {"integers" if cls is int else "strings"}'
    return '' if ok else f'{where} must be {text}, got {value!r}'


def check(param, value, where=None):
    """Return '' when value is acceptable for param (named where), otherwise the reason."""
    where = where or param.name
    if value is None:
        return '' if param.default in (None, []) else f'{where} must be set'
    reason = _type_error(param, value, where)
    if reason:
        return reason
    if param.kind == 'double' and not math.isfinite(value):
        return f'{where} must be finite, got {value}'
    if param.bounds is not None and not param.bounds[0] <= value <= param.bounds[1]:
        low, high = param.bounds
        return f'{where} must be in [{low:g}, {high:g}], got {value}'
    values = list(value) if param.kind.endswith('_array') else [value]
    if param.element_bounds is not None:
        low, high = param.element_bounds
        bad = [v for v in values if not low <= v <= high]
        if bad:
            return f'{where} value(s) {bad} outside [{low}, {high}]'
    if param.one_of and value not in param.one_of:
        return f'{where} must be one of {", ".join(map(str, param.one_of))}, got {value!r}'
    if param.not_empty and not (value.strip() if isinstance(value, str) else value):
        return (f'{where} must be a non-empty list' if param.kind.endswith('_array')
                else f'{where} must not be empty')
    if param.unique and len(set(values)) != len(values):
        twice = sorted({v for v in values if values.count(v) > 1})
        return f'{where} must list distinct values: it lists {twice} twice'
    if param.pattern is not None:
        regex, meaning = PATTERNS[param.pattern]
        bad = [v for v in values if not regex.match(v)]
        if bad and param.kind.endswith('_array'):
            return f'{where} elements must be {meaning}: {bad}'
        if bad:
            return f'{where} must be {meaning}, got {value!r}'
    return ''


def constraints(param):
    """Return the validation of param in words, e.g. 'in [1, 10]; one of a, b' ('' if none)."""
    def number(x):
        return str(int(x)) if float(x).is_integer() else str(x)

    words = []
    for rule, what in ((param.bounds, 'in'), (param.element_bounds, 'each element in')):
        if rule is not None:
            words.append(f'{what} [{number(rule[0])}, {number(rule[1])}]')
    if param.one_of:
        words.append(f'one of {", ".join(map(str, param.one_of))}')
    if param.not_empty:
        words.append('not empty')
    if param.unique:
        words.append('distinct elements')
    if param.pattern is not None:
        meaning = PATTERNS[param.pattern][1]
        words.append(f'{"elements " if param.kind.endswith("_array") else ""}{meaning}')
    return '; '.join(words)


# --- reading a spec file ---------------------------------------------------------------------
def _fail(path, where, text):
    raise SpecError(f'{path}: {where}: {text}')


def _bounds(path, where, value):
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or value[0] > value[1]):
        _fail(path, where, f'bounds must be [low, high] numbers with low <= high, got {value!r}')
    return tuple(value)


def _param(path, where, name, entry):
    if not isinstance(entry, dict):
        _fail(path, where, 'must be a mapping of type, default, description, ...')
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        _fail(path, where, f'unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}')
    kind = entry.get('type')
    if kind not in TYPES:
        _fail(path, where, f'type must be one of {", ".join(TYPES)}, got {kind!r}')
    if 'default' not in entry:
        _fail(path, where, 'has no default (write default: null for an unset array)')
    if not isinstance(entry.get('description'), str) or not entry['description'].strip():
        _fail(path, where, 'needs a description')
    if not isinstance(entry.get('read_only', False), bool):
        _fail(path, where, 'read_only must be true or false')
    rules = entry.get('validation') or {}
    if not isinstance(rules, dict) or set(rules) - _VALIDATORS:
        _fail(path, where, f'validation may only hold {sorted(_VALIDATORS)}, got {rules!r}')
    fields = {}
    if 'bounds' in rules:
        if kind not in ('integer', 'double'):
            _fail(path, where, 'bounds apply to integer and double parameters only')
        fields['bounds'] = _bounds(path, where, rules['bounds'])
    if 'element_bounds' in rules:
        if kind != 'integer_array':
            _fail(path, where, 'element_bounds apply to integer_array parameters only')
        fields['element_bounds'] = _bounds(path, where, rules['element_bounds'])
    if 'one_of' in rules:
        if not isinstance(rules['one_of'], list) or not rules['one_of']:
            _fail(path, where, 'one_of must be a non-empty list')
        fields['one_of'] = tuple(rules['one_of'])
    for flag in ('not_empty', 'unique'):
        if flag in rules:
            if not isinstance(rules[flag], bool):
                _fail(path, where, f'{flag} must be true or false')
            fields[flag] = rules[flag]
    if 'unique' in rules and not kind.endswith('_array'):
        _fail(path, where, 'unique applies to array parameters only')
    if 'pattern' in rules:
        if rules['pattern'] not in PATTERNS or kind not in ('string', 'string_array'):
            _fail(path, where, f'pattern must be one of {sorted(PATTERNS)} on a string '
                  f'parameter, got {rules["pattern"]!r}')
        fields['pattern'] = rules['pattern']
    param = Param(name, kind, entry['default'], ' '.join(entry['description'].split()),
                  entry.get('read_only', False), example=entry.get('example', NO_EXAMPLE),
                  **fields)
    for label, value in (('default', param.default), ('example', param.example)):
        if value is NO_EXAMPLE:
            continue
        reason = check(param, value)
        if reason:
            _fail(path, where, f'{label} is not valid: {reason}')
    return param


def _params(path, where, table):
    if not isinstance(table, dict) or not table:
        _fail(path, where, 'must be a non-empty mapping of parameter name to fields')
    return tuple(_param(path, f'{where}.{name}' if where != 'parameters' else name, name, entry)
                 for name, entry in table.items())


def parse(data, path='<spec>'):
    """Return the NodeParameterSpec of parsed YAML data; raise SpecError naming the parameter."""
    if not isinstance(data, dict):
        _fail(path, 'top level', 'must be a mapping with node, title, parameters')
    for key in ('node', 'title', 'summary', 'example_header'):
        if not isinstance(data.get(key), str) or not data[key].strip():
            _fail(path, key, 'must be a non-empty string')
    unknown = sorted(set(data) - {'node', 'title', 'summary', 'example_header', 'parameters',
                                  'mapped'})
    if unknown:
        _fail(path, 'top level', f'unknown key(s) {unknown}')
    parameters = _params(path, 'parameters', data.get('parameters'))
    mapped = []
    for prefix, block in (data.get('mapped') or {}).items():
        where = f'mapped.{prefix}'
        if not isinstance(block, dict) or set(block) != {'keys_from', 'parameters'}:
            _fail(path, where, 'must hold keys_from and parameters')
        source = next((p for p in parameters if p.name == block['keys_from']), None)
        if source is None or source.kind != 'string_array':
            _fail(path, where, f'keys_from {block["keys_from"]!r} must name a string_array '
                  'parameter')
        mapped.append(Mapped(prefix, block['keys_from'],
                             _params(path, where, block['parameters'])))
    return NodeParameterSpec(data['node'], data['title'].strip(), data['summary'].strip(),
                             data['example_header'].rstrip(), parameters, tuple(mapped), path)


def load(path):
    """Return the NodeParameterSpec in a spec file; raise SpecError naming file and parameter."""
    return parse(yaml_file.load(path, 'parameter spec', SpecError), path)


def spec_path(node, root=None):
    """Return the path of a node's spec file (root: the source tree or installed share)."""
    return os.path.join(root or paths.package_share(), 'config', 'params', f'{node}.yaml')


def load_node(node, root=None):
    """Return the NodeParameterSpec of node 'perception', 'manager' or 'hardware'."""
    return load(spec_path(node, root))
