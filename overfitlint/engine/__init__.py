"""The rule engine: selects rules, runs their checks, combines their evidence."""

from overfitlint.engine.runner import EngineResult, run_rules

__all__ = ["EngineResult", "run_rules"]
