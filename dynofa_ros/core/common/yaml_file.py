"""Read a YAML configuration file with errors that name the file and what it was meant to be."""

from dynofa_ros.core.common.errors import ConfigError
import yaml


def load(path, what, error=ConfigError):
    """Return the parsed contents of path; raise `error` naming `what` and the path on failure."""
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except OSError as exc:
        raise error(f'cannot read {what} {path}: {exc.strerror}') from None
    except yaml.YAMLError as exc:
        raise error(f'{what} {path} is not valid YAML: {exc}') from None
