"""Which device the probe runs on, and how it runs there.

The choice is a pure function of what was asked (``--device``) and what the
machine has (:class:`DeviceCaps`), so the CUDA fast path (mixed precision,
pinned host memory, non-blocking copies) is decided, and tested, without a GPU.
Only :func:`detect_torch_caps` and :func:`detect_tf_caps` import a framework.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from overfitlint.errors import InputError

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"


@dataclass(frozen=True)
class DeviceCaps:
    """What the machine offers, as the backend sees it."""

    cuda_devices: int = 0
    cuda_bf16: bool = False
    """Whether the CUDA device supports bfloat16 (Ampere and later)."""
    cuda_names: tuple[str, ...] = ()
    mps: bool = False
    framework: str = "torch"


@dataclass(frozen=True)
class DevicePlan:
    """How the probe runs: the device and the fast path a practitioner would take there."""

    device: str
    """``cpu``, ``cuda:N`` or ``mps`` (torch spelling; the Keras backend maps it)."""
    amp_dtype: str | None
    """``bfloat16`` / ``float16`` for autocast, None for full precision."""
    grad_scaler: bool
    """float16 autocast needs loss scaling; bfloat16 does not."""
    pin_memory: bool
    non_blocking: bool
    reason: str
    name: str = ""

    @property
    def device_type(self) -> str:
        return self.device.split(":", 1)[0]

    @property
    def is_accelerator(self) -> bool:
        return self.device_type != "cpu"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_device(text: str) -> str:
    """Normalise ``--device``; a malformed value is a usage error."""
    value = (text or "auto").strip().lower()
    if not DEVICE_PATTERN.match(value):
        raise InputError(f"--device {text!r}: expected {DEVICE_HELP}")
    return value


def choose_device(requested: str, caps: DeviceCaps) -> DevicePlan:
    """auto: CUDA when present, else Apple MPS, else CPU. An explicit device must exist."""
    requested = parse_device(requested)
    if requested == "auto":
        if caps.cuda_devices:
            return _cuda(0, caps, "auto: CUDA is available")
        if caps.mps:
            return _mps("auto: no CUDA; Apple MPS is available")
        return _cpu("auto: no CUDA or MPS device")
    if requested == "cpu":
        return _cpu("--device cpu")
    if requested == "mps":
        if not caps.mps:
            raise InputError(
                f"--device mps: Apple MPS is not available to {caps.framework} on this machine; "
                "use --device auto or cpu"
            )
        return _mps("--device mps")
    index = int(requested.split(":", 1)[1]) if ":" in requested else 0
    if caps.cuda_devices == 0:
        raise InputError(
            f"--device {requested}: CUDA is not available to {caps.framework} on this machine; "
            "use --device auto or cpu"
        )
    if index >= caps.cuda_devices:
        raise InputError(
            f"--device {requested}: only {caps.cuda_devices} CUDA device(s) "
            f"(cuda:0..cuda:{caps.cuda_devices - 1})"
        )
    return _cuda(index, caps, f"--device {requested}")


def _cpu(reason: str) -> DevicePlan:
    return DevicePlan("cpu", None, False, False, False, reason, "cpu")


def _mps(reason: str) -> DevicePlan:
    # Autocast on MPS is young; full precision is the safe choice there.
    return DevicePlan("mps", None, False, False, False, reason, "Apple MPS")


def _cuda(index: int, caps: DeviceCaps, reason: str) -> DevicePlan:
    dtype = "bfloat16" if caps.cuda_bf16 else "float16"
    name = caps.cuda_names[index] if index < len(caps.cuda_names) else f"cuda:{index}"
    return DevicePlan(
        device=f"cuda:{index}",
        amp_dtype=dtype,
        grad_scaler=dtype == "float16",
        pin_memory=True,
        non_blocking=True,
        reason=reason,
        name=name,
    )


def detect_torch_caps() -> DeviceCaps:
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    names = tuple(torch.cuda.get_device_name(i) for i in range(count))
    bf16 = bool(count) and torch.cuda.is_bf16_supported()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return DeviceCaps(count, bf16, names, mps, "torch")


def detect_tf_caps() -> DeviceCaps:
    import platform

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if platform.system() == "Darwin":  # tensorflow-metal shows the Apple GPU as a GPU device
        return DeviceCaps(0, False, (), bool(gpus), "tensorflow")
    return DeviceCaps(len(gpus), bool(gpus), tuple(g.name for g in gpus), False, "tensorflow")
