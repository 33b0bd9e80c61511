"""The rule engine: evaluate the selected rules once, then finalize their findings into a
verdict."""

from overfitlint.engine.evaluate import Evaluation, evaluate, resolve_thresholds
from overfitlint.engine.finalize import Judgement, finalize

__all__ = ["Evaluation", "Judgement", "evaluate", "finalize", "resolve_thresholds"]
