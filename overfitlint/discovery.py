"""``overfitlint check DIR``: the model and logs a folder holds, found by its layout.

- A Hugging Face output folder (``trainer_state.json``, or ``checkpoint-N/`` folders holding
  one): the model is the folder's own ``model.safetensors`` (or ``pytorch_model.bin``), else the
  best checkpoint's (``best_model_checkpoint``), else the last one's; the log is the folder's
  ``trainer_state.json``, else the last checkpoint's (the longest history). ``config.json``
  and ``training_args.bin`` beside the weights are read by the model loader. A
  ``checkpoint-N/`` folder given itself is the same layout.
- A Lightning ``version_N/`` folder (``metrics.csv`` with ``hparams.yaml`` or
  ``checkpoints/``): the log is ``metrics.csv``, the model the checkpoint ``ModelCheckpoint``
  recorded as best (read as data from a checkpoint's callback state), else the only one, else
  ``last.ckpt``, else the highest epoch. A ``lightning_logs/`` folder gives one run per version.
- Any other folder is searched (6 levels deep, 20,000 entries; hidden folders, virtual
  environments, ``node_modules``, ``reports/`` and tracker stores are skipped): model files by
  their suffix (SavedModel and TensorBoard folders by their content), and logs whose names say
  they are logs (``*log*``, ``metrics``, ``history``, ``results``, ``progress``...: a
  ``config.json`` or a data CSV is not a log). Files of one checkpoint series
  (``weights.03-1.21.keras`` ... ``weights.17-1.00.keras``) count once: the highest epoch, the
  last one ``ModelCheckpoint`` wrote. When text logs are found, TensorBoard folders are left out
  (the same curves twice); a found log that cannot be read is left out with a note.

Every choice is a note in the report. Nothing found is one line (exit code 2).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from overfitlint import formats
from overfitlint.errors import InputError
from overfitlint.paths import find_root, is_inside

MAX_DEPTH = 6
MAX_ENTRIES = 20_000
SKIP_FOLDERS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "venv",
        "env",
        "reports",
        "wandb",
        "mlruns",
        "ray_results",
    }
)
LOG_SUFFIXES = frozenset({".csv", ".tsv", ".log", ".json", ".jsonl", ".ndjson", ".txt"})
LOG_NAME = re.compile(
    r"(log|metric|histor|progress|result|loss|scalar|curve|trainer_state|training|eval)", re.I
)
NOT_MODELS = re.compile(
    r"^(training_args\.bin|optimizer\.(pt|bin)|scheduler\.pt|scaler\.pt|rng_state.*\.pth)$", re.I
)
NUMBER = re.compile(r"\d+(?:\.\d+)?")
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
VERSION = re.compile(r"^version_\d+$")
HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@dataclass
class Found:
    """What a folder holds: model first, then logs; ``notes`` say how it was chosen."""

    folder: Path
    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    searched: bool = False
    """Found by searching a plain folder: the paths pair up like paths given one by one."""


def discover(folder: Path) -> list[Found]:
    """The runs in ``folder``: one per Hugging Face or Lightning layout, one for the rest."""
    layout = _layout(folder)
    if layout is not None:
        return layout
    return _search(folder)


# -- layouts ---------------------------------------------------------------------------------


def _layout(folder: Path) -> list[Found] | None:
    if is_hf_folder(folder):
        return [_hf(folder)]
    if is_lightning_version(folder):
        return [_lightning(folder)]
    versions = lightning_versions(folder)
    if versions:
        return [_lightning(v) for v in versions]
    return None


def is_hf_folder(folder: Path) -> bool:
    if (folder / "trainer_state.json").is_file():
        return True
    return any((c / "trainer_state.json").is_file() for c in _checkpoints(folder))


def _checkpoints(folder: Path) -> list[Path]:
    """``checkpoint-N`` folders, by step."""
    try:
        found = [c for c in folder.iterdir() if c.is_dir() and CHECKPOINT.match(c.name)]
    except OSError:
        return []
    return sorted(found, key=lambda c: int(CHECKPOINT.match(c.name).group(1)))


def _weights(folder: Path) -> Path | None:
    return next((folder / n for n in HF_WEIGHTS if (folder / n).is_file()), None)


def _best_checkpoint(folder: Path, checkpoints: list[Path]) -> Path | None:
    """The checkpoint ``trainer_state.json`` names as best (read from the folder or the last
    checkpoint), when it is one of ``checkpoints``."""
    from overfitlint.loaders.models.hf_folder import last_part, read_json

    for state_file in (folder / "trainer_state.json", *(c / "trainer_state.json" for c in
                       reversed(checkpoints))):  # fmt: skip
        state = read_json(state_file) if _readable(state_file) else None
        best = (state or {}).get("best_model_checkpoint")
        if isinstance(best, str):
            return next((c for c in checkpoints if c.name == last_part(best)), None)
    return None


def _hf(folder: Path) -> Found:
    found = Found(folder)
    checkpoints = _checkpoints(folder)
    weights = _weights(folder)
    source = folder
    if weights is None and checkpoints:
        best = _best_checkpoint(folder, checkpoints)
        source = best or checkpoints[-1]
        weights = _weights(source)
        why = "the best checkpoint trainer_state.json names" if best else "the last checkpoint"
        found.notes.append(f"Hugging Face folder {folder}: no model of its own; took {why}, "
                           f"{source.name}")  # fmt: skip
    log = folder / "trainer_state.json"
    if not log.is_file() and checkpoints:  # the last checkpoint's history is the longest
        log = checkpoints[-1] / "trainer_state.json"
    if weights is None:
        raise InputError(
            f"{folder}: a Hugging Face output folder without model.safetensors or "
            "pytorch_model.bin (sharded weights are not read; give the files)"
        )
    found.paths = [weights, log] if log.is_file() else [weights]
    left = [c.name for c in checkpoints if c != source]
    if left:
        found.notes.append(
            f"Hugging Face folder {folder}: read {weights.relative_to(folder)} and "
            f"{log.relative_to(folder)}; {len(left)} other checkpoint folder(s) not judged "
            f"({', '.join(left[:5])}{', ...' if len(left) > 5 else ''})"
        )
    return found


def is_lightning_version(folder: Path) -> bool:
    return (folder / "metrics.csv").is_file() and (
        (folder / "hparams.yaml").is_file() or (folder / "checkpoints").is_dir()
    )


def lightning_versions(folder: Path) -> list[Path]:
    """``version_N`` folders of ``folder`` (a ``lightning_logs/``) or of its
    ``lightning_logs/``, by number."""
    for parent in (folder, folder / "lightning_logs"):
        try:
            children = [c for c in parent.iterdir() if c.is_dir() and VERSION.match(c.name)]
        except OSError:
            continue
        runs = [c for c in children if is_lightning_version(c)]
        if runs:
            return sorted(runs, key=lambda c: int(c.name.split("_")[1]))
    return []


def _lightning(folder: Path) -> Found:
    found = Found(folder, [folder / "metrics.csv"])
    checkpoints = sorted((folder / "checkpoints").glob("*.ckpt")) if (
        folder / "checkpoints").is_dir() else []  # fmt: skip
    if not checkpoints:
        found.notes.append(f"Lightning run {folder}: no checkpoints/*.ckpt; the log alone")
        return found
    chosen, why = _lightning_model(checkpoints)
    found.paths.insert(0, chosen)
    if len(checkpoints) > 1:
        others = [c.name for c in checkpoints if c != chosen]
        found.notes.append(
            f"Lightning run {folder}: took {chosen.name} ({why}); not judged: "
            f"{', '.join(others[:5])}{', ...' if len(others) > 5 else ''}"
        )
    return found


def _lightning_model(checkpoints: list[Path]) -> tuple[Path, str]:
    if len(checkpoints) == 1:
        return checkpoints[0], "the only checkpoint"
    best = _recorded_best(checkpoints)
    if best is not None:
        return best, "ModelCheckpoint's best_model_path"
    last = next((c for c in checkpoints if c.name == "last.ckpt"), None)
    if last is not None:
        return last, "last.ckpt: ModelCheckpoint recorded no best"
    return max(checkpoints, key=_epoch_in_name), "the highest epoch"


def _recorded_best(checkpoints: list[Path]) -> Path | None:
    """The checkpoint a ModelCheckpoint callback's state names as its best, read as data."""
    from overfitlint.loaders.models.hf_folder import last_part
    from overfitlint.loaders.models.pytorch import read_checkpoint

    names = {c.name: c for c in checkpoints}
    for path in checkpoints:
        if not _readable(path):
            continue
        try:
            data = read_checkpoint(path, formats.detect(path).format)
        except InputError:
            continue
        callbacks = data.get("callbacks") if isinstance(data, dict) else None
        if not isinstance(callbacks, dict):
            continue
        for key, state in callbacks.items():
            if "ModelCheckpoint" in str(key) and isinstance(state, dict):
                best = state.get("best_model_path")
                if isinstance(best, str) and last_part(best) in names:
                    return names[last_part(best)]
    return None


