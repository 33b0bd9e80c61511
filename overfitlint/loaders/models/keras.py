"""Keras models read as data: ``.keras`` archives and legacy ``.h5`` files.

Neither needs TensorFlow (nor Keras): the architecture comes from the JSON
config (``config.json`` in a ``.keras`` zip, the ``model_config`` attribute of an
``.h5``), the parameter counts from the weight shapes in the HDF5 file (h5py
reads shapes, never the values), the optimizer from the compile/training config.
Nothing in the file is executed: a Lambda layer's code is reported, not
unmarshalled; custom classes are named, not imported.

Parameter counts follow ``model.count_params()``: every weight a layer saved,
trainable or not (BatchNormalization's moving statistics and Normalization's
mean/variance/count are non-trainable).
"""

from __future__ import annotations

import json
import math
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, OptimizerFacts, Provenance, Unknown
from overfitlint.readers import MAX_TENSOR_ELEMENTS
from overfitlint.readers import archive as zips

DROPOUT_RATE_KEYS = {
    "Dropout": "rate",
    "SpatialDropout1D": "rate",
    "SpatialDropout2D": "rate",
    "SpatialDropout3D": "rate",
    "GaussianDropout": "rate",
    "AlphaDropout": "rate",
    "GaussianNoise": "stddev",
}
# Layers with dropout built in (RNN inputs/recurrent state, attention weights).
BUILTIN_DROPOUT_KEYS = ("dropout", "recurrent_dropout", "attention_dropout")
BATCH_NORM_KINDS = {"BatchNormalization", "SyncBatchNormalization", "BatchNormalizationV1"}
BATCH_NORM_FROZEN = {"moving_mean", "moving_variance"}
ALL_FROZEN_KINDS = {"Normalization", "Discretization"}
CONTAINER_KINDS = {"Sequential", "Functional", "Model"}
WRAPPER_KEYS = ("layer", "backward_layer")
MAX_WEIGHTS_MEMBER = 1 << 40  # weights are never read whole; only the HDF5 metadata is
NO_OPTIMIZER = Unknown(
    "the model was saved without a compiled optimizer",
    "Save the model after model.compile(...), or pass --weight-decay VALUE "
    "(the value it was trained with).",
)
KERAS_EXTRA = "pip install 'overfitlint[keras]'"


@dataclass
class ConfigLayer:
    name: str
    kind: str
    config: dict[str, Any]
    trainable: bool
    custom: bool = False
    container: bool = False
    depth: int = 1


@dataclass
class Weight:
    owners: list[str]  # names that may own it, innermost first
    leaf: str
    shape: tuple[int, ...]
    index: int | None = None  # position among its object's variables (Keras 3 layout)
    siblings: int = 0
    object_kind: str | None = None  # kind guessed for the object that holds it
    trainable: bool | None = None  # as recorded by the file (SavedModel), else from the kind


@dataclass
class KerasModel:
    """What a Keras file says, before it becomes ModelFacts."""

    source: Path
    format: str
    keras_version: str = ""
    backend: str = ""
    model_config: dict[str, Any] | None = None
    optimizer_config: Any = None
    compiled: bool = False
    weights: list[Weight] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- .keras archives


def load_keras_archive(path: Path) -> ModelFacts:
    archive = zips.open_zip(path, "Keras archive")
    with archive:
        names = archive.namelist()
        if "config.json" not in names:
            raise InputError(f"{path}: a zip archive without config.json; not a Keras .keras file")
        config = _json(zips.read_member(archive, "config.json", path), path, "config.json")
        metadata = {}
        if "metadata.json" in names:
            metadata = _json(
                zips.read_member(archive, "metadata.json", path), path, "metadata.json"
            )
        if not isinstance(config, dict) or not isinstance(metadata, dict):
            raise InputError(f"{path}: config.json is not a Keras model config (not an object)")
        model = KerasModel(path, "keras", keras_version=str(metadata.get("keras_version", "")))
        model.model_config = config
        compile_config = config.get("compile_config") or {}
        if isinstance(compile_config, dict) and compile_config.get("optimizer"):
            model.optimizer_config = compile_config["optimizer"]
            model.compiled = True
        if "model.weights.h5" in names:
            info = zips.member_info(archive, "model.weights.h5", path, MAX_WEIGHTS_MEMBER)
            with zips.seekable_member(archive, info, path) as handle:
                model.weights, state = _h5_call(path, lambda: _keras3_weights(handle, path))
                if state:
                    model.details["optimizer_state"] = state
        elif "model.weights.npz" in names:
            raise InputError(
                f"{path}: weights saved in the npz format are not read; "
                "save the model with the default weights format (h5)"
            )
        else:
            model.notes.append("the archive holds no weights file; parameter counts are 0")
        return to_facts(model)


