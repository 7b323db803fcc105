"""The hardware node's core: contained sysfs access, DVFS writer, telemetry, power sensors."""
