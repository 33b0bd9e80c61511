"""The files one target's check reads, and ``--ship-inputs``: sending them to a worker.

A check reads its inputs (every file of a folder input), the files its loaders open beside
them (``hparams.yaml`` beside a Lightning log, ``optimizer_model.onnx`` and external-data
files beside an ONNX model) and the files the settings name (``--weights``, ``--data``). The
cache keys on their content; ``--ship-inputs`` sends their bytes to the worker, which writes
them into a scratch folder at the same absolute paths below it (so every relative path, and
every path in the report, reads as it does on the driver).

A model factory (``MODULE:CALLABLE``) runs the user's code, which cannot be listed: a target
with one is never cached, and with ``--ship-inputs`` its module must be installed on the
workers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.paths import ROOT_MARKERS, find_root, is_inside
from overfitlint.settings import Settings
from overfitlint.targets import Target

MAX_FOLDER_FILES = 20_000
MAX_SHIPPED_BYTES = 2 << 30
"""Beyond this a target's files are left on shared storage: the driver holds them in memory."""
LOG_COMPANIONS = ("hparams.yaml",)
ONNX_COMPANIONS = ("optimizer_model.onnx",)
HF_COMPANIONS = ("config.json", "training_args.bin", "trainer_state.json")
"""Read beside a weights file (``loaders.models.hf_folder``)."""
WEIGHTS_FORMATS = (formats.SAFETENSORS, formats.TORCH_CHECKPOINT, formats.TORCH_PICKLE)


def files_read(target: Target, settings: Settings) -> list[Path] | None:
    """Every file the check of ``target`` reads, sorted; None when it runs a factory."""
    if any(d.format == formats.FACTORY for d in target.inputs):
        return None
    found: set[Path] = set()
    for detected in target.inputs:
        found.update(_files_of(detected))
    hints = settings.with_load(**target.overrides)
    named = (hints.load.weights, hints.probe.data, hints.load.spectral_reference, *hints.load.data)
    for path in named:
        if path is not None and path.is_file():
            found.add(path)
        elif path is not None and path.is_dir():  # an image folder, a datasets folder
            found.update(_folder_files(path))
    return sorted(found, key=str)


def _files_of(detected: formats.Detected) -> Iterator[Path]:
    path = detected.path
    if path.is_dir():
        yield from _folder_files(path)
        return
    yield path
    names = ONNX_COMPANIONS if detected.format == formats.ONNX else LOG_COMPANIONS
    if detected.format in WEIGHTS_FORMATS:
        names = HF_COMPANIONS
    if detected.kind == formats.LOG or detected.format in (formats.ONNX, *WEIGHTS_FORMATS):
        for name in names:
            if (path.parent / name).is_file() and path.name != name:
                yield path.parent / name
    if detected.format == formats.ONNX:
        yield from _external_data(path)


def _folder_files(folder: Path) -> Iterator[Path]:
    root = find_root(folder)
    count = 0
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            item = Path(here) / name
            if item.is_file() and (not item.is_symlink() or is_inside(item, root)):
                count += 1
                if count > MAX_FOLDER_FILES:
                    return
                yield item


def _external_data(path: Path) -> Iterator[Path]:
    """The files an ONNX model keeps its tensors in, inside its folder (others are refused by
    the loader anyway). The graph is read as the loader reads it, without the tensor bytes."""
    from overfitlint.loaders.models.onnx import read_model

    try:
        model = read_model(path)
    except InputError:  # a damaged model: the check itself says so
        return
    folder = path.parent
    seen = set()
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key != "location" or entry.value in seen:
                continue
            seen.add(entry.value)
            target = folder / entry.value
            inside = not Path(entry.value).is_absolute() and is_inside(target, folder.resolve())
            if inside and target.is_file():
                yield target


# ---------------------------------------------------------------- shipping


def pack(target: Target, settings: Settings) -> dict[str, Any]:
    """The bytes of every file the check reads, keyed by absolute path, and the repository
    roots above them (the worker marks them, so reads are confined as on the driver)."""
    paths = files_read(target, settings) or []
    files: dict[str, bytes] = {}
    total = 0
    for path in paths:
        size = path.stat().st_size
        total += size
        if total > MAX_SHIPPED_BYTES:
            raise InputError(
                f"{target.name}: more than {MAX_SHIPPED_BYTES >> 30} GiB of input files to "
                "ship; put them on storage the workers share and leave out --ship-inputs"
            )
        files[os.path.abspath(path)] = path.read_bytes()
    roots = sorted(
        {
            os.path.abspath(root)
            for path in paths
            if any(((root := find_root(path)) / marker).exists() for marker in ROOT_MARKERS)
        }
    )
    return {"files": files, "roots": roots}


def unpack(shipped: Mapping[str, Any], scratch: str) -> None:
    """Write shipped files at their absolute paths below ``scratch``."""
    base = os.path.realpath(scratch)
    for name, data in shipped["files"].items():
        dest = below(base, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "xb") as handle:
            handle.write(data)
    for root in shipped["roots"]:
        os.makedirs(os.path.join(below(base, root), ROOT_MARKERS[0]), exist_ok=True)


def below(base: str, path: str) -> str:
    """``path`` (absolute) re-rooted at ``base``; never outside it."""
    dest = os.path.normpath(base + os.sep + os.path.normpath(path).lstrip(os.sep))
    if dest != base and not dest.startswith(base + os.sep):
        raise InputError(f"{path}: a shipped path outside the scratch folder")
    return dest


def relocated(target: Target, settings: Settings, base: str) -> tuple[Target, Settings]:
    """The target and settings with their absolute paths re-rooted at ``base`` (relative
    paths are read from the mirrored working folder, so they stay as they are)."""

    def move(path: Path | None) -> Path | None:
        return Path(below(base, str(path))) if path is not None and path.is_absolute() else path

    inputs = tuple(
        d if d.format == formats.FACTORY else replace(d, path=move(d.path)) for d in target.inputs
    )
    overrides = dict(target.overrides)
    if overrides.get("weights") is not None:
        overrides["weights"] = move(Path(overrides["weights"]))
    settings = replace(
        settings,
        load=replace(
            settings.load,
            weights=move(settings.load.weights),
            spectral_reference=move(settings.load.spectral_reference),
            data=tuple(move(p) for p in settings.load.data),
        ),
        probe=replace(settings.probe, data=move(settings.probe.data)),
    )
    return replace(target, inputs=inputs, overrides=overrides), settings