def _json(data: bytes, path: Path, member: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: {member} is not valid JSON ({exc})") from None


def _h5_call(path: Path, function):
    """Run an h5py reading function; HDF5 errors become one line for the user."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        raise InputError(f"{path}: reading Keras weights needs h5py: {KERAS_EXTRA}") from None
    try:
        return function()
    except InputError:
        raise
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        RuntimeError,
        AttributeError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
    ) as exc:
        raise InputError(
            f"{path}: cannot read the HDF5 weights ({exc}); is the file corrupt?"
        ) from None


MAX_H5_GROUPS = 100_000


def _hard_get(group, relative: str, path: Path):
    """``group[relative]`` reached through hard links only: an external or soft link (to a
    file outside the repository, say) is refused, as is a virtual dataset or one whose data
    is stored in external files."""
    import h5py

    current = group
    for part in [p for p in relative.split("/") if p]:
        link = current.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise InputError(
                f"{path}: {relative!r} is an {type(link).__name__} (it points outside this "
                "file); links are not followed"
            )
        current = current[part]
    if isinstance(current, h5py.Dataset) and (current.is_virtual or current.external):
        raise InputError(
            f"{path}: {relative!r} keeps its data outside this file (a virtual or external "
            "dataset); refusing to read it"
        )
    return current


def _hard_children(group):
    """(name, object) for members stored in the file itself: links are never followed."""
    import h5py

    for name in group:
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.HardLink):
            yield name, group[name]


def _keras3_weights(handle, path: Path) -> tuple[list[Weight], str]:
    import h5py

    with h5py.File(handle, "r") as h5:
        return _walk_keras3(h5, path), optimizer_state_name(h5)


# Top-level groups of a Keras weights file that hold no model weights.
NOT_MODEL_STATE = {
    "optimizer",
    "metrics",
    "compile_metrics",
    "_compile_metrics",
    "loss",
    "compile_loss",
    "_compile_loss",
    "loss_tracker",
    "_loss_tracker",
}


def optimizer_state_name(h5) -> str:
    """The name of the optimizer whose state a Keras 3 weights file holds ('' when none)."""
    import h5py

    group = h5.get("optimizer", getlink=True)
    if not isinstance(group, h5py.HardLink):
        return ""
    variables = h5["optimizer"].get("vars")
    if isinstance(variables, h5py.Group) and len(variables):
        return _text(variables.attrs.get("name", "")) or "optimizer"
    return ""


def _walk_keras3(h5, path: Path) -> list[Weight]:
    """Keras 3 layout: an object's variables in ``<path>/vars/0..n``, its name an attribute."""
    import h5py

    weights: list[Weight] = []
    seen: set[int] = set()

    def walk(group, owners: list[str], depth: int) -> None:
        if depth > 64:
            raise InputError(f"{path}: the weights file nests deeper than 64 levels")
        if not _first_visit(group, seen, path):  # a group linked in twice: counted once
            return
        children = dict(_hard_children(group))
        here = owners
        variables = children.get("vars")
        if isinstance(variables, h5py.Group) and _first_visit(variables, seen, path):
            name = _text(variables.attrs.get("name", "")) or group.name.rsplit("/", 1)[-1]
            here = [name, *owners]
            datasets = sorted(
                ((k, o) for k, o in _hard_children(variables) if isinstance(o, h5py.Dataset)),
                key=lambda item: (not item[0].isdigit(), _int(item[0]), item[0]),
            )
            for key, dataset in datasets:
                if dataset.is_virtual or dataset.external:
                    raise InputError(
                        f"{path}: {group.name}/vars/{key} keeps its data outside this file (a "
                        "virtual or external dataset); refusing to read it"
                    )
            kind = guess_kind(name)
            for index, (key, dataset) in enumerate(datasets):
                shape = _shape(dataset.shape, path, f"{group.name}/vars/{key}")
                weights.append(Weight(here, key, shape, index, len(datasets), kind))
            if not datasets:
                weights.append(Weight(here, "", (), None, 0, kind))
        for key, child in children.items():
            if key == "vars" or not isinstance(child, h5py.Group):
                continue
            if depth == 0 and key in NOT_MODEL_STATE:
                continue
            walk(child, here, depth + 1)

    walk(h5, [], 0)
    return weights


def _first_visit(group, seen: set[int], path: Path) -> bool:
    """False for a group already walked (linked in again); bounded in how many are walked."""
    import h5py

    address = h5py.h5o.get_info(group.id).addr
    if address in seen:
        return False
    seen.add(address)
    if len(seen) > MAX_H5_GROUPS:
        raise InputError(
            f"{path}: the weights file holds more than {MAX_H5_GROUPS:,} groups; refusing to "
            "walk it"
        )
    return True


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value) if value is not None else ""


