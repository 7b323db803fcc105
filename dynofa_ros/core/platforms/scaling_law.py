"""
The one frequency-scaling law: how much longer work takes at f than at a reference frequency.

    latency(f) = t_ref * (s * f_ref / f + (1 - s))

s (sensitivity, 0..1) is the share of the work that scales with 1/f (compute-bound: close to 1;
the rest, memory and I/O stalls, does not). Used by the manager's latency model, the perception
node's DVFS emulation on fake hardware and the simulator.
"""

from dynofa_ros.core.common.errors import ConfigError
import numpy as np


def check_sensitivity(sensitivity):
    """Return sensitivity as a float; raise ConfigError outside [0, 1]."""
    if not 0.0 <= sensitivity <= 1.0:
        raise ConfigError(f'sensitivity {sensitivity} outside [0, 1]')
    return float(sensitivity)


def latency_factor(f_khz, f_ref_khz, sensitivity):
    """Return latency(f) / latency(f_ref) (float for scalars, array for arrays)."""
    factor = sensitivity * f_ref_khz / np.asarray(f_khz, dtype=float) + (1.0 - sensitivity)
    return float(factor) if np.ndim(factor) == 0 else factor
