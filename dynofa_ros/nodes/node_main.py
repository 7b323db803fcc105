"""The life of a node process: start, spin until Ctrl-C or SIGTERM, clean up, exit code."""

import gc
import sys

from dynofa_ros.core.common.errors import ConfigError
import rclpy
from rclpy.executors import ExternalShutdownException


def run(node_class, name, also=(), args=None, startup_exit_code=1, cleanup=None):
    """
    Run one node until it is interrupted; return the process exit code.

    A ConfigError at start-up (or one of the `also` types, e.g. rclpy's own parameter errors)
    prints its one-line reason and returns startup_exit_code; anything else is a bug and keeps
    its traceback. An exception raised while shutting down (a callback racing the signal) is not
    an error. cleanup (e.g. restoring the hardware) runs before the node is destroyed, however the
    spin ended.
    """
    startup_errors = (ConfigError,) + tuple(also)
    rclpy.init(args=args)
    node, reason = None, None
    try:
        try:
            node = node_class()
        except startup_errors as exc:
            reason = str(exc)
        if reason is not None:
            print(f'{name}: cannot start: {reason}', file=sys.stderr, flush=True)
            # The half-built node is garbage now (the traceback is gone): destroy it while ROS
            # is still up, not at interpreter exit after shutdown (seen: SIGSEGV, exit -11).
            gc.collect()
            return startup_exit_code
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:  # noqa: B902 - only re-raised while ROS is still up
        if rclpy.ok():
            raise
    finally:
        if node is not None:
            if cleanup is not None:
                cleanup(node)
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
