"""The HTML report: escaping, self-containment, the verdict, charts, size, and rendering
saved results. Checks run in this process (``check_one``, the CLI's ``main()``)."""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from overfitlint.render.charts import MAX_POINTS, NARROW, WIDE, charts_for
from overfitlint.render.html import build_view, render_html
from overfitlint.report import MultiReport, MultiRunInfo, Report, with_run_name
from overfitlint.verdict import Verdict
from tests.conftest import EXAMPLES, write
from tests.render.inprocess import check_report, run_main

OVERFIT = EXAMPLES / "overfit"
HEALTHY = EXAMPLES / "healthy"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
DANGEROUS_TAGS = {"script", "img", "iframe", "object", "embed", "link", "base", "form", "meta"}
CONTROL_BYTES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
"""What an HTML report never holds (newlines and tabs are layout)."""


class Tags(HTMLParser):
    """Every start tag with its attributes, the text, and the ids of a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)

    def attribute_values(self) -> str:
        return "\n".join(str(v) for _, attrs in self.tags for v in attrs.values())


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def assert_inert(html: str) -> Tags:
    """No element or attribute that could run code or fetch anything."""
    tags = parse(html)
    metas = [attrs for tag, attrs in tags.tags if tag == "meta"]
    assert any(m.get("http-equiv") == "Content-Security-Policy" for m in metas)
    for tag, attrs in tags.tags:
        if tag == "meta":
            assert set(attrs) <= {"charset", "name", "content", "http-equiv"}
            continue
        assert tag not in DANGEROUS_TAGS, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in ("href", "src", "xlink:href"):
                assert value and value.startswith(("#", "https://", "http://")), value
    assert "<script" not in html.lower()
    assert not CONTROL_BYTES.search(html), CONTROL_BYTES.search(html)
    return tags


@pytest.fixture(scope="module")
def overfit_report() -> Report:
    return check_report(OVERFIT / "model.onnx", OVERFIT / "logs.csv", samples=2000)


def text_of(html: str) -> str:
    return " ".join(parse(html).all_text.split())


def hostile_model(path: Path) -> Path:
    """An MLP whose node, graph and producer names are HTML."""
    rng = np.random.default_rng(0)
    w0 = numpy_helper.from_array(rng.standard_normal((256, 64)).astype(np.float32), "w0")
    w1 = numpy_helper.from_array(rng.standard_normal((4, 256)).astype(np.float32), "w1")
    nodes = [
        helper.make_node("Gemm", ["x", "w0"], ["h"], name=SCRIPT, transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Gemm", ["r", "w1"], ["y"], name=IMG, transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        IMG,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        [w0, w1],
    )
    model = helper.make_model(
        graph, producer_name=SCRIPT, opset_imports=[helper.make_opsetid("", 17)]
    )
    onnx.save(model, str(path))
    return path


def test_hostile_layer_column_and_file_names_appear_as_text(tmp_path):
    model = hostile_model(tmp_path / "model.onnx")
    train, val = "<script>alert(5)</script>", 'v"><img src=x onerror=alert(6)>'
    rows = [f"epoch,{train},{val}"]
    rows += [f"{e},{1 / (e + 1):.4f},{0.5 + abs(e - 5) * 0.05:.4f}" for e in range(20)]
    log = write(tmp_path / '"><img src=x onerror=alert(4)>.csv', "\n".join(rows) + "\n")
    target = tmp_path / "report.html"
    result = run_main(
        "check",
        model,
        log,
        "--train-metric",
        train,
        "--val-metric",
        val,
        "--samples",
        "100",
        "--no-probe",
        "--report",
        target,
        cwd=tmp_path,
    )
    assert result.code == 1, result.stderr
    html = target.read_text(encoding="utf-8")
    tags = assert_inert(html)
    text = tags.all_text
    for name in (SCRIPT, IMG, train, val, log.name):
        assert name in text, name  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html


def poison(value, marker: str):
    """The document with ``marker`` appended to every string, keys included."""
    if isinstance(value, str):
        return value + marker
    if isinstance(value, list):
        return [poison(v, marker) for v in value]
    if isinstance(value, dict):
        return {
            (k + marker if k not in KEEP_KEYS else k): (
                v if k in KEEP_VALUES else poison(v, marker)
            )
            for k, v in value.items()
        }
    return value


# The document's own field names stay (else nothing would render); every value is hostile.
KEEP_KEYS = {
    "schema_version", "tool", "name", "version", "run", "started_at", "seconds", "fail_on",
    "samples", "probe", "status", "reason", "device", "budget", "seed", "metrics", "note",
    "inputs", "path", "kind", "bytes", "sha256", "model", "framework", "source", "format",
    "total_params", "trainable_params", "layers", "params", "dropout_rate", "regularizers",
    "provenance", "producer", "producer_version", "optimizer", "unknown", "remedy",
    "dropout_visible", "input_shapes", "notes", "logs", "loss", "accuracy", "train", "val",
    "series", "epochs", "values", "lines", "rules", "ran", "skipped", "thresholds", "summary",
    "error", "warning", "info", "total", "failed", "findings", "code", "severity", "confidence",
    "message", "evidence", "value", "unit", "fix", "location", "file", "line", "layer", "epoch",
    "fingerprint", "corroborated_by", "probes", "baseline", "suppressed", "new", "gone",
    "verdict", "checked", "role", "subject", "contradicted_by", "adjustments", "severity_from",
    "crashed", "escalated", "change", "samples_source", "kept_epoch_source", "statement",
}  # fmt: skip
KEEP_VALUES = {"series"}  # series are looked up by the names in loss/accuracy


def with_probe(report: Report) -> Report:
    statuses = {
        "OFL101": "confirmed",
        "OFL201": "refuted",
        "OFL301": "inconclusive",
        "OFL211": "confirmed",
    }
    findings = tuple(
        replace(
            f,
            probe={
                "status": statuses[f.code],
                "metrics": {"memorized_fraction": 0.97, "steps": 120, "stopped": "fitted"},
                "device": "cuda:0",
                "seconds": 4.2,
                "seed": 7,
                "note": f"{statuses[f.code]} by a test",
                "confidence_from": "low",
            },
        )
        if f.code in statuses
        else f
        for f in report.findings
    )
    probe = {"status": "ran", "device": "cuda:0", "seconds": 12.5, "budget": 60}
    return replace(report, findings=findings, run=replace(report.run, probe=probe))


def test_every_string_of_the_document_is_escaped(overfit_report):
    document = json.loads(json.dumps(with_probe(overfit_report).to_dict()))
    document["verdict"]["checked"] = ["the curves were judged"]
    document["baseline"] = {
        "path": "b.json",
        "suppressed": 1,
        "new": 3,
        "gone": [{"fingerprint": "0", "code": "X", "name": "n", "file": "f"}],
        "escalated": [{"fingerprint": "1", "code": "Y", "file": "g", "change": "worse"}],
    }
    html = render_html(Report.from_dict(poison(document, IMG)))
    tags = assert_inert(html)
    assert html.count("&lt;img src=x onerror=alert(2)&gt;") > 50
    assert "onerror=alert(2)" in tags.all_text
    assert 'onerror=alert(2)">' not in html


def test_control_characters_from_files_are_shown_not_sent(overfit_report):
    """ESC, C1 and bidirectional overrides in names reach the page as visible escapes."""
    hostile = "a\x1b[31mb\x9bc\u202ed\x00e"
    findings = tuple(replace(f, message=f.message + hostile) for f in overfit_report.findings)
    model = replace(overfit_report.model, source=overfit_report.model.source + hostile)
    html = render_html(replace(overfit_report, findings=findings, model=model))
    assert_inert(html)
    assert "a\\x1b[31mb\\x9bc\\u202ed\\x00e" in html


def test_the_report_is_self_contained(overfit_report):
    html = render_html(overfit_report)
    tags = assert_inert(html)
    assert not re.search(r"url\(|@import|https?://[^\"<\s]*\.(css|js|woff2?|png|svg)", html)
    links = [attrs["href"] for tag, attrs in tags.tags if tag == "a" and "href" in attrs]
    external = [h for h in links if not h.startswith("#")]
    assert external and all(h.startswith("https://") for h in external)  # rule references
    ids = [attrs["id"] for _, attrs in tags.tags if "id" in attrs]
    assert len(ids) == len(set(ids))
    for href in links:  # every in-page link has its target
        if href.startswith("#"):
            assert href[1:] in ids, href


def test_overfit_report_content(overfit_report):
    html = render_html(overfit_report)
    text = text_of(html)
    assert '<section class="verdict error" id="verdict" data-verdict="overfitting"' in html
    assert "Overfitting OFL301 diverging-validation-loss: val_loss rose 36.9%" in text
    assert "Gate: fails at --fail-on warning (5 findings at or above it)." in text
    assert "Most important: OFL3" in text  # a curve symptom leads among the errors
    for code in ("OFL101", "OFL201", "OFL211", "OFL301"):
        assert f'id="rule-{code}"' in html
    assert "72,196 total, 72,196 trainable" in text
    assert "36.1 trainable parameters per training sample" in text
    assert "OFL101 reports it as information from 1 and warns from 10" in text
    assert "Probe: skipped" in text
    # the rule's rise is the one the tile shows: the last logged value over the logged best
    assert '<td>rise</td><td class="num">36.86%' in html
    assert "sha256" in text and overfit_report.inputs[0].sha256 in text
    # layers by size: fc2 (65,792) before fc0 (5,376) before fc4 (1,028)
    assert text.index("65,792") < text.index("5,376") < text.index("1,028")


def test_findings_show_what_the_engine_changed_and_why(overfit_report):
    text = text_of(render_html(overfit_report))
    assert "Severity error (the rule's own: warning)" in text
    assert "raised to error: corroborated by OFL301, OFL302, OFL304" in text
    demoted = replace(
        overfit_report.findings[0],
        severity="info",
        severity_from="warning",
        contradicted_by=("OFL301",),
        adjustments=("demoted from warning: risk not realised: the curves show no overfitting",),
        corroborated_by=(),
    )
    html = render_html(replace(overfit_report, findings=(demoted, *overfit_report.findings[1:])))
    text = text_of(html)
    assert "Contradicted by OFL301: the curves they judged" in text
    assert "demoted from warning: risk not realised" in text
    assert "Severity info (the rule's own: warning)" in text


@pytest.mark.parametrize(
    ("status", "tone", "headline"),
    [
        ("overfitting", "error", "Overfitting"),
        ("at-risk", "warning", "At risk of overfitting"),
        ("healthy", "ok", "Healthy: no sign of overfitting"),
        ("unknown", "neutral", "Unknown: nothing could be judged"),
    ],
)
def test_the_banner_states_the_verdict_and_the_gate_apart(overfit_report, status, tone, headline):
    verdict = Verdict(status, f"because of {status}", ("val_loss does not diverge", "no leak"))
    html = render_html(replace(overfit_report, verdict=verdict))
    assert f'<section class="verdict {tone}" id="verdict" data-verdict="{status}"' in html
    text = text_of(html)
    assert f"{headline} because of {status}" in text
    assert "Checked and passed: val_loss does not diverge; no leak." in text
    assert "Gate: fails at --fail-on warning" in text  # the gate is its own line
    assert f"<title>overfitlint: {headline} — model.onnx</title>" in html


def test_one_best_epoch_in_cards_charts_and_text(overfit_report):
    """The best epoch is the findings' ``best_epoch`` everywhere; a card's percentage is the
    one of the two values it shows."""
    from overfitlint.render import render

    curves = overfit_report.logs[0]
    values = dict(
        zip(curves.val_loss.epochs.tolist(), curves.val_loss.values.tolist(), strict=True)
    )
    for best in (10.0, 12.0):  # the rule's, and one moved by hand: every view follows it
        findings = tuple(
            replace(
                f,
                evidence=tuple(
                    replace(e, value=best) if e.name == "best_epoch" else e for e in f.evidence
                ),
            )
            if f.subject == "val_loss"
            else f
            for f in overfit_report.findings
        )
        report = replace(overfit_report, findings=findings)
        view = build_view(report)
        tiles = {t["label"]: t for t in view["glance"]}
        assert tiles["best epoch"]["value"] == f"{best:g}"
        assert {m.epoch for f in view["charts"] for m in f.main.markers if m.kind == "best"} == {
            best
        }
        last = curves.val_loss.values[-1]
        rise = tiles["val_loss: last vs best"]
        assert rise["value"] == f"{(last / values[best] - 1) * 100:+.1f}%"
        assert rise["detail"].startswith(f"{values[best]:.4g} at epoch {best:g} → {last:.4g}")
        summary = view["charts"][0].main.summary[1]
        assert summary.startswith(f"val_loss: {values[best]:.4g} at its best epoch {best:g}")
        text = render("text", report)
        assert f"best val_loss {values[best]:.4g} at epoch {best:g}" in text


def test_charts_of_the_overfit_example(overfit_report):
    figures = charts_for(overfit_report)
    assert [f.metric for f in figures] == ["loss", "accuracy"]
    for figure in figures:
        assert [v.frame for v in figure.views] == [WIDE, NARROW]
        for view in figure.views:
            assert [(s.name, s.role) for s in view.series] in (
                [("loss", "train"), ("val_loss", "val")],
                [("accuracy", "train"), ("val_accuracy", "val")],
            )
            assert {m.kind for m in view.markers} == {"best", "onset"}
            assert view.onset_by == ["OFL301"]
            assert len(view.shades) == 1 and view.shades[0].diverged
            assert not view.log_scale
    finding = next(f for f in overfit_report.findings if f.evidence_value("onset_epoch"))
    best = next(m for m in figures[0].main.markers if m.kind == "best")
    onset = next(m for m in figures[0].main.markers if m.kind == "onset")
    assert best.epoch == finding.evidence_value("best_epoch")
    assert onset.epoch == finding.evidence_value("onset_epoch")


def keras_log(path: Path, loss, val_loss) -> Path:
    rows = ["epoch,loss,val_loss"]
    rows += [f"{e},{t},{v}" for e, (t, v) in enumerate(zip(loss, val_loss, strict=True))]
    return write(path, "\n".join(rows) + "\n")


def test_a_1000_epoch_log_stays_small_and_keeps_its_extremes(tmp_path):
    rng = random.Random(3)
    epochs = range(1000)
    loss = [2.3 * math.exp(-e / 80) + 0.001 + rng.random() * 0.002 for e in epochs]
    val = [
        2.3 * math.exp(-e / 80) + 0.3 + max(0, (e - 300) / 500) + rng.random() * 0.05
        for e in epochs
    ]
    val[640] = 9.5  # a spike: thinning must keep it
    log = keras_log(tmp_path / "long.csv", [f"{x:.6f}" for x in loss], [f"{x:.6f}" for x in val])
    target = tmp_path / "long.html"
    result = run_main("check", log, "--no-probe", "--report", target, cwd=tmp_path)
    assert result.code == 1, result.stderr
    assert target.stat().st_size < 300_000
    figure = charts_for(check_report(log))[0]
    wide = figure.main
    assert wide.log_scale  # 2.3 down to 0.001: three decades
    assert wide.thinned
    for series in wide.series:
        assert series.total == 1000 and series.drawn <= MAX_POINTS
    # the spike survives thinning: the highest point of val_loss is at the top of the plot
    val_path = next(s.path for s in wide.series if s.role == "val")
    ys = [float(y) for y in re.findall(r"[\d.]+ ([\d.]+)", val_path)]
    top, height = wide.plot["top"], wide.plot["bottom"] - wide.plot["top"]
    assert min(ys) <= top + 0.06 * height


def test_several_logs_are_overlaid_as_runs(tmp_path):
    one = keras_log(
        tmp_path / "a" / "logs.csv",
        [1 / (e + 1) for e in range(30)],
        [0.5 + abs(e - 8) * 0.02 for e in range(30)],
    )
    two = keras_log(
        tmp_path / "b" / "logs.csv",
        [1 / (e + 2) for e in range(20)],
        [0.6 - e * 0.005 for e in range(20)],
    )
    report = check_report(one, two)
    view = build_view(report)
    (loss,) = view["charts"]
    for chart in loss.views:
        roles = [(s.run, s.role) for s in chart.series]
        assert roles == [(0, "train"), (0, "val"), (1, "train"), (1, "val")]
    assert [r.label for r in view["runs"]] == ["a/logs.csv", "b/logs.csv"]
    html = render_html(report)
    assert html.count('<path class="series train r1"') == 2  # wide and narrow
    assert "a/logs.csv" in html and "b/logs.csv" in html


def test_non_finite_values_break_the_line_and_are_marked(tmp_path):
    loss = [f"{1 / (e + 1):.4f}" if e not in (12, 13) else "nan" for e in range(30)]
    log = keras_log(tmp_path / "nan.csv", loss, [f"{0.9 - e * 0.01:.4f}" for e in range(30)])
    chart = charts_for(check_report(log))[0].main
    train = next(s for s in chart.series if s.role == "train")
    assert train.path.count("M") == 2  # two segments around the gap
    assert len(chart.gaps) == 2 and all("not finite" in g.label for g in chart.gaps)


def test_probe_verdicts_are_shown_with_their_numbers(overfit_report):
    html = render_html(with_probe(overfit_report))
    text = text_of(html)
    assert "Probe: confirmed OFL101, OFL211; refuted OFL201; inconclusive OFL301" in text
    assert "(on cuda:0, 12.5 s of a 60 s budget)" in text
    assert "<dt>memorized fraction</dt><dd>0.97</dd>" in html
    assert "cuda:0 · 4.2 s · seed 7" in text
    assert "confidence before the probe: low" in text


def test_minimal_and_odd_saved_documents_still_render(tmp_path):
    minimal = Report.from_dict({"schema_version": 1, "findings": [], "summary": {}, "run": {}})
    text = text_of(render_html(minimal))
    assert (
        "Unknown: nothing could be judged" in text and "Gate: passes at --fail-on warning" in text
    )
    odd = {
        "schema_version": 1,
        "run": {"probe": {"status": 3, "probes": "x"}, "samples": 0},
        "summary": {"failed": True, "error": 1},
        "verdict": {"status": "sideways", "reason": None},
        "inputs": [{"path": "m.onnx"}],
        "model": {"layers": [{"name": None, "params": "12"}], "optimizer": {}, "total_params": 0},
        "logs": [{"source": "x.csv", "loss": {"train": "loss", "val": "gone"}, "series": {}}],
        "rules": {"thresholds": {"OFL301": {"patience": 9}}, "ran": ["OFL301"]},
        "findings": [
            {"code": "OFL301", "evidence": [{"name": "best_epoch", "value": "x"}], "probe": 3},
            {"severity": "nonsense", "location": {"line": "7"}, "corroborated_by": ["OFL301"]},
        ],
    }
    write(tmp_path / "odd.json", json.dumps(odd))
    result = run_main("report", "odd.json", "-o", "odd.html", cwd=tmp_path)
    assert result.code == 0, result.stderr
    html = (tmp_path / "odd.html").read_text(encoding="utf-8")
    assert_inert(html)
    assert "sideways" in text_of(html)  # an unknown status is stated, in grey
    assert '<section class="verdict neutral"' in html


def test_several_models_in_one_document(overfit_report):
    healthy = check_report(HEALTHY / "model.onnx", HEALTHY / "logs.csv", samples=2000)
    runs = (with_run_name(overfit_report, "overfit"), with_run_name(healthy, "healthy"))
    combined = MultiReport(MultiRunInfo("2025-01-01T00:00:00+00:00", 1.0, "warning", 1), runs)
    html = render_html(combined)
    tags = assert_inert(html)
    text = " ".join(tags.all_text.split())
    assert '<section class="verdict error" id="overview" data-verdict="overfitting"' in html
    assert "1 of 2 runs: overfitting" in text
    assert "Gate: 1 of 2 models fail at --fail-on warning." in text
    overview = html[html.index('id="overview"') : html.index("</section>")]
    rows = re.findall(r"<tr><th scope=\"row\".*?</tr>", overview, re.S)
    assert [re.findall(r'<td class="verdict-\w+">(.*?)</td>', row) for row in rows] == [
        ["overfitting"],
        ["healthy"],
    ]
    assert 'id="m1-top"' in html and 'id="m2-top"' in html
    assert html.count('class="chart"') == 4
    ids = [attrs["id"] for _, attrs in tags.tags if "id" in attrs]
    assert len(ids) == len(set(ids))


def test_report_command_renders_a_saved_result_like_the_live_run(tmp_path):
    """A saved JSON result renders the same bytes as the live run, baseline included: the log
    alone is accepted at warning, then the model makes its finding an error (worse)."""
    model, log = OVERFIT / "model.onnx", OVERFIT / "logs.csv"
    accepted = run_main(
        "check", log, "--no-probe", "--no-report", "--write-baseline", "b.json", cwd=tmp_path
    )
    assert accepted.code == 0, accepted.stderr
    live, saved = tmp_path / "live.html", tmp_path / "saved.html"
    args = [model, log, "--samples", "2000", "--no-probe", "--baseline", "b.json"]
    check = run_main(
        "check", *args, "--format", "json", "--output", "r.json", "--report", live, cwd=tmp_path
    )
    assert check.code == 1, check.stderr
    result = run_main("report", "r.json", "-o", saved, cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"HTML report: {saved}"
    assert saved.read_bytes() == live.read_bytes()
    text = text_of(live.read_text(encoding="utf-8"))
    assert "worse than accepted" in text
    assert "Accepted in the baseline, came back worse: severity rose from warning to error" in text
    default = run_main("report", "r.json", cwd=tmp_path)
    assert default.code == 0 and (tmp_path / "reports" / "r.html").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<html></html>", "not valid JSON"),
        ("[1, 2]", "not an overfitlint result"),
        ('{"schema_version": 99, "findings": []}', "upgrade overfitlint"),
        ('{"schema_version": 1, "findings": {}}', "'findings' is missing or not a JSON list"),
    ],
)
def test_report_command_refuses_what_it_cannot_render(tmp_path, content, message):
    write(tmp_path / "bad.json", content)
    result = run_main("report", "bad.json", "-o", "out.html", cwd=tmp_path)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith("overfitlint: error: bad.json: ")
    assert not (tmp_path / "out.html").exists()


def test_report_command_will_not_overwrite_its_input(tmp_path, overfit_report):
    document = json.dumps(overfit_report.to_dict())
    path = write(tmp_path / "r.json", document)
    result = run_main("report", path, "-o", path, cwd=tmp_path)
    assert result.code == 2 and "refusing to overwrite" in result.stderr
    assert path.read_text() == document


def test_memorised_weights_lead_among_equal_causes(overfit_report):
    """A cause the probe measured as memorised weights is a symptom measured: it is the finding
    to read first among the warnings, before the other causes."""
    causes = [f for f in overfit_report.findings if f.role == "cause"]
    memorised = {"status": "confirmed", "decided_by": "heldout", "note": "memorised"}
    findings = [
        replace(f, severity="warning", probe=memorised if f.code == "OFL101" else None)
        for f in causes
    ]
    assert {f.code for f in findings} >= {"OFL101", "OFL201"}
    view = build_view(replace(overfit_report, findings=findings))
    assert view["verdict"]["lead"]["code"] == "OFL101"
    findings = [replace(f, probe=None) for f in findings]
    assert build_view(replace(overfit_report, findings=findings))["verdict"]["lead"]["code"] != (
        "OFL101"
    )
