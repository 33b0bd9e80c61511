"""What the backend subprocess tells the parent: one JSON object per line on its own pipe.

Events: ``start`` (backend, framework, device plan), ``begin`` (a probe starts, with its
share of the budget), ``progress``, ``result`` (one per probe: measured metrics, or the
reason it could not measure), ``error`` (the run cannot go on: bad input, bad device)
and ``done`` (with the heavy modules the process imported, for the one-framework rule).
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import IO, Any

HEAVY_MODULES = ("torch", "torchvision", "onnx2torch", "tensorflow", "keras", "onnxruntime")


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, numpy scalars become numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Emitter:
    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.last_progress = 0.0

    def send(self, event: str, **fields: Any) -> None:
        self.stream.write(json.dumps(_clean({"event": event, **fields})) + "\n")
        self.stream.flush()

    def start(self, **fields: Any) -> None:
        self.send("start", **fields)

    def begin(self, probe: str, budget_s: float) -> None:
        self.send("begin", probe=probe, budget_s=round(budget_s, 3))

    def progress(self, probe: str, fraction: float, text: str) -> None:
        now = time.monotonic()
        if now - self.last_progress < 0.1:
            return
        self.last_progress = now
        self.send("progress", probe=probe, fraction=fraction, text=text)

    def result(
        self,
        probe: str,
        *,
        metrics: dict[str, Any] | None = None,
        reason: str = "",
        seconds: float = 0.0,
        budget_s: float | None = None,
    ) -> None:
        self.send(
            "result",
            probe=probe,
            measured=metrics is not None,
            metrics=metrics or {},
            reason=reason,
            seconds=round(seconds, 3),
            budget_s=None if budget_s is None else round(budget_s, 3),
        )

    def unavailable_all(self, request: dict[str, Any], reason: str) -> None:
        for task in request["tasks"]:
            self.result(task["probe"], reason=reason)

    def error(self, kind: str, message: str) -> None:
        self.send("error", kind=kind, message=message)

    def done(self) -> None:
        self.send("done", modules=sorted(m for m in HEAVY_MODULES if m in sys.modules))


def parse(line: str) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) and "event" in event else None
