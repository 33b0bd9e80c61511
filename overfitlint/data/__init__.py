"""The data set itself: readers (npz, CSV, Parquet, image folders, datasets folders), the
measurements the 5xx rules judge (copies, balance, scale, quality, shift, label noise), and
``python -m overfitlint.data`` to run them alone.

``load_data`` reads; ``measure`` measures. Neither imports a deep-learning framework, and
nothing in a data file is ever executed. The names below are imported on first use, so that
a module of the package (an image-decoding worker) does not pull in pyarrow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overfitlint.data.budget import DataBudget
    from overfitlint.data.facts import DataFacts
    from overfitlint.data.load import load_data
    from overfitlint.data.measurements import measure

_HOMES = {
    "DataBudget": "overfitlint.data.budget",
    "DataFacts": "overfitlint.data.facts",
    "load_data": "overfitlint.data.load",
    "measure": "overfitlint.data.measurements",
}

__all__ = ["DataBudget", "DataFacts", "load_data", "measure"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'overfitlint.data' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
