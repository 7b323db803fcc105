"""
The base of every configuration error: a file or setting that is missing or wrong.

Nodes catch ConfigError (and nothing broader) at start-up and exit with its one-line message, so
a real bug keeps its traceback. It derives from ValueError so existing callers that catch
ValueError keep working.
"""


class ConfigError(ValueError):
    """A configuration file or setting is missing or wrong; the message says which and why."""


class ConfigFileNotFound(ConfigError, FileNotFoundError):
    """A configuration file (profile, catalog, checkpoint...) does not exist."""
