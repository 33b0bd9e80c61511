"""How a layer weight becomes the matrices whose spectra are taken (WeightWatcher's rules).

- Dense and embedding weights are one matrix. WeightWatcher transposes nothing that matters:
  the nonzero singular values of W and W^T are the same, so the Gram matrix of the smaller side
  is taken.
- A 2-D convolution of kernel kh x kw is kh * kw matrices, one per kernel position, each
  (out, in) (PyTorch/ONNX ``W[:, :, i, j]``, Keras ``W[i, j]``); their eigenvalues are pooled into
  one spectrum (WeightWatcher's default ``pool=True``) and scaled by 1/2: WeightWatcher's
  ``conv2d_norm`` multiplies each slice by sqrt(1/2).
- A 1-D convolution is k matrices the same way (overfitlint only: WeightWatcher passes a
  PyTorch Conv1d weight to its SVD as one 3-D array, and skips it whenever k < 8).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from overfitlint.spectra.tensors.record import CONV1D, CONV2D, WeightTensor

CONV_EVAL_SCALE = 0.5  # (sqrt(1/2))^2: WeightWatcher's conv2d_norm on the eigenvalues
BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class LayerShape:
    slices: int
    """rf: kernel positions of a convolution, 1 for a dense matrix."""
    rows: int
    cols: int

    @property
    def n(self) -> int:
        return max(self.rows, self.cols)

    @property
    def m(self) -> int:
        return min(self.rows, self.cols)

    @property
    def wide(self) -> bool:
        """Fewer rows than columns: the Gram matrix is S S^T, summed over column blocks."""
        return self.rows < self.cols

    @property
    def num_evals(self) -> int:
        return self.slices * self.m


def layer_shape(weight: WeightTensor) -> LayerShape:
    shape = weight.shape
    if weight.kind in (CONV1D, CONV2D):
        spatial = shape[:-2] if weight.kernel_first else shape[2:]
        rows, cols = (shape[-2], shape[-1]) if weight.kernel_first else (shape[0], shape[1])
        return LayerShape(int(np.prod(spatial)), int(rows), int(cols))
    return LayerShape(1, int(shape[0]), int(shape[1]))


def eval_scale(weight: WeightTensor) -> float:
    return CONV_EVAL_SCALE if weight.kind in (CONV1D, CONV2D) else 1.0


def widen(block: np.ndarray, bfloat16: bool) -> np.ndarray:
    """Stored values as float32 (bfloat16 bit patterns and float16) or float64, in memory."""
    if bfloat16:
        return (np.asarray(block, dtype=np.uint32) << 16).view(np.float32)
    if block.dtype == np.float16:
        return np.asarray(block, dtype=np.float32)
    return np.array(block, copy=True) if isinstance(block, np.memmap) else np.asarray(block)


def stacked(weight: WeightTensor) -> np.ndarray:
    """The whole weight as (slices, rows, cols), widened (for convolutions: they are small)."""
    shape = layer_shape(weight)
    values = widen(weight.array, weight.bfloat16)
    if weight.kind in (CONV1D, CONV2D):
        if weight.kernel_first:
            return values.reshape(shape.slices, shape.rows, shape.cols)
        moved = np.moveaxis(values.reshape(shape.rows, shape.cols, shape.slices), -1, 0)
        return np.ascontiguousarray(moved)
    return values.reshape(1, shape.rows, shape.cols)


def blocks(weight: WeightTensor) -> Iterator[np.ndarray]:
    """The weight in pieces whose Gram matrices sum to the layer's: (slices, r, c) blocks of
    rows (or of columns, for a wide matrix), each widened only when it is read."""
    shape = layer_shape(weight)
    if shape.slices > 1 or shape.rows * shape.cols <= BLOCK_ELEMENTS:
        yield stacked(weight)
        return
    array = weight.array
    if shape.wide:
        step = max(1, BLOCK_ELEMENTS // shape.rows)
        for start in range(0, shape.cols, step):
            yield widen(array[:, start : start + step], weight.bfloat16)[None]
    else:
        step = max(1, BLOCK_ELEMENTS // shape.cols)
        for start in range(0, shape.rows, step):
            yield widen(array[start : start + step], weight.bfloat16)[None]


def outsized(
    weight: WeightTensor, center: np.ndarray, limits: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per slice: how many elements lie farther than sqrt(limit) from ``center``, their sum
    and their sum of squares."""
    shape = layer_shape(weight)
    count, total, squares = np.zeros(shape.slices), np.zeros(shape.slices), np.zeros(shape.slices)
    for block in blocks(weight):
        values = block.astype(np.float64, copy=False)
        far = np.square(values - center[:, None, None]) > limits[:, None, None]
        picked = np.where(far, values, 0.0)
        count += far.sum(axis=(1, 2))
        total += picked.sum(axis=(1, 2))
        squares += np.square(picked).sum(axis=(1, 2))
    return count, total, squares


def moments(weight: WeightTensor) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares of each slice's elements (float64, block by block)."""
    shape = layer_shape(weight)
    total = np.zeros(shape.slices)
    squares = np.zeros(shape.slices)
    for block in blocks(weight):
        wide = block.astype(np.float64, copy=False)
        total += wide.sum(axis=(1, 2))
        squares += np.square(wide).sum(axis=(1, 2))
    return total, squares