def _shape(shape, path: Path, name: str) -> tuple[int, ...]:
    dims = tuple(int(d) for d in (shape or ()))
    if math.prod(dims) > MAX_TENSOR_ELEMENTS:
        raise InputError(f"{path}: weight {name} declares shape {dims}; the file is corrupt")
    return dims


def guess_kind(name: str) -> str:
    """'batch_normalization_3' -> 'BatchNormalization' (Keras names layers after their class)."""
    base = re.sub(r"_\d+$", "", name)
    return "".join(part[:1].upper() + part[1:] for part in base.split("_") if part) or "Layer"


# ---------------------------------------------------------------- legacy .h5


def load_keras_h5(path: Path) -> ModelFacts:
    def read():
        import h5py

        try:
            h5 = h5py.File(path, "r")
        except OSError as exc:
            raise InputError(
                f"{path}: not a readable HDF5 file ({exc}); is the file truncated?"
            ) from None
        with h5:
            return _legacy_h5(h5, path)

    return to_facts(_h5_call(path, read))


def _legacy_h5(h5, path: Path) -> KerasModel:
    import h5py

    attrs = h5.attrs
    model = KerasModel(
        path,
        "keras-h5",
        keras_version=_text(attrs.get("keras_version", "")),
        backend=_text(attrs.get("backend", "")),
    )
    if "model_config" in attrs:
        config = _json(_text(attrs["model_config"]).encode(), path, "model_config")
        if not isinstance(config, dict):
            raise InputError(f"{path}: model_config is not a Keras model config")
        model.model_config = config
    if "training_config" in attrs:
        training = _json(_text(attrs["training_config"]).encode(), path, "training_config")
        if isinstance(training, dict) and training.get("optimizer_config"):
            model.optimizer_config = training["optimizer_config"]
            model.compiled = True
    if isinstance(_hard_get(h5, "model_weights", path), h5py.Group):
        root = h5["model_weights"]
    elif "layer_names" in attrs:
        root = h5  # written by save_weights: weights only
        if not model.keras_version:
            model.keras_version = _text(attrs.get("keras_version", ""))
    elif "layers" in h5 and model.model_config is None:
        # a Keras 3 weights file (model.save_weights("x.weights.h5")): the .keras layout
        model.format = "keras-weights-h5"
        model.weights = _walk_keras3(h5, path)
        return model
    else:
        raise InputError(
            f"{path}: an HDF5 file without a Keras model (no model_config, model_weights or "
            "layer_names); overfitlint reads Keras .h5 files"
        )
    if "layer_names" not in root.attrs:
        raise InputError(f"{path}: the HDF5 weights have no layer_names; not a Keras .h5 file")
    for layer_name in [_text(n) for n in root.attrs["layer_names"]]:
        group = _hard_get(root, layer_name, path)
        if not isinstance(group, h5py.Group):
            raise InputError(f"{path}: layer {layer_name!r} is listed but has no weights group")
        names = [_text(n) for n in group.attrs.get("weight_names", [])]
        for weight_name in names:
            dataset = _hard_get(group, weight_name, path)
            if not isinstance(dataset, h5py.Dataset):
                raise InputError(
                    f"{path}: weight {weight_name!r} of layer {layer_name!r} is missing"
                )
            parts = [p for p in weight_name.split("/") if p]
            leaf = parts[-1].split(":")[0] if parts else weight_name
            owners = [*reversed(parts[:-1]), layer_name]
            shape = _shape(dataset.shape, path, weight_name)
            model.weights.append(Weight(owners, leaf, shape))
    return model


