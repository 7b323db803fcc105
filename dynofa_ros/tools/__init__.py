"""Command-line tools: run the system, set parameters, record and replay, profile, evaluate."""

from dynofa_ros.core.system import dds_profile

dds_profile.apply()     # before any participant exists: the bag player sends large frames
