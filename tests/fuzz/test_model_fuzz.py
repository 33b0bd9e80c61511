"""Mutated, truncated and type-confused model files through the CLI: a normal result, or
exit 2 with one line — never a traceback, an internal error or a hang.

Seeds are real files the frameworks write (ONNX, .keras, Keras .h5, torch.save checkpoint,
TorchScript, torch.export, safetensors); hypothesis mutates them (flipped bytes, cuts,
dropped or garbled zip members, JSON with the wrong types or absurd shapes, ONNX tensors
with absurd dims, non-model pickles) and saves them under a random, often wrong, name.
Each file runs through ``overfitlint.cli.main`` in this process (a fresh process per file
would cost seconds of imports) with a per-file alarm; ~300 files in well under a minute.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import zipfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.builders import onnx_models  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.loaders.conftest import run_inprocess  # noqa: E402

torch = pytest.importorskip("torch")
from tests.builders import torch_models  # noqa: E402

# per seed format: 7 formats, 420 files in all. OVERFITLINT_FUZZ_EXAMPLES=N explores more,
# with a fresh random seed each run (CI runs the same derandomized examples every time).
EXAMPLES = int(os.environ.get("OVERFITLINT_FUZZ_EXAMPLES", "60"))
EXPLORE = "OVERFITLINT_FUZZ_EXAMPLES" in os.environ
SUFFIXES = ["", ".onnx", ".pt", ".pth", ".pt2", ".keras", ".h5", ".safetensors", ".bin"]
PER_FILE_SECONDS = 20


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no handler in the CLI swallows it."""


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeds")
    module, example = torch_models.build("convnet-batchnorm")
    optimizer = torch.optim.AdamW(module.parameters(), weight_decay=0.01)
    found = {
        "onnx": onnx_models.mlp(folder / "m.onnx", [6, 12, 3], dropout=[0.3]),
        "checkpoint": torch_models.save_checkpoint(module, folder / "c.pt", optimizer, epoch=2),
        "torchscript": torch_models.save_torchscript(module, folder / "s.pt"),
        "torch-export": torch_models.save_export(module, example, folder / "p.pt2"),
        "safetensors": torch_models.save_safetensors(module, folder / "m.safetensors"),
        "keras-h5": ROOT / "tests/fixtures/keras2/model.h5",
    }
    try:
        from tests.builders import keras_models

        found["keras"] = keras_models.save_keras(keras_models.build("mlp"), folder / "k.keras")
    except ImportError:
        pass
    return Seeds({name: path.read_bytes() for name, path in found.items()})


class Seeds(dict):
    def __repr__(self) -> str:  # hypothesis prints its arguments on failure
        return f"Seeds({sorted(self)})"


# ------------------------------------------------------------------ mutations


def flip(data: bytes, draw) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(out) - 1))
        out[position] ^= draw(st.integers(1, 255))
    return bytes(out)


def cut(data: bytes, draw) -> bytes:
    return data[: draw(st.integers(0, max(len(data) - 1, 0)))]


CONFUSED = [None, [], {}, "x", -1, 10**20, 1e308, True, [[-5, 3]], {"a": [1, None]}]


def confuse_json(value, draw, depth=0):
    """Replace one value somewhere in a JSON document by a value of another type."""
    if isinstance(value, dict) and value and depth < 12:
        key = draw(st.sampled_from(sorted(value)))
        if draw(st.booleans()):
            return {**value, key: draw(st.sampled_from(CONFUSED))}
        return {**value, key: confuse_json(value[key], draw, depth + 1)}
    if isinstance(value, list) and value and depth < 12:
        index = draw(st.integers(0, len(value) - 1))
        copy = list(value)
        copy[index] = confuse_json(value[index], draw, depth + 1)
        return copy
    return draw(st.sampled_from(CONFUSED))