# ---------------------------------------------------------------- config -> facts


def config_layers(model_config: Any, path: Path) -> tuple[list[ConfigLayer], bool]:
    """Every layer in a model config, nested models included; and whether it lists them."""
    found: list[ConfigLayer] = []
    lists_layers = False

    def visit(entry: Any, trainable: bool, depth: int) -> None:
        nonlocal lists_layers
        if depth > 64:
            raise InputError(f"{path}: the model config nests deeper than 64 levels")
        if not isinstance(entry, dict):
            return
        kind = _class_name(entry)
        config = entry.get("config")
        if isinstance(config, list):  # Keras 2.2-era Sequential: the config is the layer list
            config = {"layers": config}
        if not isinstance(config, dict):
            config = {}
        name = str(config.get("name") or entry.get("name") or kind)
        layer_trainable = trainable and config.get("trainable", True) is not False
        sublayers = config.get("layers")
        is_container = isinstance(sublayers, list)
        custom = bool(entry.get("registered_name")) and not str(
            entry.get("registered_name")
        ).startswith("keras")
        if depth > 0:
            found.append(
                ConfigLayer(name, kind, config, layer_trainable, custom, is_container, depth)
            )
        if is_container:
            lists_layers = lists_layers or depth == 0
            for child in sublayers:
                visit(child, layer_trainable, depth + 1)

    visit(model_config, True, 0)
    return found, lists_layers


def _class_name(entry: dict[str, Any]) -> str:
    name = str(entry.get("class_name") or "Layer")
    return name.split(">")[-1]  # "Custom>Adam", "MyPackage>MyLayer"


def _wrapped(layer: ConfigLayer) -> list[dict[str, Any]]:
    """The configs of layers a wrapper (Bidirectional, TimeDistributed) holds."""
    inner = []
    for key in WRAPPER_KEYS:
        entry = layer.config.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("config"), dict):
            inner.append(entry["config"])
    return inner


def _dropout_rate(layer: ConfigLayer) -> float | None:
    key = DROPOUT_RATE_KEYS.get(layer.kind)
    if key:
        return _number(layer.config.get(key))
    rates = [
        _number(config.get(k))
        for config in (layer.config, *_wrapped(layer))
        for k in BUILTIN_DROPOUT_KEYS
    ]
    rates = [r for r in rates if r]
    return max(rates) if rates else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _regularizers(layer: ConfigLayer) -> list[str]:
    found = []
    for config in (layer.config, *_wrapped(layer)):
        for key, value in config.items():
            if not key.endswith("_regularizer") or value in (None, "", {}):
                continue
            text = _describe_regularizer(value)
            if text:
                found.append(f"{key}={text}")
    return found


def _describe_regularizer(value: Any) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return ""
    kind = _class_name(value)
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    coefficients = {k: v for k, v in config.items() if isinstance(v, int | float)}
    if coefficients and all(v == 0 for v in coefficients.values()):
        return ""  # L1L2(l1=0, l2=0) regularizes nothing
    inner = ", ".join(f"{k}={v:g}" for k, v in coefficients.items())
    return f"{kind}({inner})"


