"""The data tests need the data extra (pyarrow, Pillow, datasets, scikit-learn)."""

import pytest

for module in ("pyarrow", "PIL", "sklearn", "datasets"):
    pytest.importorskip(module)
