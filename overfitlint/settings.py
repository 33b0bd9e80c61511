"""Settings for one run: what the user told us on the command line (or, later, in config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Settings:
    samples: int | None = None
    """Number of training samples; None when the user did not say."""
    weight_decay: float | None = None
    """Weight decay (or L2) the user declares the model was trained with."""
    train_metric: str | None = None
    val_metric: str | None = None
    select: list[str] = field(default_factory=lambda: ["OFL"])
    ignore: list[str] = field(default_factory=list)
    fail_on: str = "warning"
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per-rule threshold overrides: {"OFL301": {"patience": 8}}."""
    severities: dict[str, str] = field(default_factory=dict)
    """Per-rule severity overrides: {"OFL101": "info"}."""
    combine_evidence: bool = True