def _optimizer(model: KerasModel) -> OptimizerFacts | Unknown:
    entry = model.optimizer_config
    if not model.compiled or entry in (None, "", {}):
        state = model.details.get("optimizer_state")
        if state:
            return Unknown(
                f"the file holds the state of an optimizer named {state!r} but not its "
                "settings (compile config missing)",
                NO_OPTIMIZER.remedy,
            )
        return NO_OPTIMIZER
    where = "the compiled optimizer in " + (
        "config.json" if model.format == "keras" else "the file"
    )
    if isinstance(entry, str):
        return OptimizerFacts(entry, None, 0.0, None, where + " (default settings)")
    if not isinstance(entry, dict):
        return Unknown(
            "the compiled optimizer is recorded in a form overfitlint does not read",
            "Pass --weight-decay VALUE.",
        )
    kind = _class_name(entry)
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if kind == "LossScaleOptimizer" and isinstance(config.get("inner_optimizer"), dict):
        entry = config["inner_optimizer"]
        kind = _class_name(entry)
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    details: dict[str, Any] = {}
    lr_value = config.get("learning_rate", config.get("lr"))
    lr = _number(lr_value)
    if isinstance(lr_value, dict):
        schedule = lr_value.get("config") if isinstance(lr_value.get("config"), dict) else {}
        details["lr_schedule"] = _class_name(lr_value)
        lr = _number(schedule.get("initial_learning_rate"))
    for key in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "amsgrad", "rho", "use_ema"):
        if key in config and isinstance(config[key], int | float | bool):
            details[key] = config[key]
    if _number(config.get("decay")):
        details["lr_decay"] = config["decay"]  # legacy Keras 2: a learning-rate decay
    weight_decay = _number(config.get("weight_decay")) or 0.0
    # Keras keeps these as float32 variables: 0.0020000000949949026 was written as 0.002
    lr = None if lr is None else float(f"{lr:.7g}")
    weight_decay = float(f"{weight_decay:.7g}")
    if config.get("is_legacy_optimizer"):
        details["legacy"] = True
    return OptimizerFacts(
        kind,
        lr,
        weight_decay,
        True if weight_decay > 0 else None,  # Keras applies weight_decay decoupled
        where,
        details=details,
    )


def _input_shapes(layers: list[ConfigLayer]) -> dict[str, list[int | str]]:
    shapes: dict[str, list[int | str]] = {}
    layers = [layer for layer in layers if layer.depth == 1]
    for layer in layers:
        shape = layer.config.get("batch_shape") or layer.config.get("batch_input_shape")
        if layer.kind == "InputLayer" and isinstance(shape, list):
            shapes[layer.name] = [d if isinstance(d, int) else "?" for d in shape]
    if not shapes:
        for layer in layers[:1]:
            shape = layer.config.get("batch_input_shape")
            if isinstance(shape, list):
                shapes[layer.name] = [d if isinstance(d, int) else "?" for d in shape]
    return shapes


def _is_trainable(weight: Weight, owner: ConfigLayer | None) -> bool:
    if weight.trainable is not None:
        return weight.trainable
    if owner is not None and not owner.trainable:
        return False
    kind = owner.kind if owner is not None and weight.owners[0] == owner.name else None
    kind = kind or weight.object_kind or (owner.kind if owner is not None else "")
    if weight.leaf in BATCH_NORM_FROZEN:
        return False
    if kind in ALL_FROZEN_KINDS:
        return False
    if kind in BATCH_NORM_KINDS and weight.index is not None:
        return weight.index < weight.siblings - 2
    return True


