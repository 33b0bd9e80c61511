"""Hostile bytes that need no deep-learning framework in this process: hand-made pickles,
planted Python modules, zip and HDF5 surgery, Keras configs, ONNX graphs with chosen names.

Files Keras itself must write (a real ``.keras``/``.h5`` to start from) are made once per
session in a subprocess (``keras_artifacts``), so this process never imports TensorFlow.
"""

from __future__ import annotations

import base64
import itertools
import json
import marshal
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.harness import Scratch

WEIGHTS_BYTES = 160 * 64 * 4
"""outside/weights.bin: the external data of a 128 x 64 float32 weight."""

# ---------------------------------------------------------------------------- the secrets


def secret_text(token: str) -> str:
    """YAML, and a CSV header, whose key holds the token: whatever parses it shows the token."""
    return f"ofl_secret_{token}: {token}\n"


def plant_secrets(scratch: Scratch) -> None:
    """Files beside the repository and in $HOME that nothing may read, each holding the token
    in a shape its kind of loader would show: a log's column, a model's layer, a YAML key."""
    token = scratch.token
    for folder in (scratch.repo, scratch.outside, scratch.markers, scratch.home / ".ssh"):
        folder.mkdir(parents=True, exist_ok=True)
    (scratch.outside / "secret.txt").write_text(secret_text(token))
    rows = [f"epoch,loss,val_loss,secret_{token}"]
    rows += [f"{e},{1 / (e + 1):.4f},{0.5 + abs(e - 10) / 40:.4f},{token}" for e in range(30)]
    (scratch.outside / "metrics.csv").write_text("\n".join(rows) + "\n")
    history = [{"epoch": e + 1, "step": 10 * (e + 1), "loss": 1 / (e + 1)} for e in range(10)]
    history += [{"epoch": e + 1, f"eval_secret_{token}": 0.5, "eval_loss": 0.6} for e in range(10)]
    state = {
        "log_history": history,
        "max_steps": 100,
        "num_train_epochs": 10,
        "train_batch_size": 8,
    }
    (scratch.outside / "trainer_state.json").write_text(json.dumps(state))
    baseline = {
        "schema_version": 1,
        "findings": [{"code": "OFL301", "name": f"secret_{token}", "file": "logs.csv"}],
    }
    (scratch.outside / "baseline.json").write_text(json.dumps(baseline))
    named_onnx(scratch.outside / "model.onnx", f"secret_{token}")
    rng = np.random.default_rng(0)
    np.savez(
        scratch.outside / "data.npz",
        x_train=rng.standard_normal((16, 64)).astype(np.float32),
        y_train=np.zeros(16, np.int64),
        x_val=rng.standard_normal((16, 64)).astype(np.float32),
        y_val=np.zeros(16, np.int64),
    )
    secret_h5(scratch.outside / "secret.h5", token)
    text = secret_text(token).encode()
    (scratch.outside / "weights.bin").write_bytes(
        (text * (WEIGHTS_BYTES // len(text) + 1))[:WEIGHTS_BYTES]
    )
    key = f"-----BEGIN OPENSSH PRIVATE KEY-----\nofl{token}\n-----END OPENSSH PRIVATE KEY-----\n"
    (scratch.home / ".ssh" / "id_rsa").write_text(key)
    (scratch.home / ".bashrc").write_text(f"export OFL_SECRET={token}\n")


def secret_h5(path: Path, token: str) -> None:
    """An HDF5 file whose groups look like Keras weights named after the token."""
    import h5py

    with h5py.File(path, "w") as h5:
        legacy = h5.create_group("dense")  # a legacy .h5 layer group
        legacy.attrs["weight_names"] = [f"secret_{token}/kernel:0".encode()]
        legacy.create_dataset(f"secret_{token}/kernel:0", data=np.ones((64, 160), np.float32))
        variables = h5.create_group("vars")  # a Keras 3 layer's variables
        variables.attrs["name"] = f"secret_{token}"
        variables.create_dataset("0", data=np.ones((64, 160), np.float32))
        h5.create_dataset("data", data=np.ones((64, 160), np.float32))


# ---------------------------------------------------------------------------- pickles


def _text(value: str) -> bytes:
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def frame_summary_pickle(filename: str) -> bytes:
    """``{"frame": traceback.FrameSummary(filename, 1, "x")}``, opcode by opcode. torch's
    weights-only unpickler allows FrameSummary, whose constructor reads ``filename``."""
    return (
        b"\x80\x02}"  # PROTO 2, EMPTY_DICT
        + _text("frame")
        + b"ctraceback\nFrameSummary\n("  # GLOBAL, MARK
        + _text(filename)
        + b"K\x01"  # BININT1 1
        + _text("x")
        + b"tR"  # TUPLE, REDUCE
        + b"s."  # SETITEM, STOP
    )


# ---------------------------------------------------------------------------- planted modules


def shadow_module(scratch: Scratch, name: str, *, package: bool = False) -> str:
    """Source of a module (or a package's ``__init__.py``) named like a real one: json, numpy,
    multiprocessing, overfitlint itself. Imported from the working folder, it leaves a marker,
    then hands over to the real module, so the run goes on and every process that imports it
    leaves its own line in the marker."""
    here = (
        "os.path.dirname(os.path.dirname(os.path.abspath(__file__)))"
        if package
        else ("os.path.dirname(os.path.abspath(__file__))")
    )
    return f'''"""Planted by the hostile-input corpus."""
import importlib
import os
import sys

{scratch.marker_code("shadow-" + name)}
_here = {here}
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
del sys.modules[__name__]
try:
    sys.modules[__name__] = importlib.import_module(__name__)
finally:
    sys.path[:] = _saved
'''


# ---------------------------------------------------------------------------- zips


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(path: Path, members: dict[str, bytes], deflated: tuple[str, ...] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            method = zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED
            archive.writestr(name, data, compress_type=method)
    return path


@dataclass(frozen=True)
class Member:
    """A zip member given as the bytes stored: raw deflate (method 8) or stored (method 0)."""

    name: str
    stored: bytes
    crc: int
    size: int
    method: int = 0

    @classmethod
    def plain(cls, name: str, data: bytes) -> Member:
        return cls(name, data, zlib.crc32(data), len(data))


def zip_bomb_member(name: str, prefix: bytes, size: int) -> Member:
    """``prefix`` then zeros up to ``size`` bytes, deflated (about 1,000:1). Made in a second
    or two whatever the size: after a full flush the compressor starts afresh, so every 16 MiB
    block of zeros compresses to the same bytes, computed once."""
    chunk = 1 << 24
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(chunk)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(size - len(prefix), chunk)
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    return Member(name, head + block * count + tail, crc, size, method=8)


def write_members(path: Path, members: list[Member]) -> Path:
    """A zip archive (no zip64: every member under 4 GiB) from members as stored."""
    path.parent.mkdir(parents=True, exist_ok=True)
    local, central = bytearray(), bytearray()
    for member in members:
        name = member.name.encode()
        fields = struct.pack(
            "<HHHHHIIIHH", 20, 0, member.method, 0, 0x21, member.crc, len(member.stored),
            member.size, len(name), 0,
        )  # fmt: skip
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHII", 0, 0, 0, 0, len(local)) + name
        local += b"PK\x03\x04" + fields + name + member.stored
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(local), 0)  # fmt: skip
    path.write_bytes(bytes(local + central + end))
    return path


# ---------------------------------------------------------------------------- Keras

KERAS_SCRIPT = """
import os, sys, warnings
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
warnings.simplefilter("ignore")
import keras
from keras import layers

out = sys.argv[1]

def host(extra=()):
    return keras.Sequential(
        [keras.Input((64,)), layers.Dense(160, activation="relu"), *extra, layers.Dense(10)],
        name="host",
    )

host().save(os.path.join(out, "plain.keras"))
host().save(os.path.join(out, "plain.h5"))
lambda_host = host([layers.Lambda(lambda t: t, name="lam")])
lambda_host.save(os.path.join(out, "lambda.keras"))
lambda_host.save(os.path.join(out, "lambda.h5"))
x = keras.Input((64,), name="x")
h = layers.Lambda(lambda t: t, name="lam")(layers.Dense(160, activation="relu", name="dense")(x))
keras.Model(x, layers.Dense(10, name="head")(h), name="host").save(
    os.path.join(out, "functional.keras")
)
"""


def keras_artifacts(folder: Path) -> Path:
    """Real Keras files to start from, written by Keras in a subprocess (once per session):
    plain.keras/.h5 (Dense 64-160-10, no dropout: 12k parameters), lambda.keras/.h5 (with a
    Lambda layer), functional.keras (a functional model with a Lambda layer)."""
    if (folder / "functional.keras").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(folder), "KERAS_BACKEND": "tensorflow"}
    subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT, str(folder)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return folder


def lambda_function(code: str) -> dict[str, Any]:
    """A Keras ``__lambda__`` function config: marshalled bytecode that runs ``code`` and then
    returns its input (as Keras' own ``func_dump`` writes it)."""
    namespace: dict[str, Any] = {}
    exec(compile(f"def payload(x):\n    {code}\n    return x\n", "<payload>", "exec"), namespace)
    raw = base64.b64encode(marshal.dumps(namespace["payload"].__code__)).decode("ascii")
    return {"class_name": "__lambda__", "config": {"code": raw, "defaults": None, "closure": None}}


def keras_function(module: str, name: str) -> dict[str, Any]:
    """A config entry naming a Python function by module, as Keras serializes functions."""
    return {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def edit_keras(source: Path, target: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Copy a .keras archive with its config.json changed by ``edit`` (in place)."""
    members = read_zip(source)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return write_zip(target, members)


def keras_layer(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == name)


def edit_h5_config(source: Path, target: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Copy a legacy Keras .h5 with its model_config attribute changed by ``edit``."""
    import shutil

    import h5py

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as h5:
        config = json.loads(h5.attrs["model_config"])
        edit(config)
        h5.attrs["model_config"] = json.dumps(config)
    return target


# ---------------------------------------------------------------------------- ONNX


def named_onnx(path: Path, name: str, *, sizes: tuple[int, ...] = (64, 160, 10)) -> Path:
    """An MLP without dropout whose graph, nodes, initializers, producer and doc strings all
    carry ``name``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, initializers, current = [], [], "x"
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        weight = numpy_helper.from_array(
            rng.standard_normal((fan_out, fan_in)).astype(np.float32), f"{name}.fc{i}.weight"
        )
        bias = numpy_helper.from_array(np.zeros(fan_out, np.float32), f"{name}.fc{i}.bias")
        initializers += [weight, bias]
        output = "y" if i == len(sizes) - 2 else f"h{i}"
        nodes.append(
            helper.make_node(
                "Gemm", [current, weight.name, bias.name], [output], name=f"{name}{i}", transB=1
            )
        )
        current = output
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", sizes[-1]])],
        initializers,
        doc_string=name,
    )
    model = helper.make_model(
        graph,
        producer_name=name,
        producer_version=name,
        doc_string=name,
        opset_imports=[helper.make_opsetid("", 17)],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def external_data_onnx(path: Path, location: str) -> Path:
    """A one-layer ONNX model (64 -> 160) whose weight keeps its bytes in ``location``."""
    import onnx
    from onnx import TensorProto, helper

    weight = TensorProto(name="fc.weight", data_type=TensorProto.FLOAT, dims=[160, 64])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(WEIGHTS_BYTES))):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    node = helper.make_node("Gemm", ["x", "fc.weight"], ["y"], name="fc", transB=1)
    graph = helper.make_graph(
        [node],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 160])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


# ---------------------------------------------------------------------------- TensorBoard


def event_records(step: int, tags: int) -> bytes:
    """Two TFRecord-framed TensorBoard events at huge steps, each with ``tags`` scalars."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    out = b""
    for offset in (0, 7 * 10**14):
        values = [summary_pb2.Summary.Value(tag="loss", simple_value=0.5)]
        values += [
            summary_pb2.Summary.Value(tag=f"metric_{t}", simple_value=t) for t in range(tags)
        ]
        summary = summary_pb2.Summary(value=values)
        payload = event_pb2.Event(step=step + offset, wall_time=1.0, summary=summary)
        out += _tfrecord(payload.SerializeToString())
    return out


def _tfrecord(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return length + _masked_crc(length) + payload + _masked_crc(payload)


def _masked_crc(data: bytes) -> bytes:
    """TFRecord's masked CRC-32C."""
    import google_crc32c

    value = google_crc32c.value(data)
    return struct.pack("<I", (((value >> 15) | (value << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


# ---------------------------------------------------------------------------- protobuf


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(data: bytes) -> list[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of a protobuf message (varint and length fields)."""
    fields, position = [], 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _read_varint(data, position)
        elif wire == 2:
            size, position = _read_varint(data, position)
            value, position = data[position : position + size], position + size
        else:
            raise ValueError(f"wire type {wire} is not used by keras_metadata.pb")
        fields.append((number, wire, value))
    return fields


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _encode(fields: list[tuple[int, int, bytes | int]]) -> bytes:
    out = bytearray()
    for number, wire, value in fields:
        out += _varint(number << 3 | wire)
        if wire == 0:
            out += _varint(int(value))
        else:
            assert isinstance(value, bytes)
            out += _varint(len(value)) + value
    return bytes(out)


def edit_keras_metadata(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the root object's metadata JSON in a tf.keras ``keras_metadata.pb``
    (SavedMetadata: repeated SavedObject nodes = 1; node_path = 3, metadata = 5)."""
    top = _fields(path.read_bytes())
    for index, (number, wire, value) in enumerate(top):
        if number != 1 or wire != 2:
            continue
        assert isinstance(value, bytes)
        node = _fields(value)
        if not any(n == 3 and v == b"root" for n, _, v in node):
            continue
        for position, (field, kind, content) in enumerate(node):
            if field == 5:
                assert isinstance(content, bytes)
                metadata = json.loads(content)
                edit(metadata)
                node[position] = (field, kind, json.dumps(metadata).encode())
        top[index] = (number, wire, _encode(node))
    path.write_bytes(_encode(top))
