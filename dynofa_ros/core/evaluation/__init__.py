"""Evaluation: the simulator, its scenarios and governor baselines, reports of recorded runs."""
