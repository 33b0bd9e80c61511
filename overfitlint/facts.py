"""What a loader saw in a model file, and what it could not see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DROPOUT_KINDS = frozenset(
    {
        "Dropout",
        "AlphaDropout",
        "FeatureAlphaDropout",
        "Dropout1d",
        "Dropout2d",
        "Dropout3d",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianDropout",
        "GaussianNoise",
    }
)


@dataclass(frozen=True)
class Unknown:
    """A fact the input could not tell us, with the reason and how to supply it."""

    reason: str
    remedy: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"unknown": True, "reason": self.reason, "remedy": self.remedy}


@dataclass
class LayerFacts:
    """One layer (module, node or initializer group) of a model."""

    name: str
    kind: str
    params: int = 0
    trainable_params: int = 0
    dropout_rate: float | None = None
    regularizers: list[str] = field(default_factory=list)

    @property
    def is_dropout(self) -> bool:
        return self.kind in DROPOUT_KINDS

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "dropout_rate": self.dropout_rate,
            "regularizers": list(self.regularizers),
        }


@dataclass
class OptimizerFacts:
    """Optimizer settings as trained. ``source`` says where they came from."""

    kind: str | None
    lr: float | None
    weight_decay: float
    decoupled: bool | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "decoupled": self.decoupled,
            "source": self.source,
        }


@dataclass
class Provenance:
    producer: str = ""
    producer_version: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "producer": self.producer,
            "producer_version": self.producer_version,
            **self.details,
        }


@dataclass
class ModelFacts:
    """The same shape of facts for every model format.

    ``dropout`` and ``optimizer`` are Unknown when the file cannot show them
    (an exporter that strips dropout, an inference graph without optimizer).
    """

    framework: str
    source: str
    format: str
    layers: list[LayerFacts]
    provenance: Provenance
    optimizer: OptimizerFacts | Unknown
    dropout_visible: bool | Unknown = True
    input_shapes: dict[str, list[int | str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(layer.trainable_params for layer in self.layers)

    @property
    def dropout_layers(self) -> list[LayerFacts]:
        return [layer for layer in self.layers if layer.is_dropout]

    @property
    def regularized_layers(self) -> list[LayerFacts]:
        return [layer for layer in self.layers if layer.regularizers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "source": self.source,
            "format": self.format,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "layers": [layer.to_dict() for layer in self.layers],
            "provenance": self.provenance.to_dict(),
            "optimizer": self.optimizer.to_dict(),
            "dropout_visible": (
                self.dropout_visible.to_dict()
                if isinstance(self.dropout_visible, Unknown)
                else self.dropout_visible
            ),
            "input_shapes": self.input_shapes,
            "notes": list(self.notes),
        }
