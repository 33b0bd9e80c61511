"""``overfitlint check STORE``: a tracker store or study is a sweep, judged run by run and as a
whole, in every output format; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT
from tests.trackers.stores import journal, write_optuna


def report_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _runs(document):
    return {run["trial"]["name"]: run for run in document["runs"]}


@pytest.mark.parametrize(
    "store", ["file_store", "sql_store", "optuna_db", "journal_file", "wandb_dir"]
)
def test_each_store_is_a_sweep_of_judged_runs(request, cli, store):
    path = request.getfixturevalue(store)
    extra = ["--study", "two"] if store == "optuna_db" else []
    result = cli("check", path, *extra, "--format", "json", "--no-report")
    assert result.code == 1, result.stderr
    document = result.json()
    errors = list(report_validator().iter_errors(document))
    assert not errors, errors[0].message
    runs = document["runs"]
    assert len(runs) == 2
    for run in runs:
        assert {"source", "params", "verdict", "findings"} <= set(run)
        assert run["params"]["dropout"] in (0.0, 0.5)
    by_dropout = {run["params"]["dropout"]: run for run in runs}
    overfits, healthy = by_dropout[0.0], by_dropout[0.5]
    assert overfits["verdict"]["status"] == "overfitting"
    assert "OFL301" in {f["code"] for f in overfits["findings"]}
    assert healthy["verdict"]["status"] == "healthy"
    assert not [f for f in healthy["findings"] if f["severity"] != "info"]
    sweep = document["sweep"]
    assert sweep["sweep"]["runs"] == 2 and len(sweep["sweep"]["trials"]) == 2
    assert {f["code"] for f in sweep["findings"]} <= {"OFL601", "OFL602", "OFL603"}
    assert document["verdict"]["status"] == "overfitting"


def test_a_sqlite_url_and_the_narrowing_options(cli, sql_store, optuna_db):
    one = cli("check", f"sqlite:///{sql_store}", "--experiment", "sweep", "--format", "json")
    assert one.code == 1, one.stderr
    run_id = _runs(one.json())["healthy"]["source"]
    narrowed = cli("check", sql_store, "--run", run_id, "--format", "json", "--no-report")
    assert narrowed.code == 0, narrowed.stderr
    assert [r["trial"]["name"] for r in narrowed.json()["runs"]] == ["healthy"]
    wrong = cli("check", optuna_db, "--study", "three", "--no-report")
    assert wrong.code == 2
    assert "no Optuna study named 'three'; studies: " in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_the_best_trial_overfitting_fails_the_sweep(cli, tmp_path, best_overfits):
    path = tmp_path / "journal.log"
    write_optuna(journal(path), "s", best_overfits)
    result = cli("check", path, "--no-report")
    assert result.code == 1
    out = result.stdout
    assert re.search(r"trial 0 \*best\* \[finished\] overfitting; best epoch 10 of 30", out)
    assert "OFL601 [error, high confidence] the sweep's best trial, trial 0, overfits" in out
    assert "the sweep as a whole: overfitting" in out
    only_sweep = cli("check", path, "--select", "OFL6", "--no-report", "--format", "json")
    document = only_sweep.json()
    assert {f["code"] for f in document["findings"]} == {"OFL601", "OFL603"}
    assert all(run["findings"] == [] for run in document["runs"])


def test_html_sweep_view_and_machine_formats(cli, tmp_path, dropout_sweep):
    path = tmp_path / "journal.log"
    write_optuna(journal(path), "dropout", dropout_sweep)
    result = cli(
        "check", path, "--format", "html", "--output", tmp_path / "sweep.html",
        "--format", "sarif", "--output", tmp_path / "out.sarif",
        "--format", "junit", "--output", tmp_path / "junit.xml", "--no-report",
    )  # fmt: skip
    assert result.code == 1, result.stderr
    html = (tmp_path / "sweep.html").read_text(encoding="utf-8")
    assert html.count('<path class="trial') == 10
    assert html.count('class="trial-best') >= 10 + 10  # a best-epoch dot per curve, scatters
    for order in ("verdict", "objective", "trial"):
        assert f'id="trials-by-{order}"' in html
    assert "<strong>dropout</strong>" not in html and ">dropout</span> against the gap" in html
    assert "<script" not in html
    sarif = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    codes = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert {"OFL301", "OFL602", "OFL603"} <= codes
    assert "<testsuites" in (tmp_path / "junit.xml").read_text(encoding="utf-8")


def test_bad_tracker_input_is_one_line(cli, tmp_path, sql_store):
    other = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(other) as db:
        db.execute("create table t (x int)")
    neither = cli("check", other, "--no-report")
    assert neither.code == 2
    assert "neither an MLflow nor an Optuna store" in neither.stderr
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.9,1.0\n", encoding="utf-8")
    mixed = cli("check", sql_store, log, "--no-report")
    assert mixed.code == 2
    assert "checked on its own" in mixed.stderr
    unreachable = cli("check", "http://127.0.0.1:9", "--timeout", "2", "--no-report")
    assert unreachable.code == 2
    assert len(unreachable.stderr.strip().splitlines()) == 1
