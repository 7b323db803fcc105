"""The platform: its profile (DVFS domains, sensors), power law and frequency-scaling law."""
