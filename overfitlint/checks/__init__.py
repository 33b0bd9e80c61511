"""Rule checks. Importing this package registers every check with the engine."""

from overfitlint.checks import capacity, curves, regularization

__all__ = ["capacity", "curves", "regularization"]
