"""torch.export programs (``.pt2``, ``torch.export.save``) read as data.

``torch.export.load`` unpickles parts of the archive (its own docs warn never to
load an untrusted one), so it is not used. The archive's JSON describes
everything we need: the graph signature names the parameters and buffers, the
graph's tensor metadata gives their shapes, ``model_weights_config.json`` says
which names share one stored tensor (weight tying), each node's
``nn_module_stack`` names the module class that produced it, and Dropout shows up
as an ``aten.dropout`` call with its ``p``. No PyTorch is imported.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, Provenance, Unknown
from overfitlint.loaders.models.named_tensors import TORCH_DROPOUT_MODULES as DROPOUT_MODULES
from overfitlint.readers import MAX_TENSOR_ELEMENTS
from overfitlint.readers import archive as zips

# torch._export.serde.schema.ScalarType codes of floating dtypes
FLOATING = {6, 7, 8, 13, 29, 30, 31, 32, 33}
DROPOUT_OPS = {
    "dropout": "Dropout",
    "native_dropout": "Dropout",
    "feature_dropout": "Dropout2d",
    "alpha_dropout": "AlphaDropout",
    "feature_alpha_dropout": "FeatureAlphaDropout",
}
BUILTIN_DROPOUT_ARGS = {"dropout", "dropout_p"}
NO_OPTIMIZER = Unknown(
    "a torch.export program carries no optimizer",
    "Check the training checkpoint (torch.save with the optimizer's state_dict), "
    "or pass --weight-decay VALUE.",
)


def load_torch_export(path: Path) -> ModelFacts:
    archive = zips.open_zip(path, "torch.export archive")
    with archive:
        names = archive.namelist()
        program_name = _program_member(names, path)
        program = _json(zips.read_member(archive, program_name, path), path, program_name)
        storages: dict[str, str] = {}
        config_name = next((n for n in names if n.endswith("_weights_config.json")), None)
        if config_name:
            config = _json(zips.read_member(archive, config_name, path), path, config_name)
            entries = config.get("config") if isinstance(config, dict) else None
            if isinstance(entries, dict):
                storages = {
                    fqn: str(e.get("path_name"))
                    for fqn, e in entries.items()
                    if isinstance(e, dict) and e.get("path_name")
                }
    try:
        return _facts(program, storages, path)
    except InputError:
        raise
    except Exception as exc:  # a JSON layout we do not know, or a damaged one
        raise InputError(
            f"{path}: the torch.export program has an unexpected layout ({type(exc).__name__}: "
            f"{exc}); it may come from an unsupported PyTorch version"
        ) from None


def _program_member(names: list[str], path: Path) -> str:
    models = [n for n in names if "/models/" in f"/{n}" and n.endswith(".json")]
    preferred = [n for n in models if n.endswith("/model.json") or n == "models/model.json"]
    legacy = [n for n in names if n.endswith("serialized_exported_program.json")]
    for candidates in (preferred, models, legacy):
        if candidates:
            return candidates[0]
    raise InputError(f"{path}: a torch.export archive without a program (models/*.json)")


def _json(data: bytes, path: Path, member: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: {member} is not valid JSON ({exc})") from None


def _sizes(meta: dict, path: Path, name: str) -> list[int | str]:
    dims: list[int | str] = []
    for size in meta.get("sizes", []):
        value = size.get("as_int") if isinstance(size, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise InputError(f"{path}: tensor {name!r} declares a negative dimension")
            dims.append(value)
        else:
            dims.append("?")
    return dims


def _module_stack(node: dict) -> list[tuple[str, str]]:
    """[(module path, class name)] outermost first, from a node's nn_module_stack."""
    text = (node.get("metadata") or {}).get("nn_module_stack") or ""
    stack = []
    for entry in str(text).split(";"):
        parts = entry.split(",")
        if len(parts) >= 3:
            stack.append((parts[1], parts[-1].rsplit(".", 1)[-1]))
    return stack


def _builtin_dropout(node: dict, layers: dict[str, LayerFacts]) -> None:
    """An operator with a dropout argument (LSTM/GRU, attention): the rate goes on its module."""
    for argument in node.get("inputs", []):
        if argument.get("name") not in BUILTIN_DROPOUT_ARGS:
            continue
        value = (argument.get("arg") or {}).get("as_float")
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            continue
        stack = _module_stack(node)
        if not stack:
            continue
        entry = layers.get(stack[-1][0])
        if entry is not None:
            entry.dropout_rate = max(entry.dropout_rate or 0.0, float(value))


