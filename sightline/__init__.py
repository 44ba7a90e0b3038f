"""Sightline: open, self-hosted video intelligence platform."""

__version__ = "0.1.0"
