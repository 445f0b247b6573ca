"""Fathom's compute engine: scans, geometry, projectors, reconstruction. Never imports Qt."""

__version__ = "0.1.0"
