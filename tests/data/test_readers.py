"""Readers: every format told apart by content, the names people use, budgets, bad input."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from overfitlint.data import DataBudget, load_data, measure
from overfitlint.errors import InputError
from tests.data import builders

NAME_VARIANTS = [
    ("x_train", "y_train", "x_val", "y_val"),
    ("X_train", "Y_train", "X_valid", "Y_valid"),
    ("train_x", "train_y", "test_x", "test_y"),
    ("xtrain", "ytrain", "xval", "yval"),
    ("train_images", "train_labels", "test_images", "test_labels"),
    ("X_tr", "y_tr", "X_dev", "y_dev"),
    ("x_training", "y_training", "x_validation", "y_validation"),
]


@pytest.mark.parametrize("names", NAME_VARIANTS, ids=lambda n: n[0])
def test_npz_name_variants(tmp_path, names):
    arrays = builders.clean("wine")
    facts = load_data([builders.save_npz(tmp_path / "d.npz", arrays, names)])
    assert facts.format == "npz" and facts.kind == "arrays"
    assert facts.rows("train") == len(arrays[1]) and facts.rows("val") == len(arrays[3])
    assert facts.classes == ["0", "1", "2"]
    if names[0] != "x_train":
        assert f"took {names[0]} as x_train" in facts.notes[0]


def test_npz_prefers_val_and_says_what_it_ignored(tmp_path):
    xt, yt, xv, yv = builders.clean("iris")
    path = tmp_path / "d.npz"
    np.savez(
        path,
        X_train=xt,
        y_train=yt,
        X_val=xv,
        y_val=yv,
        X_test=xv[:5],
        y_test=yv[:5],
        mean=xt.mean(0),
    )
    facts = load_data([path])
    assert facts.rows("val") == len(yv)
    assert "ignored X_test, mean, y_test" in facts.notes[0]


def test_npz_with_one_hot_labels_and_a_wrong_extension(tmp_path):
    xt, yt, xv, yv = builders.clean("iris")
    path = tmp_path / "data.csv"  # an npz whatever its name says
    with path.open("wb") as handle:
        np.savez(handle, x_train=xt, y_train=np.eye(3)[yt], x_val=xv, y_val=np.eye(3)[yv])
    facts = load_data([path])
    assert facts.format == "npz" and facts.classes == ["0", "1", "2"]
    assert any("one-hot" in note for note in facts.notes)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(
    ("column", "values", "given"),
    [
        ("split", ("train", "validation"), None),
        ("subset", ("TRAIN", "test"), None),
        ("fold", ("train", "val"), "fold"),
    ],
)
def test_one_table_with_a_split_column(tmp_path, suffix, column, values, given):
    arrays = builders.clean("breast_cancer")
    data = builders.split_table(arrays, column, values, label="diagnosis")
    path = builders.write_table(tmp_path / f"data{suffix}", data)
    facts = load_data([path], label="diagnosis", split_column=given)
    assert facts.format == suffix[1:] and facts.kind == "table"
    assert facts.rows("train") == len(arrays[1]) and facts.rows("val") == len(arrays[3])
    assert facts.features == [f"f{j}" for j in range(30)]
    np.testing.assert_array_equal(facts.arrays.val.x, arrays[2])
    assert facts.arrays.val.ids[0] == len(arrays[1])  # row numbers in the file


@pytest.mark.parametrize(
    "suffixes", [(".csv", ".csv"), (".parquet", ".parquet"), (".csv", ".parquet")]
)
def test_two_tables_train_and_val(tmp_path, suffixes):
    xt, yt, xv, yv = builders.clean("wine")
    names = np.array(["barolo", "grignolino", "barbera"])
    val = builders.write_table(
        tmp_path / f"wine_val{suffixes[1]}", builders.table(xv, names[yv], "cultivar")
    )
    train = builders.write_table(
        tmp_path / f"wine_train{suffixes[0]}", builders.table(xt, names[yt], "cultivar")
    )
    facts = load_data([val, train], label="cultivar")  # the names say which is which
    assert facts.splits["train"].source == str(train)
    assert facts.classes == ["barbera", "barolo", "grignolino"]
    assert facts.rows("train") == len(yt)
    assert any("by their names" in note for note in facts.notes)


def test_text_features_id_columns_and_missing_cells(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "id,city,age,label,split\n"
        "1,Oslo,31,yes,train\n2,Lima,,no,train\n3,Oslo,45,no,train\n4,Pune,23,yes,val\n"
        "5,Lima,52,no,val\n"
    )
    facts = measure(load_data([path]), noise=False)
    assert facts.features == ["city", "age"]
    assert any("row-number columns left out" in note for note in facts.notes)
    assert facts.arrays.categorical.tolist() == [True, False]
    assert facts.quality.splits["train"].rows_with_missing == 1
    # the same city gets one code in both splits
    assert facts.arrays.train.x[0, 0] == facts.arrays.train.x[2, 0]


def test_row_cap_takes_a_sample_with_a_note(tmp_path):
    arrays = builders.clean("digits")
    path = builders.write_table(tmp_path / "d.parquet", builders.split_table(arrays))
    facts = load_data([path], budget=DataBudget(max_rows=300))
    assert facts.rows("train") == 300 and facts.splits["train"].source_rows == len(arrays[1])
    assert any("random sample of 300" in note for note in facts.notes)


def test_image_folder(tmp_path):
    root = builders.digits_folder(tmp_path / "digits")
    (root / "train" / "3" / "notes.txt").write_text("not an image")
    facts = load_data([root])
    assert facts.format == "image-folder" and facts.kind == "images"
    assert facts.classes == [str(d) for d in range(10)]
    assert facts.arrays.train.ids[0] == "train/0/0000.png"
    assert any("1 files that are not images" in note for note in facts.notes)
    two = load_data([root / "train", root / "val"])  # the two split folders
    assert two.rows("val") == facts.rows("val")


def test_image_budget_skips_bombs_and_large_files(tmp_path):
    root = builders.digits_folder(tmp_path / "digits")
    Image.new("L", (3000, 3000)).save(root / "train" / "1" / "huge.png")
    facts = load_data([root], budget=DataBudget(max_image_pixels=2_000_000))
    assert any("could not be decoded (1 over the pixel budget)" in note for note in facts.notes)
    facts = load_data([root], budget=DataBudget(max_image_bytes=500))
    assert any("bytes skipped" in note for note in facts.notes)


def test_datasets_folder_with_splits(tmp_path):
    import datasets

    xt, yt, xv, yv = builders.clean("wine")
    features = datasets.Features(
        {
            **{f"f{j}": datasets.Value("float64") for j in range(xt.shape[1])},
            "label": datasets.ClassLabel(names=["barolo", "grignolino", "barbera"]),
        }
    )

    def part(x, y):
        return datasets.Dataset.from_dict(
            {**{f"f{j}": x[:, j] for j in range(x.shape[1])}, "label": y}, features=features
        )

    datasets.DatasetDict(
        train=part(xt, yt), validation=part(xv, yv), test=part(xv[:5], yv[:5])
    ).save_to_disk(tmp_path / "wine")
    facts = load_data([tmp_path / "wine"])
    assert facts.format == "hf-datasets" and facts.rows("val") == len(yv)
    assert facts.classes == ["barolo", "grignolino", "barbera"]
    assert any("ignored test" in note for note in facts.notes)


def test_datasets_folder_with_a_split_column_and_images(tmp_path):
    import datasets

    images, labels = builders.dataset("digits")
    images = images.reshape(-1, 8, 8)[:200]
    blobs = [builders.png_bytes(builders.digit_image(i)) for i in images]
    split = ["train"] * 150 + ["val"] * 50
    data = datasets.Dataset.from_dict(
        {
            "image": [{"bytes": b, "path": None} for b in blobs],
            "label": labels[:200],
            "split": split,
        },
        features=datasets.Features(
            {
                "image": datasets.Image(),
                "label": datasets.Value("int64"),
                "split": datasets.Value("string"),
            }
        ),
    )
    data.save_to_disk(tmp_path / "digits")
    facts = measure(load_data([tmp_path / "digits"]), noise=False)
    assert facts.kind == "images" and facts.rows("train") == 150
    assert facts.arrays.val.ids[0] == "val[150]"
    assert facts.scale.raw_pixels


BAD = {
    "pickled object array": lambda p: np.savez(
        p, x_train=np.array([{"a": 1}], dtype=object), y_train=[0], x_val=[[1.0]], y_val=[0]
    ),
    "pickle file": lambda p: p.write_bytes(pickle.dumps({"x_train": [1]})),
    "a single array": lambda p: np.save(p.open("wb"), np.zeros(3)),
    "random bytes": lambda p: p.write_bytes(bytes(range(256)) * 4),
    "empty file": lambda p: p.write_bytes(b""),
    "truncated parquet": lambda p: p.write_bytes(b"PAR1" + b"\x00" * 100),
    "zip without arrays": lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "hi"),
    "npz without val": lambda p: np.savez(p, x_train=np.zeros((3, 2)), y_train=np.zeros(3)),
}


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_is_one_line(tmp_path, kind):
    path = tmp_path / "bad.npz"
    BAD[kind](path)
    with pytest.raises(InputError) as error:
        load_data([path])
    message = str(error.value)
    assert "\n" not in message and str(path) in message


def test_parquet_without_its_label_column_lists_the_columns(tmp_path):
    data = builders.split_table(builders.clean("iris"), label="species")
    path = builders.write_table(tmp_path / "iris.parquet", data)
    with pytest.raises(
        InputError, match=r"no label column 'label'.*f0, f1, f2, f3, species, split"
    ):
        load_data([path], label="label")
    with pytest.raises(InputError, match="looked for label, labels, target, class, y"):
        load_data([path])


def test_splits_whose_label_types_disagree_are_one_line(tmp_path):
    xt, yt, xv, yv = builders.clean("iris")
    train = builders.write_table(tmp_path / "train.csv", builders.table(xt, yt))
    names = np.array(["setosa", "versicolor", "virginica"])
    val = builders.write_table(tmp_path / "val.csv", builders.table(xv, names[yv]))
    with pytest.raises(InputError, match=r"train.csv \+ .*val.csv: the columns cannot be read"):
        load_data([train, val])


def test_check_with_data_alone(tmp_path):
    leaked = builders.save_npz(tmp_path / "leak.npz", builders.leaked("breast_cancer"))
    run = subprocess.run(
        [sys.executable, "-m", "overfitlint", "check", "--data", str(leaked), "--no-report"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr  # a leak is a risk: the verdict cannot be healthy
    assert "OFL501 [error, high confidence]" in run.stdout
    assert "Verdict: at-risk" in run.stdout
    clean = builders.save_npz(tmp_path / "clean.npz", builders.clean("wine"))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "overfitlint",
            "check",
            "--data",
            str(clean),
            "--format",
            "json",
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    import json

    document = json.loads(run.stdout)
    assert document["data"]["noise"]["estimated_share"] < 0.08
    assert {f["code"] for f in document["findings"]} == {"OFL504"}  # wine is not standardised
    bad = tmp_path / "bad.parquet"
    shutil.copy(clean, bad)
    bad.write_bytes(b"PAR1garbage")
    run = subprocess.run(
        [sys.executable, "-m", "overfitlint", "check", "--data", str(bad), "--no-report"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "truncated Parquet" in run.stderr


def test_pyarrow_only_on_the_data_path():
    code = "import overfitlint.checks, sys; print('pyarrow' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "False"


def test_table_arrays_keep_pyarrow_types(tmp_path):
    data = pa.table(
        {
            "a": pa.array([1, 2, None, 4], pa.int32()),
            "b": [True, False, True, True],
            "label": ["x", "y", "x", "y"],
            "split": pa.array(["train", " Train", "val", None]).dictionary_encode(),
        }
    )
    facts = load_data([builders.write_table(tmp_path / "t.parquet", data)])
    np.testing.assert_array_equal(facts.arrays.train.x, [[1.0, 1.0], [2.0, 0.0]])
    assert np.isnan(facts.arrays.val.x[0, 0])
    assert any("1 rows ignored" in note for note in facts.notes)  # the null split


def test_npz_over_the_decode_budget_is_refused_from_its_headers(tmp_path):
    path = tmp_path / "big.npz"
    x = np.zeros((1000, 64), dtype=np.float32)
    y = np.zeros(1000, dtype=np.int64)
    np.savez_compressed(path, x_train=x, y_train=y, x_val=x[:10], y_val=y[:10])
    budget = DataBudget(max_decoded_bytes=100_000)
    with pytest.raises(InputError, match=r"decode to 266,640 bytes, over the data budget"):
        load_data((path,), budget=budget)
    assert load_data((path,)).rows("train") == 1000
