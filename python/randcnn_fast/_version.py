"""The package's version: read by the build (pyproject.toml) and by every module that records it."""

__version__ = "0.1.0"
