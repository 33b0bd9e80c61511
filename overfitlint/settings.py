"""Settings of one check, split by the stage that reads them, and frozen.

- ``LoadHints``: what the user states about the inputs (the loaders read them);
- ``RuleConfig``: which rules run, their thresholds and severities, and the gate;
- ``ProbeConfig``: the probe's device, budget, seed and data.

Nothing a loader learns is written here: it is returned as a fact (``overfitlint.facts``).
Settings travel to worker processes as plain JSON (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy (nested mappings too)."""
    if not value:
        return _EMPTY
    return MappingProxyType(
        {k: frozen_mapping(v) if isinstance(v, Mapping) else v for k, v in value.items()}
    )


@dataclass(frozen=True)
class LoadHints:
    samples: int | None = None
    """--samples: training samples; None when the user did not say."""
    weight_decay: float | None = None
    """--weight-decay: the weight decay (or L2) the model was trained with."""
    augmentation: bool | None = None
    """--augmentation yes|no; None: not stated."""
    folds: bool = False
    """--folds: the logs are the folds (or repeated runs) of one experiment (OFL309)."""
    train_metric: str | None = None
    val_metric: str | None = None
    kept_epoch: float | None = None
    """--kept-epoch: the epoch whose weights the model file holds."""
    weights: Path | None = None
    """--weights: a checkpoint or safetensors file for the model a MODULE:CALLABLE builds."""
    trust_pickle: bool = False
    """--trust-pickle: unpickle PyTorch files for real (runs code from the file)."""
    trust_torchscript: bool = False
    """--trust-torchscript: load TorchScript with torch.jit.load (runs the archive's code)."""
    root: Path | None = None
    """Reads are confined to this folder (the repository); None: no confinement."""
    data: tuple[Path, ...] = ()
    """--data: the data set (npz, CSV/Parquet, an image folder, a datasets folder; or train and
    val files), measured for the 5xx rules."""
    data_label: str | None = None
    """--label: the label column of a table."""
    data_split_column: str | None = None
    """--split-column: the column naming each row's split."""
    data_noise: bool = True
    """Fit the label-noise model (OFL505 selected): the one data measure that trains a model."""
    spectral: bool = False
    """--spectral: measure each layer's weight spectrum (reads the tensor bytes)."""
    spectral_reference: Path | None = None
    """--spectral-reference: the base model of a fine-tune, to tell inherited layers apart."""
    spectral_device: str = "cpu"
    """Where the spectra are computed (the probe's --device: cpu, or cuda when it allows)."""
    experiment: str | None = None
    """--experiment: the MLflow experiment (name or id) of a tracker store."""
    run_id: str | None = None
    """--run: one run of a tracker store (MLflow run id, W&B run id, Ray Tune trial)."""
    study: str | None = None
    """--study: the Optuna study of a storage that holds several."""
    server_timeout: float = 10.0
    """--timeout: seconds per request to a tracking server."""


@dataclass(frozen=True)
class RuleConfig:
    selected: tuple[str, ...] | None = None
    """The codes to run (resolved by ``engine.selection``); None: every rule."""
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _EMPTY)
    """Per-rule threshold overrides: {"OFL301": {"patience": 8}}."""
    severities: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Per-rule severity overrides: {"OFL101": "info"}."""
    fail_on: str = "warning"
    fail_on_risk: bool = False
    """Fail on causes alone (verdict at-risk), not only on overfitting."""
    combine_evidence: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", frozen_mapping(self.thresholds))
        object.__setattr__(self, "severities", frozen_mapping(self.severities))
        if self.selected is not None:
            object.__setattr__(self, "selected", tuple(self.selected))


@dataclass(frozen=True)
class ProbeConfig:
    enabled: bool = True
    device: str = "auto"
    """auto|cpu|cuda|cuda:N|mps."""
    budget: float = 60.0
    """Hard cap in seconds for the whole probe."""
    seed: int = 0
    data: Path | None = None
    """--data FILE.npz with x_train, y_train, x_val, y_val."""
    input_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Settings:
    load: LoadHints = field(default_factory=LoadHints)
    rules: RuleConfig = field(default_factory=RuleConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def with_load(self, **changes: Any) -> Settings:
        """These settings with some load hints changed (a [[models]] entry's own values)."""
        return replace(self, load=replace(self.load, **changes)) if changes else self

    def to_dict(self) -> dict[str, Any]:
        return {
            part.name: {
                item.name: _plain(getattr(getattr(self, part.name), item.name))
                for item in fields(getattr(self, part.name))
            }
            for part in fields(self)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        return cls(
            load=_build(LoadHints, data.get("load", {})),
            rules=_build(RuleConfig, data.get("rules", {})),
            probe=_build(ProbeConfig, data.get("probe", {})),
        )


PATH_FIELDS = frozenset({"weights", "root", "data", "spectral_reference"})
"""A path (``ProbeConfig.data``), or a tuple of paths when saved as a list (``LoadHints.data``)."""
TUPLE_FIELDS = frozenset({"selected", "input_shape"})


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _build(kind: type, data: Mapping[str, Any]) -> Any:
    values = {}
    for item in fields(kind):
        if item.name not in data:
            continue
        value = data[item.name]
        if value is not None and item.name in PATH_FIELDS:
            value = tuple(map(Path, value)) if isinstance(value, list) else Path(value)
        elif value is not None and item.name in TUPLE_FIELDS:
            value = tuple(value)
        values[item.name] = value
    return kind(**values)
