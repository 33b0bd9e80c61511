"""overfitlint: diagnose overfitting from a model file and its training logs."""

__version__ = "0.1.0"
