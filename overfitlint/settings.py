"""Settings for one run: what the user told us on the command line (or, later, in config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Settings:
    samples: int | None = None
    """Number of training samples; None when the user did not say."""
    samples_source: str | None = None
    """Where ``samples`` came from when a log implied it (None: the user said, or unknown)."""
    weight_decay: float | None = None
    """Weight decay (or L2) the user declares the model was trained with."""
    augmentation: bool | None = None
    """--augmentation yes|no: whether the training data was augmented; None: not stated."""
    folds: bool = False
    """--folds: the logs are the folds (or repeated runs) of one experiment (OFL309)."""
    trust_pickle: bool = False
    """--trust-pickle: load PyTorch files with full unpickling (runs code from the file)."""
    weights: Path | None = None
    """--weights: a checkpoint or safetensors file for the model a MODULE:CALLABLE builds."""
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
    # --- the probe (overfitlint/probe) ---
    device: str = "auto"
    """--device: auto|cpu|cuda|cuda:N|mps."""
    probe_budget: float = 60.0
    """--probe-budget: hard cap in seconds for the whole probe."""
    probe_seed: int = 0
    data: str | None = None
    """--data FILE.npz with x_train, y_train, x_val, y_val."""
    input_shape: tuple[int, ...] | None = None
    """--input-shape: one sample's shape, without the batch dimension."""
