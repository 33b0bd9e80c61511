"""Every log format loads, and messy files are repaired the way the notes say."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from overfitlint import api, formats
from overfitlint.errors import InputError
from tests.builders import logs as build

LOSS, VAL = build.overfit_curve(30, best=10)


def _load(path, **settings):
    return api.read_log(path, **settings)


def _notes(curves) -> str:
    return " | ".join(curves.notes)


# -- formats ----------------------------------------------------------------------------------


def test_lightning_metrics_csv_with_hparams(tmp_path):
    steps = [1.0 - 0.01 * i for i in range(60)]
    path = build.lightning_metrics_csv(tmp_path / "version_0", steps, VAL)
    assert path.read_bytes().count(b"\r\n") > 10  # csv's own line ending, as Lightning writes
    curves = _load(path)
    assert curves.format == "lightning-csv"
    assert (curves.loss.train, curves.loss.val) == ("train_loss_epoch", "val_loss")
    assert curves.val_loss.epochs.tolist() == list(range(30))
    assert curves.val_loss.values.tolist() == pytest.approx(VAL)
    assert curves.meta["hparams"]["batch_size"] == 32
    assert curves.samples == 20 * 32  # 20 steps per epoch x batch_size
    assert "hparams.yaml" in _notes(curves)
    # the per-step twin is averaged per epoch
    assert curves.series["train_loss_step"].values[0] == pytest.approx(np.mean(steps[:2]))


def test_lightning_without_epoch_aggregate_averages_steps(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text(
        "epoch,step,train_loss,val_loss\n0,4,1.0,\n0,9,0.8,\n0,9,,0.95\n1,14,0.6,\n1,19,0.4,\n1,19,,0.9\n"
    )
    curves = _load(path)
    assert curves.train_loss.values.tolist() == pytest.approx([0.9, 0.5])
    assert curves.val_loss.values.tolist() == [0.95, 0.9]
    assert "averaged" in _notes(curves)


def test_hf_trainer_state_gives_curves_and_samples(tmp_path):
    loss = [1.0 - 0.05 * i for i in range(12)]
    path = build.hf_trainer_state(tmp_path / "trainer_state.json", loss, VAL[:6])
    curves = _load(path)
    assert curves.format == "hf-trainer-state"
    assert (curves.loss.train, curves.loss.val) == ("loss", "eval_loss")
    assert curves.val_loss.epochs.tolist() == [1, 2, 3, 4, 5, 6]
    assert curves.val_loss.values.tolist() == pytest.approx(VAL[:6])  # final evaluate dropped
    assert curves.train_loss.epochs.tolist()[:2] == [0.5, 1.0]
    assert curves.samples == 100 * 16
    assert curves.meta["train_batch_size"] == 16
    text = path.read_text()
    first_eval = text.splitlines()[curves.val_loss.lines[0] - 1]
    assert first_eval.strip() == "{"  # the line where the entry starts
    assert "summary entry" in _notes(curves)
    assert "evaluation after training" in _notes(curves)


def test_hf_samples_of_a_run_given_a_fraction_of_an_epoch(tmp_path):
    """num_train_epochs=2.5: the Trainer stores 3 and max_steps 393; its epoch 2.503 at step
    393 says 157 steps per epoch (2,500 sequences in batches of 16)."""
    path = build.hf_trainer_state(tmp_path / "trainer_state.json", LOSS[:6], VAL[:3])
    state = json.loads(path.read_text())
    state.update(global_step=393, max_steps=393, num_train_epochs=3, epoch=393 / 157)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    curves = _load(path)
    assert curves.samples == 157 * 16
    assert "global_step 393 / epoch 2.503 = 157 steps per epoch" in curves.samples_basis


def test_hf_samples_are_a_fact_when_none_given(tmp_path):
    path = build.hf_trainer_state(tmp_path / "trainer_state.json", LOSS[:20], VAL[:10])
    facts = api.read([path])
    assert facts.samples.value == 1600 and facts.samples.source == str(path)
    assert "used as --samples" in _notes(facts.curves[0])
    given = api.read([path], samples=500)
    assert given.samples.value == 500 and given.samples.source == "--samples"
    assert "500 (--samples) is used" in _notes(given.curves[0])


def test_keras_history_json_and_dict_of_lists(tmp_path):
    history = {"loss": LOSS, "accuracy": [0.5] * 30, "val_loss": VAL, "val_accuracy": [0.4] * 30}
    curves = _load(build.keras_history_json(tmp_path / "history.json", history))
    assert curves.format == "keras-history-json"
    assert curves.val_loss.epochs.tolist() == list(range(30))
    assert curves.accuracy.val == "val_accuracy"
    pretty = tmp_path / "torch.json"
    pretty.write_text(json.dumps({"train_loss": LOSS[:5], "val_loss": VAL[:3]}, indent=2))
    curves = _load(pretty)
    assert (curves.loss.train, curves.loss.val) == ("train_loss", "val_loss")
    assert curves.train_loss.lines.tolist() == [3, 4, 5, 6, 7]
    assert "differ in length" in _notes(curves)
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"train": {"loss": LOSS}, "val": {"loss": VAL}}))
    assert (_load(nested).loss.train, _load(nested).loss.val) == ("train/loss", "val/loss")


def test_pandas_csv_without_epoch_column(tmp_path):
    history = {"loss": LOSS, "val_loss": VAL}
    curves = _load(build.pandas_history_csv(tmp_path / "history.csv", history))
    assert curves.format == "pandas-csv"
    assert curves.val_loss.epochs.tolist() == list(range(30))
    assert "pandas index" in _notes(curves)


def test_fastai_csv(tmp_path):
    curves = _load(build.fastai_csv(tmp_path / "history.csv", LOSS, VAL))
    assert curves.format == "fastai-csv"
    assert (curves.loss.train, curves.loss.val) == ("train_loss", "valid_loss")
    assert curves.accuracy.val == "accuracy" and curves.accuracy.train is None
    assert "time" not in curves.series


def test_ultralytics_results_csv_sums_loss_parts(tmp_path):
    curves = _load(build.ultralytics_results_csv(tmp_path / "results.csv", LOSS, VAL))
    assert curves.format == "ultralytics-results"
    assert (curves.loss.train, curves.loss.val) == ("train/loss", "val/loss")
    assert curves.val_loss.values.tolist() == pytest.approx(VAL, rel=1e-4)
    assert curves.val_loss.epochs[0] == 1
    assert "numbered from 1" in _notes(curves)
    assert curves.lr == "lr/pg0"


def test_json_lines_and_named_metrics(tmp_path):
    pairs = enumerate(zip(LOSS, VAL, strict=True))
    rows = [{"epoch": e, "trn_err": t, "dev_err": v} for e, (t, v) in pairs]
    path = build.json_lines(tmp_path / "log.jsonl", rows)
    with path.open("a") as handle:
        handle.write('{"epoch": 30, "trn_err": 0.1, "dev_')  # still being written
    with pytest.raises(InputError, match="no loss column"):
        _load(path)
    curves = _load(path, train_metric="trn_err", val_metric="dev_err")
    assert curves.format == "json-lines" and len(curves.val_loss) == 30
    assert "cut short" in _notes(curves)
    only_val = _load(path, val_metric="dev_err")
    assert only_val.loss.train == "trn_err"  # the twin: same measure, training role


def test_tensorboard_from_pytorch_summary_writer(tmp_path):
    folder = build.torch_summary_writer(tmp_path / "runs" / "exp1", LOSS, VAL)
    assert formats.detect(folder).kind == formats.LOG
    event = next(folder.glob("events.out.tfevents.*"))
    assert formats.detect(event).format == formats.TENSORBOARD
    curves = _load(folder)
    assert curves.format == "tensorboard"
    assert (curves.loss.train, curves.loss.val) == ("Loss/train", "Loss/val")
    assert curves.val_loss.values.tolist() == pytest.approx(VAL, rel=1e-6)
    assert curves.axis == "step"
    assert curves.source_of(curves.val_loss, 0) == str(event)


def test_truncated_event_file_is_read_up_to_the_cut(tmp_path):
    folder = build.torch_summary_writer(tmp_path / "run", LOSS, VAL)
    event = next(folder.glob("events.out.tfevents.*"))
    data = event.read_bytes()
    event.write_bytes(data[: len(data) - 30])
    curves = _load(event)
    assert "cut short" in _notes(curves)
    assert len(curves.val_loss) == 29
    junk = tmp_path / "events.out.tfevents.1.junk"
    junk.write_bytes(b"\x10" + b"\x00" * 11 + b"garbage")
    with pytest.raises(InputError):
        _load(junk)


# -- messy files -------------------------------------------------------------------------------


def test_keras_resumed_with_append_replaces_repeated_epochs(tmp_path):
    path = tmp_path / "log.csv"
    first = "".join(f"{e},{1 - 0.05 * e},{1 - 0.04 * e}\n" for e in range(10))
    resumed = "".join(f"{e},{0.5 - 0.01 * e},{0.7 - 0.01 * e}\n" for e in range(6, 15))
    path.write_text("epoch,loss,val_loss\n" + first + resumed)
    curves = _load(path)
    assert curves.val_loss.epochs.tolist() == list(range(15))
    assert curves.val_loss.values[6] == pytest.approx(0.64)
    assert curves.val_loss.lines[6] == 12
    assert "resumed run" in _notes(curves)


def test_several_runs_in_one_file_judge_the_last(tmp_path):
    path = tmp_path / "log.csv"
    run = "".join(f"{e},{1 - 0.05 * e},{1 - 0.04 * e}\n" for e in range(8))
    path.write_text("epoch,loss,val_loss\n" + run + run.replace(",1", ",2"))
    curves = _load(path)
    assert curves.val_loss.lines[0] == 10
    assert "2 runs" in _notes(curves)
    repeated = tmp_path / "cat.csv"
    repeated.write_text("epoch,loss,val_loss\n" + run + "epoch,loss,val_loss\n" + run)
    curves = _load(repeated)
    assert curves.val_loss.lines[0] == 11 and "header is repeated" in _notes(curves)


def test_shuffled_epochs_are_refused(tmp_path):
    path = tmp_path / "log.csv"
    order = [5, 2, 8, 1, 9, 0, 7, 3, 6, 4, 11, 10]
    path.write_text("epoch,loss,val_loss\n" + "".join(f"{e},1,1\n" for e in order))
    with pytest.raises(InputError, match="out of order"):
        _load(path)


def test_final_validation_only_row_is_not_a_point(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Epoch,Loss,Val_Loss\r\n1,1.0,1.1\r\n2,0.8,0.9\r\n3,0.7,0.95\r\n3,,0.9\r\n")
    curves = _load(path)
    assert curves.val_loss.epochs.tolist() == [1, 2, 3]
    assert curves.val_loss.values[-1] == 0.95
    assert "line(s) 5" in _notes(curves) and "numbered from 1" in _notes(curves)


def test_na_and_empty_cells_and_decimal_commas(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch;loss;val_loss\n0;1,5;NA\n1;1,2;1,3\n2;0,9;\n")
    curves = _load(path)
    assert curves.train_loss.values.tolist() == [1.5, 1.2, 0.9]
    assert curves.val_loss.epochs.tolist() == [1]
    assert "decimal commas" in _notes(curves)


def test_utf16_and_quoted_header(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes('"epoch","loss","val_loss"\r\n0,1,1.1\r\n'.encode("utf-16"))
    assert _load(path).loss.val == "val_loss"


def test_ambiguous_columns_name_the_option(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,train_loss,validation_loss_a,eval/loss,valid/loss\n0,1,1,1,1\n")
    with pytest.raises(InputError, match=r"ambiguous .*--val-metric") as error:
        _load(path)
    assert "columns: train_loss, validation_loss_a" in str(error.value)


def test_keras_tensorboard_names_and_lightning_step_names_pair_up():
    from overfitlint.loaders.logs.metric_names import choose_pairs

    keras = choose_pairs(
        [
            "train/epoch_loss",
            "validation/epoch_loss",
            "train/epoch_accuracy",
            "validation/epoch_accuracy",
            "train/epoch_learning_rate",
        ],
        "x",
    )
    assert (keras.loss.train, keras.loss.val) == ("train/epoch_loss", "validation/epoch_loss")
    assert keras.accuracy.val == "validation/epoch_accuracy"
    lightning = choose_pairs(["train_loss_step", "train_loss_epoch", "val_loss", "lr-Adam"], "x")
    assert lightning.loss.train == "train_loss_epoch"
    torch_scalars = choose_pairs(["Loss_train/Loss", "Loss_val/Loss"], "x")
    assert torch_scalars.loss.val == "Loss_val/Loss"


def test_continuing_file_is_joined_kfold_files_are_not(tmp_path):
    first = build.keras_csv(tmp_path / "a.csv", LOSS[:15], VAL[:15])
    second = build.keras_csv(tmp_path / "b.csv", LOSS[12:], VAL[12:], first_epoch=12)
    inputs = api.read([first, second])
    assert len(inputs.curves) == 1
    joined = inputs.curves[0]
    assert joined.val_loss.epochs.tolist() == list(range(30))
    assert joined.source_of(joined.val_loss, 0) == str(first)
    assert joined.source_of(joined.val_loss, 29) == str(second)
    assert "continues" in _notes(joined)
    fold = build.keras_csv(tmp_path / "fold2.csv", LOSS, VAL)
    inputs = api.read([first, fold])
    assert len(inputs.curves) == 2


def test_event_header_check():
    from overfitlint.formats import is_event_header, masked_crc

    header = struct.pack("<Q", 24)
    assert is_event_header(header + struct.pack("<I", masked_crc(header)))
    assert not is_event_header(b"epoch,loss,val_loss\n")
