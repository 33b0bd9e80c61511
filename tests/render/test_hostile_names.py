"""Names from files cannot forge output (#18): hostile ONNX node and producer names, Keras
layer names, metric columns, file names and baseline entries, through every format.

Each name carries a line break followed by a workflow command, ``::add-mask::``, the legacy
``##[stop-commands]`` prefix, ESC and C1 control bytes and a Unicode line separator. In no
output may a control byte survive, a line begin with file text, or a line read as a command
that overfitlint did not write; XML and SARIF stay valid against their schemas.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import onnx
import pytest
import xmlschema

from overfitlint.findings import Finding, Location
from overfitlint.render.github import escape_property
from overfitlint.render.safe import line_start, plain, wrap
from tests.builders import onnx_models
from tests.conftest import ROOT
from tests.gate.conftest import SIZES
from tests.render.inprocess import run_main
from tests.unit.test_html_report import assert_inert

SCHEMAS = ROOT / "tests" / "schemas"
HOSTILE = (
    "n\n::error file=x::forged\r\n::add-mask::m\x1b[31m##[stop-commands]t\x9b\u2028::warning::z"
)
COLUMN_TRAIN = "loss\n::error::train\x1b[2J"
COLUMN_VAL = "val_loss\r\n::stop-commands::v\x85##[add-mask]w"
LOG_NAME = "::error file=a::log\n::add-mask::f\x1b].csv"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
"""Control bytes no output may hold (newlines are layout; CR is a control here)."""
OWN_COMMANDS = {"error", "warning", "notice"}
OWN_PROPERTIES = {"file", "line", "title"}


def hostile_onnx(path: Path) -> Path:
    """An MLP with a dropout of p 0.9 (so a rule names the layer); every name is hostile."""
    onnx_models.mlp(path, SIZES, [0.9, None], producer=HOSTILE)
    model = onnx.load(str(path))
    model.graph.name = HOSTILE
    for node in model.graph.node:
        node.name = f"{node.name}{HOSTILE}"
    onnx.save(model, str(path))
    return path


KERAS_SCRIPT = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
from keras import layers
name = sys.argv[2]
model = keras.Sequential(
    [
        keras.Input((20,)),
        layers.Dense(256, name="dense" + name),
        layers.Dropout(0.9, name="drop" + name),
        layers.Dense(64, name="hidden" + name),
        layers.Dense(2, name="out" + name),
    ],
    name="model" + name,
)
model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
model.save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory) -> Path:
    """A Keras model with hostile layer names, saved by Keras in its own process (TensorFlow
    stays out of the test process)."""
    path = tmp_path_factory.mktemp("keras") / "model.keras"
    subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT, str(path), HOSTILE],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return path


def hostile_log(folder: Path) -> Path:
    """A Keras-style CSV log that overfits, with hostile column and file names."""
    loss = [1.0 / (1 + 0.3 * e) for e in range(30)]
    val = [0.9 - 0.04 * e if e <= 10 else 0.5 + 0.03 * (e - 10) for e in range(30)]
    path = folder / LOG_NAME
    with path.open("w", newline="", encoding="utf-8") as handle:  # quoted: breaks survive
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["epoch", COLUMN_TRAIN, COLUMN_VAL])
        writer.writerows([e, t, v] for e, (t, v) in enumerate(zip(loss, val, strict=True)))
    return path


def hostile_baseline(path: Path, log_name: str) -> Path:
    """Entries the run will find gone, with a hostile name; one the run finds worse."""
    divergence = Finding("OFL301", "", "", "", "", location=Location(log_name), subject=COLUMN_VAL)
    entries = [
        {
            "fingerprint": divergence.fingerprint,
            "code": "OFL301",
            "file": log_name,
            "severity": "info",
        },
        {"fingerprint": "f" * 16, "code": "OFL302", "name": HOSTILE, "file": log_name},
        {"fingerprint": "e" * 16, "code": "OFL304", "name": HOSTILE, "file": log_name},
    ]
    document = {"format": "overfitlint-baseline", "version": 1, "findings": entries}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def forged(line: str, github: bool) -> str | None:
    """Why ``line`` would be read as a command overfitlint did not write (None: it would not)."""
    if "##[" in line:
        return "legacy ##[ command"
    stripped = line.lstrip()
    if not stripped.startswith("::"):
        return None
    if not github:
        return "a line that opens with ::"
    head = stripped[2:].split("::", 1)[0]
    command, _, properties = head.partition(" ")
    if command not in OWN_COMMANDS:
        return f"command {command!r}"
    keys = {item.split("=", 1)[0] for item in properties.split(",") if item}
    if not keys <= OWN_PROPERTIES:
        return f"properties {keys - OWN_PROPERTIES}"
    return None


def assert_clean_text(text: str, name: str, github: bool = False) -> None:
    assert not CONTROL.search(text), (name, CONTROL.search(text))
    for line in text.split("\n"):
        assert forged(line, github) is None, (name, forged(line, github), line)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.fixture(scope="module")
def validators():
    sarif = json.loads((SCHEMAS / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return (
        jsonschema.Draft4Validator(sarif),
        xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")),
    )


@pytest.fixture(params=["onnx", "keras"])
def hostile_run(request, tmp_path, monkeypatch):
    """Every format of one check of a hostile model, log and baseline, by the CLI's main()."""
    model_name = f"-{HOSTILE}.{request.param}"
    if request.param == "onnx":
        model = hostile_onnx(tmp_path / model_name)
    else:
        model = tmp_path / model_name
        model.write_bytes(request.getfixturevalue("keras_file").read_bytes())
    log = hostile_log(tmp_path)
    hostile_baseline(tmp_path / "b.json", log.name)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    common = [
        "--no-probe",
        "--samples",
        "100",
        "--train-metric",
        COLUMN_TRAIN,
        "--val-metric",
        COLUMN_VAL,
        "--baseline",
        "b.json",
    ]
    names = ["--", model.name, log.name]
    outputs = {}
    for fmt in ("text", "github"):
        result = run_main("check", *common, "--no-report", "--format", fmt, *names, cwd=tmp_path)
        assert result.code == 1, result.stderr
        outputs[fmt] = result.stdout
        outputs[f"{fmt} stderr"] = result.stderr
    files = {"json": "r.json", "sarif": "r.sarif", "junit": "r.xml"}
    pairs = [arg for fmt, file in files.items() for arg in ("--format", fmt, "--output", file)]
    result = run_main("check", *common, *pairs, "--report", "r.html", *names, cwd=tmp_path)
    assert result.code == 1, result.stderr
    outputs["files stderr"] = result.stderr
    for fmt, file in {**files, "html": "r.html"}.items():
        outputs[fmt] = (tmp_path / file).read_text(encoding="utf-8")
    outputs["summary"] = summary.read_text(encoding="utf-8")
    return outputs