def _epoch_in_name(path: Path) -> float:
    numbers = NUMBER.findall(path.stem)
    return float(numbers[0]) if numbers else -1.0


# -- a plain folder --------------------------------------------------------------------------


def _search(folder: Path) -> list[Found]:
    plain = Found(folder, searched=True)
    runs: list[Found] = []
    models: list[Path] = []
    text_logs: list[Path] = []
    event_folders: list[Path] = []
    seen = 0
    base_depth = len(folder.parts)
    for here, dirs, files in os.walk(folder, followlinks=False):
        current = Path(here)
        keep = []
        for name in sorted(dirs):
            child = current / name
            if name.startswith(".") or name in SKIP_FOLDERS or child.is_symlink():
                continue
            layout = _layout(child)
            if layout is not None:
                runs.extend(layout)
            elif formats.is_savedmodel(child):
                models.append(child)
            elif formats.event_files_here(child):
                event_folders.append(child)
            elif len(child.parts) - base_depth < MAX_DEPTH:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            seen += 1
            if seen > MAX_ENTRIES:
                plain.notes.append(f"searched {folder}: stopped after {MAX_ENTRIES:,} files")
                dirs[:] = []
                break
            path = current / name
            if path.is_symlink() and not path.exists():
                continue
            suffix = path.suffix.lower()
            if suffix in formats.SUFFIXES and not NOT_MODELS.match(name):
                models.append(path)
            elif name.startswith("events.out.tfevents") and current not in event_folders:
                if current != folder:
                    event_folders.append(current)
            elif suffix in LOG_SUFFIXES and LOG_NAME.search(path.stem):
                text_logs.append(path)
        if seen > MAX_ENTRIES:
            break
    models = _one_per_series(models, plain)
    logs: list[Path] = text_logs
    if text_logs and event_folders:
        plain.notes.append(
            f"searched {folder}: TensorBoard folder(s) "
            f"{', '.join(str(p.relative_to(folder)) for p in event_folders)} not read: the text "
            "log(s) hold the curves (give the folder as a PATH to read it)"
        )
    else:
        logs = text_logs + event_folders
    plain.paths = models + logs
    if plain.paths:
        shown = ", ".join(str(p.relative_to(folder)) for p in plain.paths[:8])
        plain.notes.insert(0, f"searched {folder}: found {shown}")
        runs.insert(0, plain)
    if not runs:
        raise InputError(
            f"{folder}: no model file or training log found in it (looked for model files by "
            "suffix, logs named like *log*, metrics, history, results; Hugging Face and "
            "Lightning output folders)"
        )
    return runs


def _one_per_series(models: list[Path], found: Found) -> list[Path]:
    """Checkpoint files that differ only in their numbers count once: the highest epoch."""
    series: dict[tuple[Path, str], list[Path]] = {}
    for path in models:
        series.setdefault((path.parent, NUMBER.sub("#", path.name)), []).append(path)
    kept = []
    for (_, pattern), members in series.items():
        if len(members) == 1 or "#" not in pattern:
            kept.extend(members)
            continue
        chosen = max(members, key=_epoch_in_name)
        kept.append(chosen)
        found.notes.append(
            f"{len(members)} checkpoint files of one series ({pattern}): took {chosen.name}, "
            "the highest epoch (the last ModelCheckpoint wrote; with save_best_only, the best)"
        )
    return sorted(kept, key=lambda p: models.index(p))


def _readable(path: Path) -> bool:
    """Inside its repository (a link out of it is never read; the loader refuses it)."""
    return is_inside(path, find_root(path))
