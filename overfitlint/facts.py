"""What a loader saw in a model file, and what it could not see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overfitlint.curves import Curves

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

# Data augmentation layers that live inside a model (Keras preprocessing layers).
AUGMENTATION_KINDS = frozenset(
    {
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "RandomCrop",
        "RandomTranslation",
        "RandomContrast",
        "RandomBrightness",
        "RandomHeight",
        "RandomWidth",
        "RandAugment",
        "RandomErasing",
        "RandomGaussianBlur",
        "RandomGrayscale",
        "RandomHue",
        "RandomSaturation",
        "RandomSharpness",
        "RandomShear",
        "RandomColorJitter",
        "RandomPerspective",
        "RandomElasticTransform",
        "RandomInvert",
        "RandomPosterization",
        "AutoContrast",
        "AugMix",
        "MixUp",
        "CutMix",
        "Solarization",
        # torchvision transforms are nn.Modules: a model may hold them (v1 and v2 names)
        "RandomHorizontalFlip",
        "RandomVerticalFlip",
        "RandomResizedCrop",
        "RandomAffine",
        "RandomRotate",
        "ColorJitter",
        "RandomApply",
        "RandomChoice",
        "TrivialAugmentWide",
        "AutoAugment",
        "ElasticTransform",
        "RandomAdjustSharpness",
        "RandomAutocontrast",
        "RandomEqualize",
        "RandomPhotometricDistort",
        "RandomZoomOut",
        "RandomIoUCrop",
        "RandomChannelPermutation",
    }
)

# Normalization layers inside the network (batch, layer, group, instance, RMS norm). Keras'
# ``Normalization`` (input standardisation by fixed statistics) is preprocessing, not one.
NORMALIZATION_KINDS = frozenset(
    {
        "BatchNormalization",
        "SyncBatchNormalization",
        "BatchNormalizationV1",
        "BatchNorm",
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "SyncBatchNorm",
        "LazyBatchNorm1d",
        "LazyBatchNorm2d",
        "LazyBatchNorm3d",
        "LayerNorm",
        "LayerNormalization",
        "SimplifiedLayerNormalization",
        "SkipLayerNormalization",
        "SkipSimplifiedLayerNormalization",
        "GroupNorm",
        "GroupNormalization",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
        "InstanceNormalization",
        "RMSNorm",
        "RMSNormalization",
        "UnitNormalization",
        "LocalResponseNorm",
        "Norm",  # a state dict's 1-D weight+bias group (kinds guessed from tensors)
    }
)
BATCH_NORM_KINDS = frozenset(
    kind for kind in NORMALIZATION_KINDS if "BatchNorm" in kind and "Layer" not in kind
)


@dataclass(frozen=True)
class Unknown:
    """A fact the input could not tell us, with the reason and how to supply it."""

    reason: str
    remedy: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"unknown": True, "reason": self.reason, "remedy": self.remedy}

    @staticmethod
    def is_unknown(value: Any) -> bool:
        return isinstance(value, Mapping) and value.get("unknown") is True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Unknown:
        return cls(str(data.get("reason", "")), str(data.get("remedy", "")))


AUGMENTATION_NOT_IN_FILE = Unknown(
    "the model file does not hold the training input pipeline, where data augmentation "
    "usually lives",
    'State it: --augmentation yes (or no), or augmentation = "yes" in the config file.',
)


@dataclass
class LayerFacts:
    """One layer (module, node or initializer group) of a model."""

    name: str
    kind: str
    params: int = 0
    trainable_params: int = 0
    dropout_rate: float | None = None
    regularizers: list[str] = field(default_factory=list)
    inputs: list[str] | None = None
    """Names of the layers (in ``ModelFacts.layers``) whose outputs feed this one, through
    layers that are not listed (activations, reshapes); ``[]``: fed by the model's input.
    None: the file does not show it (e.g. a custom forward())."""
    spectral: dict[str, Any] | None = None
    """This layer's weight spectrum (``overfitlint.spectra.LayerSpectrum.to_dict()``: alpha,
    status, traps, origin ...) when spectra were computed; None otherwise."""

    @property
    def is_dropout(self) -> bool:
        """A dropout-like layer, or a layer with built-in dropout (LSTM, attention) above 0."""
        return self.kind in DROPOUT_KINDS or bool(self.dropout_rate)

    @property
    def is_augmentation(self) -> bool:
        return self.kind in AUGMENTATION_KINDS

    @property
    def is_normalization(self) -> bool:
        return self.kind in NORMALIZATION_KINDS

    def to_dict(self) -> dict[str, Any]:
        data = {
            "name": self.name,
            "kind": self.kind,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "dropout_rate": self.dropout_rate,
            "regularizers": list(self.regularizers),
            "inputs": None if self.inputs is None else list(self.inputs),
        }
        if self.spectral is not None:
            data["spectral"] = dict(self.spectral)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerFacts:
        inputs = data.get("inputs")
        return cls(
            name=str(data.get("name", "")),
            kind=str(data.get("kind", "")),
            params=int(data.get("params") or 0),
            trainable_params=int(data.get("trainable_params") or 0),
            dropout_rate=data.get("dropout_rate"),
            regularizers=list(data.get("regularizers") or []),
            inputs=None if inputs is None else list(inputs),
        )


@dataclass
class OptimizerFacts:
    """Optimizer settings as trained. ``source`` says where they came from."""

    kind: str | None
    lr: float | None
    weight_decay: float
    decoupled: bool | None
    source: str
    details: dict[str, Any] = field(default_factory=dict)
    """Other settings as found: momentum, betas, eps, nesterov, amsgrad, lr schedule..."""
    param_groups: list[dict[str, Any]] = field(default_factory=list)
    """Per parameter group (PyTorch): tensors, lr, weight_decay, when groups differ."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "decoupled": self.decoupled,
            "source": self.source,
            "details": dict(self.details),
            "param_groups": [dict(group) for group in self.param_groups],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OptimizerFacts:
        return cls(
            kind=data.get("kind"),
            lr=data.get("lr"),
            weight_decay=float(data.get("weight_decay") or 0.0),
            decoupled=data.get("decoupled"),
            source=str(data.get("source", "")),
            details=dict(data.get("details") or {}),
            param_groups=[dict(g) for g in data.get("param_groups") or []],
        )


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        details = {k: v for k, v in data.items() if k not in ("producer", "producer_version")}
        return cls(str(data.get("producer", "")), str(data.get("producer_version", "")), details)


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
    augmentation_visible: bool | Unknown = AUGMENTATION_NOT_IN_FILE
    """True when the file would show data augmentation layers (a Keras model that lists its
    layers); Unknown where augmentation lives in the input pipeline (PyTorch, ONNX)."""
    spectral: dict[str, Any] | None = None
    """The weight-spectra summary (``overfitlint.spectra.SpectralSummary.to_dict()``) when
    spectra were computed; its ``unattached`` list holds the spectra of weights that match no
    entry of ``layers``. None when spectra were not computed."""

    @property
    def layer_graph_known(self) -> bool:
        """Every layer that holds parameters or is a dropout layer knows its inputs."""
        return bool(self.layers) and all(
            layer.inputs is not None
            for layer in self.layers
            if layer.params or layer.kind in DROPOUT_KINDS
        )

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

    @property
    def augmentation_layers(self) -> list[LayerFacts]:
        return [layer for layer in self.layers if layer.is_augmentation]

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
            "augmentation_visible": (
                self.augmentation_visible.to_dict()
                if isinstance(self.augmentation_visible, Unknown)
                else self.augmentation_visible
            ),
            **({} if self.spectral is None else {"spectral": dict(self.spectral)}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelFacts:
        optimizer = data.get("optimizer") or {}
        return cls(
            framework=str(data.get("framework", "")),
            source=str(data.get("source", "")),
            format=str(data.get("format", "")),
            layers=[LayerFacts.from_dict(layer) for layer in data.get("layers") or []],
            provenance=Provenance.from_dict(data.get("provenance") or {}),
            optimizer=(
                Unknown.from_dict(optimizer)
                if Unknown.is_unknown(optimizer)
                else OptimizerFacts.from_dict(optimizer)
            ),
            dropout_visible=_known_or_unknown(data.get("dropout_visible", True)),
            input_shapes=dict(data.get("input_shapes") or {}),
            notes=list(data.get("notes") or []),
            augmentation_visible=_known_or_unknown(
                data.get("augmentation_visible", AUGMENTATION_NOT_IN_FILE.to_dict())
            ),
        )


def _known_or_unknown(value: Any) -> Any:
    return Unknown.from_dict(value) if Unknown.is_unknown(value) else value


# ------------------------------------------------------------------------- facts of one check


@dataclass(frozen=True)
class SampleCount:
    """How many training samples, and where the number came from."""

    value: int
    source: str
    """"--samples", or the log (file) that implies it."""
    basis: str = ""
    """How a log-implied count was worked out, in words."""


@dataclass(frozen=True)
class KeptEpoch:
    """Which epoch's weights the model file holds (a best checkpoint, restored weights)."""

    epoch: float
    source: str
    """Where it was read: "checkpoint['epoch']", "file name epoch=12-...", "--kept-epoch"."""


@dataclass(frozen=True)
class Facts:
    """Everything the rules of one check see: what the loaders read and the user stated."""

    model: ModelFacts | None = None
    curves: tuple[Curves, ...] = ()
    samples: SampleCount | None = None
    kept: KeptEpoch | None = None
    augmentation: bool | None = None
    """--augmentation: whether the training data was augmented; None: not stated."""
    folds: bool = False
    """--folds: the logs are the folds of one experiment, whatever their names."""
    data: Any = None
    """The data set the model was trained on (``overfitlint.data.DataFacts``), when given."""
    sweep: Any = None
    """The sweep these runs belong to (``overfitlint.loaders.trackers.Sweep``), when read."""
    notes: tuple[str, ...] = ()
    """What pairing the inputs assumed or found (shown with the inputs)."""
