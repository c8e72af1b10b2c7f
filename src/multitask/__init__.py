"""Multi-task sentence transformer: a shared encoder with topic and sentiment heads."""

__version__ = "0.1.0"
