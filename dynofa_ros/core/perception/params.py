"""
The perception node's parameters: read from config/params/perception.yaml, plus run-time rules.

The spec file gives each parameter's type, default, range and meaning; `check` validates one
value against it. `check_running` adds what only holds on a running node.
"""

from dynofa_ros.core.common import param_spec

SPEC = param_spec.load_node('perception')
PARAMS = SPEC.parameters
DEFAULT_CATALOG = SPEC.defaults()['catalog']


def check(name, value):
    """Return '' when value is acceptable for parameter name, otherwise the reason it is not."""
    return SPEC.check(name, value)


def check_running(name, value):
    """
    Return '' when a value may be set on the running node, otherwise the reason.

    num_threads 0 means "torch's default" only at start: torch cannot tell the default back once
    a count was set, so a running node refuses 0 instead of accepting it and doing nothing.
    """
    reason = check(name, value)
    if reason:
        return reason
    if name == 'num_threads' and value == 0:
        return ("num_threads 0 (torch's default) applies only at start; give a thread count "
                'of 1 or more')
    return ''


def compressed_topic(image_topic):
    """Return the image_transport name of the compressed variant of a camera topic."""
    return image_topic.rstrip('/') + '/compressed'