def to_facts(model: KerasModel) -> ModelFacts:
    path = model.source
    layers_in_config, lists_layers = (
        config_layers(model.model_config, path) if model.model_config else ([], False)
    )
    by_name = {layer.name: layer for layer in layers_in_config}
    facts_by_name: dict[str, LayerFacts] = {}
    ordered: list[LayerFacts] = []
    for layer in layers_in_config:
        if layer.kind == "InputLayer":
            continue
        entry = LayerFacts(
            layer.name,
            layer.kind,
            dropout_rate=_dropout_rate(layer),
            regularizers=_regularizers(layer),
        )
        facts_by_name[layer.name] = entry
        ordered.append(entry)
    root_name = "(model)"
    for weight in model.weights:
        owner_name = next((n for n in weight.owners if n in by_name), None)
        owner = by_name.get(owner_name) if owner_name else None
        if owner is not None and owner.kind == "InputLayer":
            owner = None
        weightless = not weight.leaf and not weight.shape
        if weightless and (owner is not None or lists_layers):
            continue  # a layer without variables (dropout, pooling): listed from the config
        if owner is None and lists_layers:
            name = root_name
            kind = "Model"
        else:
            name = owner.name if owner else (weight.owners[0] if weight.owners else root_name)
            kind = owner.kind if owner else (weight.object_kind or "Layer")
        entry = facts_by_name.get(name)
        if entry is None:
            entry = LayerFacts(name, kind)
            facts_by_name[name] = entry
            ordered.append(entry)
        if weightless:
            continue
        count = math.prod(weight.shape) if weight.shape else 1
        entry.params += count
        if _is_trainable(weight, owner):
            entry.trainable_params += count
    notes = list(model.notes)
    for layer in layers_in_config:
        if layer.kind == "Lambda":
            notes.append(
                f"Lambda layer {layer.name!r} holds Python code; it is reported, never executed"
            )
        elif layer.custom:
            notes.append(
                f"custom layer class {layer.kind!r} ({layer.name!r}): its parameters are read "
                "from the weights, anything else it does (e.g. built-in dropout) is not visible"
            )
    dropout_visible: bool | Unknown = True
    if model.model_config is None:
        dropout_visible = Unknown(
            "the file holds weights only, no architecture",
            "Check the full model (.keras, or model.save('x.h5')) rather than a weights file.",
        )
    elif not lists_layers:
        dropout_visible = Unknown(
            "a subclassed Keras model's config does not list its layers; layer kinds are "
            "guessed from the names Keras gave them and dropout rates are not recorded",
            "Build the model with the Sequential or functional API, or pass the "
            "dropout rate you trained with.",
        )
        notes.append("subclassed model: layer kinds are guessed from the layers' names")
    if any(layer.kind == "Lambda" for layer in layers_in_config) and not any(
        entry.is_dropout for entry in ordered
    ):
        dropout_visible = Unknown(
            "a Lambda layer may apply dropout in code that overfitlint does not run",
            "Replace the Lambda with a Dropout layer, or check its code yourself.",
        )
    details = dict(model.details)
    if model.backend:
        details["backend"] = model.backend
    if model.model_config:
        details["model_class"] = _class_name(model.model_config)
    feeds = layer_inputs(model.model_config) if lists_layers else None
    if feeds is not None:
        for entry in ordered:
            entry.inputs = feeds.get(entry.name)
    facts = ModelFacts(
        framework="keras",
        source=str(path),
        format=model.format,
        layers=ordered,
        provenance=Provenance(
            producer="keras", producer_version=model.keras_version, details=details
        ),
        optimizer=_optimizer(model),
        dropout_visible=dropout_visible,
        input_shapes=_input_shapes(layers_in_config),
        notes=notes,
    )
    if lists_layers:  # Keras keeps augmentation as layers (RandomFlip, ...): absence shows
        facts.augmentation_visible = True
    return facts


