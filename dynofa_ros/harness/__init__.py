"""The whole system started as processes on simulated hardware, for the demo and system tests."""
