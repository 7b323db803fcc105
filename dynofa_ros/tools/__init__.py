"""Command-line tools: run the system, set parameters, record and replay, profile, evaluate."""
