"""Eigenvalues of a layer's Gram matrices, on numpy (multi-threaded BLAS) or torch (CPU, CUDA).

For an N x M slice (N >= M) the squared singular values are the eigenvalues of the M x M Gram
matrix W^T W: one symmetric rank-k update and one ``eigvalsh`` instead of a full SVD of W. A
convolution's slices (one per kernel position) go through as one stacked array. Everything is
float64: the Gram matrix squares the condition number, and float64 keeps the eigenvalues
WeightWatcher fits (those above 1e-5 of a spectrum whose top is ~1-100) to ~1e-10 relative.

The torch path (``device="cuda"``, or ``engine="torch"`` on the CPU, which is how the tests cover
it) does the same products and ``eigvalsh`` in float64 on the device. WeightWatcher on CUDA
instead casts the weights to float16 and raises its eigenvalue floor to 1e-4; overfitlint keeps
float64 on every device, so a GPU run agrees with a CPU run.

A large dense matrix is never widened whole: its Gram matrix is summed over blocks of rows (or
columns, for a wide matrix) read from the memory-mapped file, so memory stays at M x M plus one
block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np


class Backend(Protocol):
    name: str

    def gram(self, blocks: Iterator[np.ndarray], wide: bool) -> Any: ...

    def eigvalsh(self, gram: Any) -> np.ndarray: ...


class NumpyBackend:
    name = "numpy"

    def gram(self, blocks: Iterator[np.ndarray], wide: bool) -> np.ndarray:
        total: np.ndarray | None = None
        for block in blocks:
            # one slice as a 2-D product: numpy then calls the symmetric rank-k update (syrk)
            x = block.astype(np.float64, copy=False)
            x = x[0] if x.shape[0] == 1 else x
            part = x @ np.swapaxes(x, -1, -2) if wide else np.swapaxes(x, -1, -2) @ x
            total = part if total is None else total + part
        assert total is not None
        return total if total.ndim == 3 else total[None]

    def eigvalsh(self, gram: np.ndarray) -> np.ndarray:
        return np.linalg.eigvalsh(gram)


class TorchBackend:
    """The same operations in torch on ``device`` ("cpu" or "cuda"); results come back as numpy."""

    name = "torch"

    def __init__(self, device: str) -> None:
        import torch

        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA is not available to torch on this machine")
        self.torch = torch
        self.device = torch.device(device)

    def _tensor(self, block: np.ndarray) -> Any:
        host = self.torch.from_numpy(np.require(block, requirements=["C", "W"]))
        if self.device.type == "cuda":
            host = host.pin_memory()
        # copied as stored (float32 at most), widened to float64 on the device
        return host.to(self.device, non_blocking=True).to(self.torch.float64)

    def gram(self, blocks: Iterator[np.ndarray], wide: bool) -> Any:
        total = None
        with self.torch.no_grad():
            for block in blocks:
                x = self._tensor(block)
                part = x @ x.transpose(-1, -2) if wide else x.transpose(-1, -2) @ x
                total = part if total is None else total + part
        return total

    def eigvalsh(self, gram: Any) -> np.ndarray:
        with self.torch.no_grad():
            return self.torch.linalg.eigvalsh(gram).cpu().numpy()


def make_backend(device: str, engine: str | None = None) -> Backend:
    """numpy on the CPU unless ``engine="torch"``; CUDA always goes through torch."""
    if device == "cuda" or engine == "torch":
        return TorchBackend(device)
    if device != "cpu":
        raise ValueError(f"unknown device {device!r}: cpu or cuda")
    return NumpyBackend()
