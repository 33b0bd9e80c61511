"""Big logs read column by column (pyarrow) give exactly what the row-by-row readers give.

The columnar reader takes only files it can read exactly; for the others it returns None and
the row readers read them. So the property checked here, on every malformed log of the CLI
fuzz test and on the messy layouts real tools write: whenever it returns a table, the curves
(values, missing points, file lines, notes, pairing) equal the row readers' to the last bit.
"""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from overfitlint.errors import InputError
from overfitlint.loaders.logs import columnar
from overfitlint.loaders.logs.csv_log import decode_text, read_csv_table
from overfitlint.loaders.logs.json_log import looks_like_json, read_json_table
from overfitlint.loaders.logs.table import to_curves
from tests.builders import logs as build
from tests.cli.test_log_fuzz import _mutations, _valid_logs

pytest.importorskip("pyarrow")

LIGHTNING_ROWS = (
    b"epoch,step,train_loss_step,val_loss,val_acc,train_loss_epoch\n"
    + b"".join(b"%d,%d,%.4f,,,\n" % (step // 10, step, 1 / (step + 1)) for step in range(40))
    + b"3,39,,0.8,0.5,0.2\n3,39,,,,0.19\n"
)
REGULAR = {
    "keras.csv": b"epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.0,0.4,1.1\n"
    b"1,0.6,0.8,0.5,1.0\n",
    "crlf-bom.csv": b"\xef\xbb\xbfepoch,loss,val_loss\r\n0,1.0,1.1\r\n1,0.8,0.9\r\n\r\n",
    "missing.csv": b"epoch,loss,val_loss\n0,1.0,\n1,0.9,NA\n2,0.8, null \n3,0.7,nan\n4,0.6,inf\n",
    "quoted-header.csv": b'"epoch","loss","val_loss"\n0,1.0,1.1\n1,0.8,0.9\n',
    "pandas.csv": b",loss,val_loss\n0,1.0,1.1\n1,0.8,0.9\n2,0.7,1.0\n",
    "text-column.csv": b"epoch,run,time,loss,val_loss\n0,a,00:05,1.0,1.1\n1,a,00:06,0.8,0.9\n",
    "semicolon.csv": b"epoch;loss;val_loss\n0;1.0;1.1\n1;0.8;0.9\n",
    "trailing-delimiter.csv": b"epoch,loss,val_loss,\n0,1.0,1.1,\n1,0.8,0.9,\n",
    "resumed.csv": b"epoch,loss,val_loss\n0,1.0,1.1\n1,0.8,0.9\n2,0.7,0.95\n"
    b"1,0.79,0.91\n2,0.6,0.92\n",
    "metrics.csv": LIGHTNING_ROWS,
    "flat.jsonl": b'{"epoch": 0, "loss": 1.0, "val_loss": null}\n'
    b'{"epoch": 1, "loss": 0.5, "val_loss": 0.7}\n',
    "nested.jsonl": b'{"epoch": 0, "train": {"loss": 1}, "val": {"loss": 2}}\n'
    b'{"epoch": 1, "train": {"loss": 0.5}, "val": {"loss": 1.5}}\n',
    "strings.jsonl": b'{"epoch": 0, "loss": "1.0", "val_loss": 2, "mode": "a"}\n'
    b'{"epoch": 1, "loss": "0.5", "val_loss": 1, "mode": "b"}\n',
}
IRREGULAR = {
    "blank-line.csv": b"epoch,loss,val_loss\n0,1.0,1.1\n\n1,0.8,0.9\n",
    "quoted-cells.csv": b'epoch,loss,val_loss\n0,"1.0",1.1\n1,0.8,0.9\n',
    "hexadecimal.csv": b"epoch,loss,val_loss\n0,0x10,1.1\n1,0.8,0.9\n",
    "decimal-comma.csv": b"epoch;loss;val_loss\n0;1,5;1,1\n1;0,8;0,9\n",
    "cr-only.csv": b"epoch,loss,val_loss\r0,1.0,1.1\r1,0.8,0.9\r",
    "mixed-text.csv": b"epoch,loss,val_loss\n0,1.0,1.1\n1,x,0.9\n",
    "late-key.jsonl": b'{"epoch": 0, "loss": 1.0}\n{"epoch": 1, "loss": 0.5, "val_loss": 0.7}\n',
    "blank-first.jsonl": b'\n{"epoch": 0, "loss": 1.0}\n{"epoch": 1, "loss": 0.5}\n',
}


def _rows(path, data: bytes):
    """What the row-by-row readers make of the file: its curves, or the error's message."""
    try:
        text = decode_text(data, path)
        if not text.strip():
            raise InputError(f"{path}: the log is empty")
        json_text = looks_like_json(text)
        table = read_json_table(path, text) if json_text else read_csv_table(path, text)
        return to_curves(table, None, None)
    except InputError as exc:
        return str(exc)


def _columns(path, data: bytes):
    """What the columnar reader makes of it: None (not taken), curves, or the error's message
    (a table whose curves are an error, as the row readers' are)."""
    table = columnar.read_columnar(path, len(data), min_bytes=0)
    if table is None:
        return None
    try:
        return to_curves(table, None, None)
    except InputError as exc:
        return str(exc)


def _assert_same(fast, slow) -> None:
    if isinstance(fast, str) or isinstance(slow, str):
        assert fast == slow
        return
    assert list(fast.series) == list(slow.series)
    for name, series in fast.series.items():
        other = slow.series[name]
        for part in ("epochs", "values", "lines"):
            assert np.array_equal(getattr(series, part), getattr(other, part), equal_nan=True), (
                name,
                part,
            )
    for part in ("format", "notes", "axis", "lr", "samples", "samples_basis", "meta"):
        assert getattr(fast, part) == getattr(slow, part), part
    assert (fast.loss, fast.accuracy) == (slow.loss, slow.accuracy)


def _cases(tmp_path) -> list[tuple[str, bytes]]:
    valid = _valid_logs(tmp_path / "valid")
    return (
        _mutations(valid, random.Random(20240501)) + list(REGULAR.items()) + list(IRREGULAR.items())
    )


def test_every_table_it_returns_is_the_row_readers_table(tmp_path):
    taken = 0
    for index, (name, data) in enumerate(_cases(tmp_path)):
        if name.endswith("tfevents"):
            continue
        folder = tmp_path / "cases" / str(index)
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(data)
        fast = _columns(path, data)
        if fast is None:
            continue
        taken += 1
        _assert_same(fast, _rows(path, data))  # never a table where the rows are an error
    assert taken >= 60


@pytest.mark.parametrize("name", sorted(REGULAR))
def test_regular_layouts_take_the_columnar_path(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(REGULAR[name])
    if name == "metrics.csv":
        (tmp_path / "hparams.yaml").write_text("batch_size: 8\n")
    fast = _columns(path, REGULAR[name])
    assert fast is not None
    _assert_same(fast, _rows(path, REGULAR[name]))


@pytest.mark.parametrize("name", sorted(IRREGULAR))
def test_irregular_files_are_left_to_the_row_readers(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(IRREGULAR[name])
    assert _columns(path, IRREGULAR[name]) is None


@pytest.mark.parametrize("block", [1, 2, 3, 7])
def test_block_edges_change_nothing(tmp_path, monkeypatch, block):
    body = b"".join(b"%d,%.5f,%.5f\r\n" % (i, 1 / (i + 1), 2 / (i + 1)) for i in range(30))
    files = {
        "crlf.csv": b"epoch,loss,val_loss\r\n" + body,
        "hex.csv": b"epoch,loss,val_loss\n" + body.replace(b"\r", b"") + b"30,0,0x5\n",
        "log.jsonl": b"".join(
            b'{"epoch": %d, "loss": %.4f, "val_loss": %.4f}\n' % (i, 1 / (i + 1), 2 / (i + 1))
            for i in range(30)
        ),
    }
    expected = {}
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        expected[name] = _columns(path, data)
    monkeypatch.setattr(columnar, "BLOCK_BYTES", block)
    for name, data in files.items():
        got = _columns(tmp_path / name, data)
        assert (got is None) == (expected[name] is None), name
        if got is not None:
            _assert_same(got, expected[name])
    assert expected["hex.csv"] is None and expected["crlf.csv"] is not None


def test_without_pyarrow_or_below_the_size_the_rows_are_read(tmp_path, monkeypatch):
    path = build.keras_csv(tmp_path / "log.csv", [1.0, 0.8, 0.7], [1.1, 0.9, 0.95])
    size = path.stat().st_size
    assert columnar.read_columnar(path, size) is None  # a small file: not worth pyarrow
    assert columnar.read_columnar(path, size, min_bytes=0) is not None
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert columnar.read_columnar(path, size, min_bytes=0) is None
