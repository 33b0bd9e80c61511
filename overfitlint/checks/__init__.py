"""Rule checks. Importing this package registers every check with the engine."""

from overfitlint.checks import capacity, curves, data, folds, regularization, toolbox

__all__ = ["capacity", "curves", "data", "folds", "regularization", "toolbox"]
