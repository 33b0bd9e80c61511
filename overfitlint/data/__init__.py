"""The data set itself: readers (npz, CSV, Parquet, image folders, datasets folders), the
measurements the 5xx rules judge (copies, balance, scale, quality, shift, label noise), and
``python -m overfitlint.data`` to run them alone.

``load_data`` reads; ``measure`` measures. Neither imports a deep-learning framework, and
nothing in a data file is ever executed.
"""

from overfitlint.data.budget import DataBudget
from overfitlint.data.facts import DataFacts
from overfitlint.data.load import load_data
from overfitlint.data.measure import measure

__all__ = ["DataBudget", "DataFacts", "load_data", "measure"]