def zip_mutation(data: bytes, draw) -> bytes:
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        members = {info.filename: source.read(info) for info in source.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return flip(data, draw)
    names = sorted(members)
    target = draw(st.sampled_from(names))
    action = draw(st.sampled_from(["drop", "garble", "confuse", "empty", "escape"]))
    if action == "drop":
        members.pop(target)
    elif action == "garble":
        members[target] = flip(members[target], draw) if members[target] else b"\xff"
    elif action == "empty":
        members[target] = b""
    elif action == "escape":
        members["../" + target.rsplit("/", 1)[-1]] = b"x"
    else:
        jsons = [n for n in names if n.endswith(".json")] or names
        target = draw(st.sampled_from(jsons))
        try:
            document = json.loads(members[target])
            members[target] = json.dumps(confuse_json(document, draw)).encode()
        except (UnicodeDecodeError, json.JSONDecodeError):
            members[target] = flip(members[target], draw)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def onnx_mutation(data: bytes, draw) -> bytes:
    import onnx

    model = onnx.load_model_from_string(data)
    tensors = list(model.graph.initializer)
    tensor = draw(st.sampled_from(tensors))
    choice = draw(st.sampled_from(["dims", "dtype", "absurd", "drop-graph", "external"]))
    if choice == "dims":
        tensor.dims.append(draw(st.integers(-3, 1000)))
    elif choice == "dtype":
        tensor.data_type = draw(st.integers(0, 40))
    elif choice == "absurd":
        del tensor.dims[:]
        tensor.dims.extend([2**40, 2**40, 7])
    elif choice == "drop-graph":
        model.ClearField("graph")
    else:
        tensor.data_location = 1
        tensor.external_data.add(
            key="location", value=draw(st.sampled_from(["../x", "/etc/passwd", "w.bin", ""]))
        )
    return model.SerializeToString()


def safetensors_mutation(data: bytes, draw) -> bytes:
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    text = json.dumps(confuse_json(header, draw)).encode()
    return len(text).to_bytes(8, "little") + text + data[8 + size :]


NON_MODELS = [[1, 2, 3], {"epoch": 1}, "text", {"state_dict": "nope"}, {"model": {"w": 1.0}}]


def pickle_mutation(data: bytes, draw) -> bytes:
    value = draw(st.sampled_from(NON_MODELS))
    if draw(st.booleans()):
        out = io.BytesIO()
        torch.save(value, out)
        return out.getvalue()
    return pickle.dumps(value, protocol=draw(st.integers(2, 5)))


def mutate(kind: str, data: bytes, draw) -> bytes:
    generic = ["flip", "cut"]
    special = {
        "onnx": ["onnx"],
        "keras": ["zip"],
        "checkpoint": ["zip", "pickle"],
        "torchscript": ["zip"],
        "torch-export": ["zip"],
        "safetensors": ["safetensors"],
        "keras-h5": [],
    }[kind]
    how = draw(st.sampled_from(generic + special * 2))
    return {
        "flip": flip,
        "cut": cut,
        "zip": zip_mutation,
        "onnx": onnx_mutation,
        "safetensors": safetensors_mutation,
        "pickle": pickle_mutation,
    }[how](data, draw)


# ------------------------------------------------------------------ the property


def _on_alarm(signum, frame):
    raise Hang()


def check_file(path: Path) -> None:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(PER_FILE_SECONDS)
    try:
        result = run_inprocess(
            "check", path, "--no-report", "--no-probe", "--format", "json", cwd=path.parent
        )
    except Hang:
        pytest.fail(f"{path.name}: no result within {PER_FILE_SECONDS} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if result.code in (0, 1):
        json.loads(result.stdout)  # a normal, complete report
        return
    assert result.code == 2, (result.code, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    if not lines[0].startswith("overfitlint: error: ") or "internal error" in lines[0]:
        pytest.fail(f"{path.name}: {lines[0]}")
    assert "Traceback" not in result.stderr


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.mark.parametrize(
    "kind",
    ["onnx", "keras", "keras-h5", "checkpoint", "torchscript", "torch-export", "safetensors"],
)
@FUZZ
@given(data=st.data())
def test_mutated_models_never_crash_the_cli(seeds, tmp_path, kind, data):
    if kind not in seeds:
        pytest.skip(f"{kind}: its framework is not installed")
    mutated = mutate(kind, seeds[kind], data.draw)
    suffix = data.draw(st.sampled_from(SUFFIXES))
    path = tmp_path / f"fuzzed{suffix}"
    path.write_bytes(mutated)
    check_file(path)
