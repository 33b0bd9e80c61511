"""CSV logs: Keras CSVLogger layouts, separators, line numbers, missing and bad cells."""

from __future__ import annotations

import numpy as np
import pytest

from overfitlint.errors import InputError
from overfitlint.loaders.logs.csv_log import load_csv_log
from tests.builders.logs import keras_csv


def _load(path, **kwargs):
    return load_csv_log(path, path.read_bytes(), **kwargs)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_keras_csvlogger_any_separator_and_line_ending(tmp_path, sep, newline):
    path = keras_csv(
        tmp_path / "log.csv",
        [1.0, 0.8, 0.6],
        [1.1, 0.9, 0.95],
        extra={"accuracy": [0.5, 0.6, 0.7], "val_accuracy": [0.4, 0.5, 0.5]},
        sep=sep,
        newline=newline,
    )
    curves = _load(path)
    assert (curves.loss.train, curves.loss.val) == ("loss", "val_loss")
    assert (curves.accuracy.train, curves.accuracy.val) == ("accuracy", "val_accuracy")
    assert curves.val_loss.values.tolist() == [1.1, 0.9, 0.95]
    assert curves.val_loss.lines.tolist() == [2, 3, 4]
    assert curves.format == "keras-csvlogger"


def test_column_order_and_case_do_not_matter(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("VAL_LOSS,lr,Epoch,LOSS\n0.9,0.1,0,1.0\n0.8,0.1,1,0.7\n")
    curves = _load(path)
    assert (curves.loss.train, curves.loss.val) == ("LOSS", "VAL_LOSS")
    assert curves.val_loss.epochs.tolist() == [0, 1]


def test_blank_lines_keep_true_line_numbers(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("\nepoch,loss,val_loss\n0,1.0,1.0\n\n1,0.9,0.95\n")
    curves = _load(path)
    assert curves.val_loss.lines.tolist() == [3, 5]


def test_empty_validation_cells_are_missing_points(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,\n1,0.9,0.95\n2,0.8,NA\n")
    curves = _load(path)
    assert curves.val_loss.epochs.tolist() == [1]
    assert curves.train_loss.epochs.tolist() == [0, 1, 2]


def test_nan_and_inf_are_kept_as_values(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss,val_loss\n0,nan,inf\n1,0.9,0.95\n")
    curves = _load(path)
    assert np.isnan(curves.train_loss.values[0]) and np.isinf(curves.val_loss.values[0])


def test_no_epoch_column_uses_row_order(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("loss,val_loss\n1.0,1.1\n0.9,1.0\n")
    curves = _load(path)
    assert curves.val_loss.epochs.tolist() == [0, 1]
    assert any("no epoch column" in note for note in curves.notes)


def test_text_columns_are_not_metrics(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,run,loss,val_loss\n0,a,1.0,1.1\n1,a,0.9,1.0\n")
    assert "run" not in _load(path).series


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("epoch,loss,loss\n0,1,1\n", "twice"),
        ("epoch,loss,val_loss\n0,1,1\n,1,1\n", "epoch column"),
        ('epoch,loss,val_loss\n0,1.0,"unterminated\n', "no rows|not a number|malformed"),
    ],
)
def test_bad_logs_raise_one_clear_error(tmp_path, text, message):
    path = tmp_path / "log.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        _load(path)


def test_binary_and_non_utf8_are_refused(tmp_path):
    binary = tmp_path / "a.csv"
    binary.write_bytes(b"epoch,loss\x00\x01")
    with pytest.raises(InputError, match="binary"):
        _load(binary)
    latin = tmp_path / "b.csv"
    latin.write_bytes("epoch,loss,val_loss\n0,1,1 \xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        _load(latin)


def test_bom_is_ignored(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes("\ufeffepoch,loss,val_loss\n0,1,1\n".encode())
    assert _load(path).loss.val == "val_loss"
