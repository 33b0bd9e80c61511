"""The data tests need the data extra (pyarrow, Pillow, datasets, scikit-learn)."""

import importlib.util

_EXTRA = ("pyarrow", "PIL", "sklearn", "datasets")
collect_ignore_glob = [] if all(importlib.util.find_spec(m) for m in _EXTRA) else ["test_*.py"]
