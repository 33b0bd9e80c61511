"""Training logs in the formats real tools write."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def keras_csv(
    path: Path,
    loss: Sequence[float],
    val_loss: Sequence[float] | None,
    *,
    sep: str = ",",
    extra: dict[str, Sequence[float]] | None = None,
    newline: str = "\n",
) -> Path:
    """A Keras CSVLogger file: ``epoch`` first, then the metrics in sorted order."""
    columns = {"loss": loss, **(extra or {})}
    if val_loss is not None:
        columns["val_loss"] = val_loss
    names = sorted(columns)
    rows = [sep.join(["epoch", *names])]
    for epoch in range(len(loss)):
        rows.append(sep.join([str(epoch), *(repr(float(columns[n][epoch])) for n in names)]))
    path.write_text(newline.join(rows) + newline, encoding="utf-8", newline="")
    return path
