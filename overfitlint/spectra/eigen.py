"""Eigenvalues of a layer's Gram matrices, on numpy (multi-threaded BLAS) or torch (CPU, CUDA).

For an N x M slice (N >= M) the squared singular values are the eigenvalues of the M x M Gram
matrix W^T W: one symmetric rank-k update and one ``eigvalsh`` instead of a full SVD of W. A
convolution's slices (one per kernel position) go through as one stacked array. Everything is
float64: the Gram matrix squares the condition number, and float64 keeps the eigenvalues
WeightWatcher fits (those above 1e-5 of a spectrum whose top is ~1-100) to ~1e-10 relative.

A large dense matrix is never widened whole: its Gram matrix is summed over blocks of rows (or
columns, for a wide matrix) read from the memory-mapped file, so memory stays at M x M plus one
block.

The trap test (``below``) asks whether every eigenvalue of G lies below t, by a Cholesky
factorization of t*I - G, which is several times cheaper than the eigenvalues themselves. For a
large dense layer on numpy, ``top_ritz_values`` avoids the second Gram matrix altogether: a
block Krylov subspace of X^T X gives Ritz values that are lower bounds of the top eigenvalues
(Cauchy interlacing) and converge first for outliers, the only eigenvalues a trap count needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np


class Backend(Protocol):
    name: str

    def gram(self, blocks: Iterator[np.ndarray], wide: bool) -> Any: ...

    def eigvalsh(self, gram: Any) -> np.ndarray: ...

    def below(self, gram: Any, limits: np.ndarray) -> np.ndarray: ...


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

    def below(self, gram: np.ndarray, limits: np.ndarray) -> np.ndarray:
        shifted = limits[:, None, None] * np.eye(gram.shape[-1]) - gram
        try:
            np.linalg.cholesky(shifted)
            return np.ones(len(limits), dtype=bool)
        except np.linalg.LinAlgError:
            pass
        result = np.ones(len(limits), dtype=bool)
        for index, matrix in enumerate(shifted):
            try:
                np.linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                result[index] = False
        return result


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

    def below(self, gram: Any, limits: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
            t = torch.as_tensor(limits, dtype=gram.dtype, device=gram.device)
            _, info = torch.linalg.cholesky_ex(t[:, None, None] * eye - gram)
            return (info == 0).cpu().numpy()


def top_ritz_values(
    matrix: np.ndarray, wide: bool, rng: np.random.Generator, block: int = 16, depth: int = 4
) -> np.ndarray:
    """Ritz values of the Gram matrix of ``matrix`` (X^T X, or X X^T when ``wide``) on a block
    Krylov subspace (``block`` random vectors, ``depth`` products): each is at most the
    eigenvalue of the same rank (Cauchy interlacing), and the outliers converge first. Block
    products keep the work in a few matrix-matrix calls: many matrix-vector calls stall a
    multi-threaded BLAS on a busy machine."""

    def gram_times(vectors: np.ndarray) -> np.ndarray:
        v = vectors.astype(matrix.dtype)
        product = matrix @ (matrix.T @ v) if wide else matrix.T @ (matrix @ v)
        return product.astype(np.float64)

    size = matrix.shape[0] if wide else matrix.shape[1]
    width = min(block, size)
    bases = []
    current = gram_times(rng.standard_normal((size, width)))
    for _ in range(depth):
        basis, _ = np.linalg.qr(current)
        bases.append(basis)
        current = gram_times(basis)
    subspace, _ = np.linalg.qr(np.concatenate(bases, axis=1))
    projected = subspace.T @ gram_times(subspace)
    return np.linalg.eigvalsh((projected + projected.T) / 2)


def make_backend(device: str, engine: str | None = None) -> Backend:
    """numpy on the CPU unless ``engine="torch"``; CUDA always goes through torch."""
    if device == "cuda" or engine == "torch":
        return TorchBackend(device)
    if device != "cpu":
        raise ValueError(f"unknown device {device!r}: cpu or cuda")
    return NumpyBackend()
