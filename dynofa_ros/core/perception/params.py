"""
The perception node's parameters as plain data: type, default, range, meaning, live or not.

The node turns each spec into a ParameterDescriptor and calls check() from its on-set-parameters
callback; the README table and config/perception.yaml describe the same list.
"""

from dataclasses import dataclass
import re

from dynofa_ros.core.common.catalog import DEFAULT_CATALOG

_TOPIC = re.compile(r'^[~/]?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$')
_DEVICE = re.compile(r'^(cpu|cuda(:[0-9]+)?)$')


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: kind is 'string', 'bool', 'integer', 'double' or 'integer_array'."""

    name: str
    kind: str
    default: object
    description: str
    live: bool = False            # False: read-only after start (the node needs a restart)
    bounds: tuple = None          # inclusive (low, high); per element for integer_array
    choices: tuple = ()


PARAMS = (
    ParamSpec('checkpoint', 'string', '',
              "OFA supernet checkpoint ({'state_dict': ...}); '' runs random weights (WARN)"),
    ParamSpec('catalog', 'string', DEFAULT_CATALOG,
              'sub-network catalog YAML (absolute, working-directory or package-relative path)'),
    ParamSpec('initial_subnet', 'string', '',
              "catalog id of the sub-network to start with; '' = the most accurate one"),
    ParamSpec('device', 'string', 'cpu', "inference device: 'cpu' or 'cuda[:N]'", live=True),
    ParamSpec('num_threads', 'integer', 0, "torch intra-op threads; 0 keeps torch's default",
              live=True, bounds=(0, 256)),
    ParamSpec('cpu_affinity', 'integer_array', None,
              'CPU cores the inference worker may run on; unset = no pinning',
              live=True, bounds=(0, 1023)),
    ParamSpec('top_k', 'integer', 5, 'number of classes in each Classification', live=True,
              bounds=(1, 10)),
    ParamSpec('app_id', 'string', 'cam',
              'application id: commands with another app_id are ignored; copied to outputs'),
    ParamSpec('image_topic', 'string', 'camera/image_raw',
              "camera topic (relative); with compressed: true '<image_topic>/compressed' is used"),
    ParamSpec('compressed', 'bool', False, 'subscribe to sensor_msgs/CompressedImage'),
    ParamSpec('classification_topic', 'string', 'classification', 'Classification output'),
    ParamSpec('stats_topic', 'string', 'perception_stats', 'PerceptionStats output'),
    ParamSpec('subnet_command_topic', 'string', 'subnet_command', 'SubnetCommand input'),
    ParamSpec('mapping_command_topic', 'string', 'mapping_command', 'MappingCommand input'),
    ParamSpec('qos_reliability', 'string', 'best_effort',
              "camera subscription reliability: 'best_effort' (sensor data) or 'reliable'",
              choices=('best_effort', 'reliable')),
    ParamSpec('qos_depth', 'integer', 5, 'camera subscription history depth', bounds=(1, 100)),
    ParamSpec('cache_budget_mb', 'double', 512.0,
              'memory for extracted static sub-networks (0 = always run the supernet)',
              bounds=(0.0, 65536.0)),
    ParamSpec('dvfs_emulation.cur_freq_file', 'string', '',
              'SIMULATED HARDWARE ONLY: a fake sysfs current-frequency file whose value stretches '
              'each inference by f_max / f (see core/fake_hardware/dvfs_emulation.py); '
              "'' = off (robots)"),
    ParamSpec('dvfs_emulation.sensitivity', 'double', 0.9,
              'share of inference time that scales with 1 / frequency under emulation',
              bounds=(0.0, 1.0)),
)

SPECS = {spec.name: spec for spec in PARAMS}


def check(name, value):
    """Return '' when value is acceptable for parameter name, otherwise the reason it is not."""
    spec = SPECS.get(name)
    if spec is None:
        return f'unknown parameter {name!r}'
    if value is None:
        return '' if spec.default is None else f'{name} must be set'
    values = list(value) if spec.kind == 'integer_array' else [value]
    if spec.bounds is not None:
        low, high = spec.bounds
        bad = [v for v in values if not low <= v <= high]
        if bad:
            return f'{name} value(s) {bad} outside [{low}, {high}]'
    if spec.choices and value not in spec.choices:
        return f'{name} must be one of {", ".join(spec.choices)}, got {value!r}'
    if name == 'device' and not _DEVICE.match(value):
        return f"device must be 'cpu', 'cuda' or 'cuda:N', got {value!r}"
    if name == 'app_id' and not value.strip():
        return 'app_id must not be empty'
    if name.endswith('_topic') and not _TOPIC.match(value):
        return f'{name} {value!r} is not a valid ROS topic name'
    if name == 'catalog' and not value:
        return 'catalog must name a catalog file'
    if name == 'cpu_affinity' and len(set(values)) != len(values):
        return f'cpu_affinity lists a core twice: {values}'
    return ''


def compressed_topic(image_topic):
    """Return the image_transport name of the compressed variant of a camera topic."""
    return image_topic.rstrip('/') + '/compressed'
