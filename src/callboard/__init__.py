"""callboard: self-hosted call reporting."""

__version__ = "0.1.0"
