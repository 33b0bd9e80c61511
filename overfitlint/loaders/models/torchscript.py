"""TorchScript archives read as data: TorchScript is code, and loading it runs it.

``torch.jit.load`` runs a module's TorchScript ``__setstate__`` (which can write files or loop
forever) and a deeply nested expression crashes it, so the static path never calls it. The
archive is a zip: ``data.pkl`` (the module objects, read with ``torch_pickle``'s unpickler: the
tensors become references, nothing runs) and ``code/`` (the TorchScript source of each class,
read as text for ``__parameters__``, ``__buffers__``, ``Final`` constants such as a Dropout's
``p``, and functional dropout calls in ``forward``). The tensor storages are never read.
``--trust-torchscript`` loads the archive with ``torch.jit.load`` instead.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overfitlint.errors import InputError
from overfitlint.facts import LayerFacts, ModelFacts, Provenance, Unknown
from overfitlint.loaders.models.module_tree import ModuleNode, TensorInfo, layers_from, tied_note
from overfitlint.loaders.models.named_tensors import TORCH_DROPOUT_MODULES
from overfitlint.readers import archive as zips
from overfitlint.readers.torch_pickle import StandIn, TensorRef, unpickle

PICKLE_LIMIT = 256 << 20
CODE_LIMIT = 16 << 20
MAX_CODE_FILES = 20_000
MAX_DEPTH = 200
CLASS_LINE = re.compile(r"^class (\w+)\((\w+)\):\s*$")
LIST_LINE = re.compile(r"^  (__parameters__|__buffers__) = \[(.*)\]\s*$")
FINAL_LINE = re.compile(r"^  (\w+) : Final\[\w+\] = (.+?)\s*$")
DROPOUT_NAME = (
    r"(?:torch\.(?:feature_|alpha_|feature_alpha_)?dropout"
    r"|__torch__\.torch\.nn\.functional\.\w*dropout\w*)"
)
DROPOUT_ALIAS = re.compile(rf"^\s*(_\w+) = ({DROPOUT_NAME})\s*$", re.M)
DROPOUT_CALL = re.compile(rf"({DROPOUT_NAME})\(")
NO_OPTIMIZER = Unknown(
    "a TorchScript archive carries no optimizer",
    "Save the optimizer with the model in a checkpoint (torch.save({'model': "
    "model.state_dict(), 'optimizer': optimizer.state_dict()}, path)), or pass "
    "--weight-decay VALUE.",
)


@dataclass
class ClassDef:
    base: str
    parameters: list[str] = field(default_factory=list)
    buffers: list[str] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    dropout_rates: list[float | None] = field(default_factory=list)
    """Functional dropout calls in the class's methods, with their literal rate when written."""


def load_torchscript_data(path: Path) -> ModelFacts:
    with zips.open_zip(path, "TorchScript archive") as archive:
        names = archive.namelist()
        pickle_name = next((n for n in names if n.endswith("data.pkl") and n.count("/") == 1), None)
        if pickle_name is None:
            raise InputError(f"{path}: a TorchScript archive without data.pkl; is it truncated?")
        prefix = pickle_name[: -len("data.pkl")]
        root = unpickle(zips.read_member(archive, pickle_name, path, PICKLE_LIMIT), str(path))
        classes = _class_definitions(archive, names, prefix, path)
    if not isinstance(root, StandIn):
        raise InputError(f"{path}: data.pkl holds no TorchScript module")
    nodes = list(_nodes(root, classes))
    layers, tied = layers_from(nodes)
    notes = [
        "read as data: TorchScript code in the archive was not run (--trust-torchscript runs it)"
    ]
    notes += tied_note(tied)
    if not any(layer.is_dropout for layer in layers):
        for owner, rate in _functional_dropouts(nodes, classes):
            layers.append(LayerFacts(f"{owner} (functional)", "Dropout", dropout_rate=rate))
    return ModelFacts(
        framework="pytorch",
        source=str(path),
        format="torchscript",
        layers=layers,
        provenance=Provenance(producer="torch.jit", details={"root_module": root.class_name}),
        optimizer=NO_OPTIMIZER,
        dropout_visible=True,
        notes=notes,
    )


def _class_definitions(archive, names: list[str], prefix: str, path: Path) -> dict[str, ClassDef]:
    files = [n for n in names if n.startswith(f"{prefix}code/") and n.endswith(".py")]
    if len(files) > MAX_CODE_FILES:
        raise InputError(f"{path}: {len(files):,} code files; too many for a TorchScript model")
    classes: dict[str, ClassDef] = {}
    total = 0
    for name in files:
        data = zips.read_member(archive, name, path, CODE_LIMIT)
        total += len(data)
        if total > 4 * CODE_LIMIT:
            raise InputError(f"{path}: the TorchScript code is too large to read")
        module = name[len(f"{prefix}code/") : -len(".py")].replace("/", ".")
        classes.update(_parse_code(module, data.decode("utf-8", errors="replace")))
    return classes