def _facts(program: dict, storages: dict[str, str], path: Path) -> ModelFacts:
    module = program["graph_module"]
    graph = module["graph"]
    tensor_values = graph.get("tensor_values") or {}
    kinds: dict[str, str] = {}
    for node in graph.get("nodes", []):
        for module_path, class_name in _module_stack(node):
            kinds.setdefault(module_path, class_name)

    layers: dict[str, LayerFacts] = {}

    def layer(prefix: str) -> LayerFacts:
        if prefix not in layers:
            layers[prefix] = LayerFacts(prefix or "(root)", kinds.get(prefix, "Module"))
        return layers[prefix]

    seen: dict[str, str] = {}
    tied = []
    input_shapes: dict[str, list[int | str]] = {}
    for spec in module["signature"]["input_specs"]:
        (role, body), *_ = spec.items()
        if role == "user_input":
            arg = body.get("arg", {})
            name = (arg.get("as_tensor") or {}).get("name")
            if name and name in tensor_values:
                input_shapes[name] = _sizes(tensor_values[name], path, name)
            continue
        if role not in ("parameter", "buffer"):
            continue
        fqn = body.get("parameter_name") or body.get("buffer_name") or ""
        if role == "buffer" and body.get("persistent") is False:
            continue
        meta = tensor_values.get(body["arg"]["name"], {})
        if meta.get("dtype") not in FLOATING:
            continue  # step counters and other integer buffers
        storage = storages.get(fqn)
        if storage is not None:
            if storage in seen:
                tied.append(f"{fqn} = {seen[storage]}")
                continue
            seen[storage] = fqn
        dims = _sizes(meta, path, fqn)
        if any(not isinstance(d, int) for d in dims):
            raise InputError(f"{path}: parameter {fqn!r} has a symbolic shape")
        count = math.prod(dims) if dims else 1
        if count > MAX_TENSOR_ELEMENTS:
            raise InputError(
                f"{path}: parameter {fqn!r} declares shape {dims}; the file is corrupt"
            )
        entry = layer(fqn.rpartition(".")[0])
        entry.params += count
        if role == "parameter" and meta.get("requires_grad", True) is not False:
            entry.trainable_params += count

    dropouts = 0
    for node in graph.get("nodes", []):
        op = str(node.get("target", "")).split(".")
        op_name = op[-2] if len(op) >= 2 else ""
        if op_name.rstrip("_") not in DROPOUT_OPS:
            _builtin_dropout(node, layers)
            continue
        stack = _module_stack(node)
        where = stack[-1][0] if stack else f"{op_name}_{dropouts}"
        rate = None
        for argument in node.get("inputs", []):
            if argument.get("name") == "p":
                value = (argument.get("arg") or {}).get("as_float")
                rate = float(value) if isinstance(value, int | float) else None
        kind = stack[-1][1] if stack else DROPOUT_OPS[op_name.rstrip("_")]
        if kind not in DROPOUT_MODULES:
            kind = DROPOUT_OPS[op_name.rstrip("_")]
            where = f"{where}.{op_name}" if where else op_name
        key = f"{where}#dropout{dropouts}"
        layers[key] = LayerFacts(where or op_name, kind, dropout_rate=rate)
        dropouts += 1

    seen_modules = {layer.name for layer in layers.values()}
    for module_path, class_name in kinds.items():
        if class_name in DROPOUT_MODULES and module_path not in seen_modules:
            # a Dropout module whose call the export folded away (an inference graph)
            layers[f"{module_path}#module"] = LayerFacts(module_path, class_name)

    notes = []
    if tied:
        notes.append(
            f"{len(tied)} parameter(s) share one stored tensor (weight tying), counted once"
        )
    version = program.get("schema_version") or {}
    return ModelFacts(
        framework="pytorch",
        source=str(path),
        format="torch-export",
        layers=list(layers.values()),
        provenance=Provenance(
            producer="torch.export",
            producer_version=str(program.get("torch_version", "")),
            details={"schema_version": f"{version.get('major', '?')}.{version.get('minor', '?')}"},
        ),
        optimizer=NO_OPTIMIZER,
        dropout_visible=True,
        input_shapes=input_shapes,
        notes=notes,
    )


NESTED_LIMIT = 512 << 20


def check_pickles(path: Path) -> None:
    """Refuse a .pt2 archive any of whose pickles names more than tensor rebuilds and
    containers (``torch.export.load`` unpickles its weights, constants and sample inputs):
    each pickled member, and each nested torch.save archive in it, is read as data in strict
    mode first. Nothing is run."""
    import io
    import zipfile

    from overfitlint.readers.torch_pickle import unpickle

    with zips.open_zip(path, "torch.export archive") as archive:
        for info in archive.infolist():
            if info.is_dir() or info.file_size == 0:
                continue
            with zips.open_member(
                archive, zips.member_info(archive, info.filename, path, NESTED_LIMIT), path
            ) as handle:
                head = handle.read(4)
            if head[:1] == b"\x80":
                data = zips.read_member(archive, info.filename, path, NESTED_LIMIT)
                unpickle(data, f"{path} ({info.filename})", strict=True)
            elif head == b"PK\x03\x04":
                nested = zips.read_member(archive, info.filename, path, NESTED_LIMIT)
                try:
                    inner = zipfile.ZipFile(io.BytesIO(nested))
                except zipfile.BadZipFile:
                    raise InputError(f"{path}: {info.filename} is a damaged archive") from None
                with inner:
                    zips.check_names(inner, path)
                    for name in inner.namelist():
                        if name.endswith(".pkl"):
                            data = zips.read_member(inner, name, path, NESTED_LIMIT)
                            unpickle(data, f"{path} ({info.filename}/{name})", strict=True)
