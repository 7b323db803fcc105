"""The runtime manager: latency model, inner and outer loops, task mapping, its parameters."""
