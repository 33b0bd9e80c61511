"""The backend subprocess: ``python -m overfitlint.probe.worker`` with the request on stdin.

One process runs one backend and imports one framework: torch (with onnx2torch and
torchvision) and TensorFlow are never loaded together (importing torchvision after
TensorFlow crashes the process). The events go to a private copy of stdout; the
process's own stdout is pointed at stderr so that nothing a model prints can
corrupt them.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from overfitlint.errors import InputError
from overfitlint.probe.protocol import Emitter


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    emit = Emitter(channel)
    try:
        request = json.load(sys.stdin)
        backend = request["backend"]
        if backend == "torch":
            from overfitlint.probe import torch_probes as impl
        elif backend == "keras":
            from overfitlint.probe import keras_backend as impl
        elif backend == "onnxruntime":
            from overfitlint.probe import ort_backend as impl
        else:
            raise InputError(f"unknown probe backend {backend!r}")
        impl.run(request, emit)
    except InputError as exc:
        kind = "device" if str(exc).startswith("--device") else "input"
        emit.error(kind, str(exc))
    except Exception as exc:  # reported to the parent, which says the probe failed
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{os.path.basename(last.filename)}:{last.lineno}"
        emit.error("internal", f"{type(exc).__name__}: {exc} (at {where})")
    emit.done()
    channel.close()
    sys.stderr.flush()
    # Skip the interpreter's teardown (framework thread pools can take seconds to unwind):
    # everything the parent needs has been written and flushed.
    os._exit(0)


if __name__ == "__main__":
    main()
