"""Helpers for the simulator tests: an oracle that runs its candidate configurations."""

from dynofa_ros.core.evaluation import comparison
from dynofa_ros.core.evaluation.simulator import Simulator


def static_oracle(platform, seed=1):
    """Return a comparison.Oracle that simulates each candidate on `platform` (as evaluate)."""
    def simulate(phase, static):
        return comparison.phase_rows(Simulator(phase, 'performance', platform, seed=seed,
                                               static=static).run(), phase)
    return comparison.Oracle(platform, platform.catalog(), simulate)