def test_no_name_forges_a_line_or_survives_as_a_control_byte(hostile_run):
    for name in ("text", "text stderr", "github stderr", "files stderr", "summary", "junit"):
        assert_clean_text(hostile_run[name], name)
    assert_clean_text(hostile_run["github"], "github", github=True)
    assert_clean_text(hostile_run["json"], "json")  # JSON escapes them as \u001b: data
    assert_clean_text(hostile_run["sarif"], "sarif")


def test_text_lines_begin_with_overfitlint_text(hostile_run):
    text = hostile_run["text"]
    findings = [line for line in text.splitlines() if re.search(r": OFL\d{3} \[", line)]
    assert findings
    assert all(line.startswith(("./-n ::error", "./::error file=a::log")) for line in findings)
    assert "Verdict: overfitting: " in text and "Result: fail" in text
    assert "gone (fixed): ./::error file=a::log" not in text  # not at a line start either
    assert "  gone (fixed): ::error file=a::log ::add-mask::f\\x1b].csv: OFL302 n ::error" in text


def test_github_commands_are_only_overfitlint_s(hostile_run):
    lines = hostile_run["github"].splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) >= 4 and lines[-1].startswith("::notice title=overfitlint verdict::")
    assert any(f"file={escape_property(plain(LOG_NAME))},line=" in c for c in commands)
    assert "%0D" not in hostile_run["github"]  # a CR from a file is gone, not escaped


def test_sarif_and_junit_stay_valid_and_carry_no_control_characters(hostile_run, validators):
    sarif_validator, junit_schema = validators
    document = json.loads(hostile_run["sarif"])
    errors = list(sarif_validator.iter_errors(document))
    assert not errors, errors[0].message
    run = document["runs"][0]
    for text in strings({k: v for k, v in run.items() if k != "tool"}):
        assert not CONTROL.search(text) and "\n" not in text and "##[" not in text, text
    assert any("suppressions" not in r and r["baselineState"] == "updated" for r in run["results"])
    junit_schema.validate(hostile_run["junit"])
    data = junit_schema.to_dict(hostile_run["junit"])
    for text in strings(data):
        assert not CONTROL.search(text), text
        assert all(forged(line, github=False) is None for line in text.split("\n")), text


def test_html_shows_every_name_as_inert_text(hostile_run):
    html = hostile_run["html"]
    tags = assert_inert(html)
    shown = "n\n::error file=x::forged\\x0d\n::add-mask::m\\x1b[31m##[stop-commands]t\\x9b\\u2028"
    assert shown in tags.all_text  # layer or producer names, escapes visible
    assert "::error file=a::log\n::add-mask::f\\x1b].csv" in tags.all_text


def test_plain_neutralises_every_trick():
    assert plain("a\r\nb\tc\x1b[0m\x9b\u2028d##[x]") == "a b c\\x1b[0m\\x9b\\u2028d#\\x23[x]"
    assert line_start("::error::x") == "./::error::x"
    assert line_start("-rf") == "./-rf" and line_start(" ::x") == "./ ::x"
    assert line_start("\u3000::x") == "./\u3000::x"  # Unicode space: trimmed by the runner
    assert line_start("logs/a.csv") == "logs/a.csv" and line_start("/abs") == "/abs"
    lines = wrap("word " * 20 + "::error::x ::warning::y tail", 40, "    fix: ", "         ")
    assert all(not line.lstrip().startswith(":") for line in lines)
    assert " ".join(" ".join(lines).split()).endswith("::error::x ::warning::y tail")
