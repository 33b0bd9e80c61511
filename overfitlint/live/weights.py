"""Keeping the best epoch's weights while a run trains, and putting them back.

A keeper is told each time the monitored metric reaches a new best (``snapshot``) and, on a
stop or at the end, restores those weights (``restore``), saying how it did (the source of
the kept epoch in the report). Each framework has its own: a copy of a torch ``state_dict`` in
host memory (the plain loop, Lightning, Hugging Face), Keras ``get_weights``/``set_weights``,
or a best checkpoint the framework already wrote.
"""

from __future__ import annotations

from typing import Any, Protocol


class Keeper(Protocol):
    def snapshot(self) -> None:
        """The weights now are the best so far: keep them."""

    def restore(self) -> str | None:
        """Put the kept weights back; say how (None: nothing was kept)."""


class StateDictKeeper:
    """A torch module's best weights as a copy of its state dict in host memory (as Keras'
    EarlyStopping keeps ``get_weights()``), so a GPU holds no second copy."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self._best: dict[str, Any] | None = None

    def snapshot(self) -> None:
        self._best = {
            name: tensor.detach().to("cpu", copy=True)
            for name, tensor in self.module.state_dict().items()
        }

    def restore(self) -> str | None:
        if self._best is None:
            return None
        self.module.load_state_dict(self._best)
        return "restored by the callback"
