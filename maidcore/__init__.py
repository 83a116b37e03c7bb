"""maidcore: run third-party Discord bot plugins safely."""

__version__ = "0.1.0"
