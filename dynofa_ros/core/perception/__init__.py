"""Perception: the Dynamic-OFA engine, its sub-network cache, image decoding and node state."""