def layer_inputs(model_config: Any) -> dict[str, list[str]] | None:
    """Which layers feed each layer of a Sequential or functional model (nested ones too):
    {name: [names of the leaf layers whose outputs it reads]}, [] for the model's input.
    None when the config does not say (a layer list without connections)."""
    feeds: dict[str, list[str]] = {}

    def children(entry: dict[str, Any]) -> list[dict[str, Any]] | None:
        config = entry.get("config")
        if isinstance(config, list):
            return [c for c in config if isinstance(c, dict)]
        if isinstance(config, dict) and isinstance(config.get("layers"), list):
            return [c for c in config["layers"] if isinstance(c, dict)]
        return None

    def name_of(entry: dict[str, Any]) -> str:
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        return str(config.get("name") or entry.get("name") or _class_name(entry))

    def visit(entry: dict[str, Any], given: list[str], depth: int) -> list[str]:
        """Record the inputs of ``entry``'s layers; return what its output is made of."""
        if depth > 64:
            raise ValueError("nested too deep")
        inner = children(entry)
        if inner is None:  # a leaf layer
            feeds[name_of(entry)] = list(given)
            return [name_of(entry)]
        feeds[name_of(entry)] = list(given)  # the container itself, for completeness
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        if _class_name(entry) == "Sequential" or not any("inbound_nodes" in c for c in inner):
            current = list(given)
            for child in inner:
                if _class_name(child) == "InputLayer":
                    continue
                current = visit(child, current, depth + 1)
            return current
        outputs: dict[str, list[str]] = {}
        for child in inner:  # functional: layers come in an order where inputs come first
            if _class_name(child) == "InputLayer":
                outputs[name_of(child)] = list(given)
                continue
            sources: list[str] = []
            for source in _inbound_names(child.get("inbound_nodes")):
                if source not in outputs:
                    raise ValueError(f"unknown inbound layer {source!r}")
                sources += [s for s in outputs[source] if s not in sources]
            outputs[name_of(child)] = visit(child, sources, depth + 1)
        result: list[str] = []
        for source in _inbound_names(config.get("output_layers")):
            result += [s for s in outputs.get(source, []) if s not in result]
        return result

    if not isinstance(model_config, dict) or children(model_config) is None:
        return None
    try:
        visit(model_config, [], 0)
    except (ValueError, TypeError, RecursionError):
        return None
    return feeds


def _inbound_names(value: Any) -> list[str]:
    """Layer names in Keras 3 ``keras_history`` entries or Keras 2 ``[name, node, index]``."""
    found: list[str] = []

    def walk(item: Any, depth: int) -> None:
        if depth > 32:
            return
        if isinstance(item, dict):
            history = item.get("keras_history")
            if isinstance(history, list) and history and isinstance(history[0], str):
                found.append(history[0])
                return
            for child in item.values():
                walk(child, depth + 1)
        elif isinstance(item, list):
            if (
                len(item) >= 3
                and isinstance(item[0], str)
                and all(isinstance(x, int) for x in item[1:3])
            ):
                found.append(item[0])
                return
            for child in item:
                walk(child, depth + 1)

    walk(value, 0)
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- what loading would import

SAFE_MODULES = ("keras", "builtins")
"""Config ``module`` values Keras resolves inside its own package."""


def foreign_objects(path: Path, fmt: str) -> list[str]:
    """Objects in a model config that loading it with Keras would import from outside Keras
    (a module of the checked repository, ``os``...) or that hold code (Lambda layers): the
    probe refuses to load such a model, whatever Keras' safe mode would allow."""
    if fmt == "keras":
        with zips.open_zip(path, "Keras archive") as archive:
            config = _json(zips.read_member(archive, "config.json", path), path, "config.json")
    else:

        def read():
            import h5py

            with h5py.File(path, "r") as h5:
                raw = h5.attrs.get("model_config")
                return None if raw is None else _json(_text(raw).encode(), path, "model_config")

        config = _h5_call(path, read)
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(config, 0)]
    while stack:
        entry, depth = stack.pop()
        if depth > 200 or len(found) > 20:
            break
        if isinstance(entry, dict):
            module = entry.get("module")
            class_name = str(entry.get("class_name") or "")
            if isinstance(module, str) and module.split(".", 1)[0] not in SAFE_MODULES:
                found.append(f"{module}.{class_name}")
            registered = entry.get("registered_name")
            if isinstance(registered, str) and ">" in registered:
                found.append(registered)
            if class_name in ("Lambda", "__lambda__") or "__lambda__" in entry:
                found.append(
                    f"Lambda ({entry.get('config', {}).get('name', '?')})"
                    if isinstance(entry.get("config"), dict)
                    else "Lambda"
                )
            stack.extend((value, depth + 1) for value in entry.values())
        elif isinstance(entry, list):
            stack.extend((value, depth + 1) for value in entry)
    return found