def _parse_code(module: str, text: str) -> dict[str, ClassDef]:
    """Class definitions of one TorchScript source file: plain line scanning, no parser."""
    found: dict[str, ClassDef] = {}
    current: ClassDef | None = None
    body: list[str] = []
    for line in text.splitlines():
        header = CLASS_LINE.match(line)
        if header:
            if current is not None:
                current.dropout_rates = _dropout_calls("\n".join(body))
            current = ClassDef(header.group(2))
            found[f"{module}.{header.group(1)}"] = current
            body = []
            continue
        if current is None:
            continue
        if line and not line.startswith(" "):
            current.dropout_rates = _dropout_calls("\n".join(body))
            current, body = None, []
            continue
        listed = LIST_LINE.match(line)
        if listed:
            items = [item.strip().strip('"') for item in listed.group(2).split(",")]
            target = current.parameters if listed.group(1) == "__parameters__" else current.buffers
            target.extend(item for item in items if item)
            continue
        constant = FINAL_LINE.match(line)
        if constant:
            current.constants[constant.group(1)] = _literal(constant.group(2))
            continue
        body.append(line)
    if current is not None:
        current.dropout_rates = _dropout_calls("\n".join(body))
    return found


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _dropout_calls(body: str) -> list[float | None]:
    aliases = {m.group(1) for m in DROPOUT_ALIAS.finditer(body)}
    pattern = DROPOUT_CALL
    if aliases:
        names = "|".join(re.escape(a) for a in sorted(aliases))
        pattern = re.compile(rf"(?<![\w.])({names}|{DROPOUT_NAME})\(")
    rates: list[float | None] = []
    for match in pattern.finditer(body):
        arguments = _arguments(body, match.end())
        rate = _literal(arguments[1]) if len(arguments) > 1 else None
        rates.append(float(rate) if isinstance(rate, int | float) else None)
    return rates


def _arguments(text: str, start: int, limit: int = 4000) -> list[str]:
    """The top-level arguments of a call whose '(' ends at ``start`` (bounded scan)."""
    depth, current, parts = 0, [], []
    for char in text[start : start + limit]:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _definition(obj: StandIn, classes: dict[str, ClassDef]) -> ClassDef | None:
    return classes.get(f"{obj.module}.{obj.qualname}")


def _nodes(root: StandIn, classes: dict[str, ClassDef]):
    """Modules depth-first in attribute order, as named_modules() lists them; each once."""
    seen: set[int] = set()
    stack: list[tuple[str, StandIn, int]] = [("", root, 0)]
    while stack:
        name, obj, depth = stack.pop()
        if id(obj) in seen or depth > MAX_DEPTH:
            continue
        seen.add(id(obj))
        definition = _definition(obj, classes) or ClassDef("Module")
        state = obj.state
        children = [
            (key, value)
            for key, value in state.items()
            if isinstance(value, StandIn)
            and (_definition(value, classes) or ClassDef("")).base == "Module"
        ]
        node = ModuleNode(name, obj.class_name, has_children=bool(children))
        for key in definition.parameters:
            tensor = state.get(key)
            if isinstance(tensor, TensorRef):
                node.parameters.append(_info(tensor, tensor.requires_grad))
        for key in definition.buffers:
            tensor = state.get(key)
            if isinstance(tensor, TensorRef):
                node.buffers.append(_info(tensor, False))
        node.attributes = {**definition.constants, **{k: v for k, v in state.items() if _plain(v)}}
        yield node
        for key, child in reversed(children):
            stack.append((f"{name}.{key}" if name else key, child, depth + 1))


def _plain(value: Any) -> bool:
    return isinstance(value, int | float | bool | str) or value is None


def _info(tensor: TensorRef, trainable: bool) -> TensorInfo:
    return TensorInfo(tensor.identity, tensor.numel, trainable, tensor.floating)


def _functional_dropouts(nodes: list[ModuleNode], classes: dict[str, ClassDef]):
    """(module name, rate) for classes other than the Dropout modules that call dropout."""
    for qualname, definition in classes.items():
        kind = qualname.rsplit(".", 1)[-1]
        if kind in TORCH_DROPOUT_MODULES or not definition.dropout_rates:
            continue
        owner = next((n.name or "(root)" for n in nodes if n.kind == kind), kind)
        for rate in definition.dropout_rates:
            yield owner, rate
