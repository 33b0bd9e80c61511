"""Rule checks. Importing this package registers every check with the engine."""

from overfitlint.checks import capacity, curves, folds, regularization, sweep, toolbox

__all__ = ["capacity", "curves", "folds", "regularization", "sweep", "toolbox"]
