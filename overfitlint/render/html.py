"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network).

It reads the typed report alone, and only what its JSON document keeps, so a saved JSON
result renders exactly as the live run would have (``overfitlint report``). This module only
*prepares* the data (ordering, number formatting, chart geometry); every piece of markup lives
in ``templates/``. Jinja2 escapes every string, and every value printed passes through
``safe.visible`` first, because every string from a model or a log is hostile.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cache
from itertools import pairwise
from pathlib import PurePath
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from overfitlint.catalogue import RuleSpec, load_catalogue
from overfitlint.facts import ModelFacts, Unknown
from overfitlint.findings import Finding
from overfitlint.render import sweep_charts
from overfitlint.render.charts import Run, charts_for, runs_of
from overfitlint.render.reading import (
    SEVERITY_RANK,
    escalation,
    last_finite,
    number,
    points_after,
    severity_rank,
    value_at,
    verdict_headline,
    verdict_tone,
    worst,
)
from overfitlint.render.safe import visible
from overfitlint.report import SCHEMA_VERSION, AnyReport, MultiReport, Report

CONFIDENCE_RANK = {"high": 2, "medium": 1, "low": 0}
ROLE_RANK = {"symptom": 0, "cause": 1, "notice": 2}
PROBE_STATUSES = ("confirmed", "refuted", "inconclusive")
MAX_LAYER_ROWS = 150
"""Layers listed one per row; smaller ones are summed up in one row (keeps the file small)."""
URL = re.compile(r"https?://[^\s<>\"'`]+")
CODE = re.compile(r"`([^`\n]+)`")
EVIDENCE_LABELS: dict[str, str] = {}
"""Evidence names shown with a longer label in the finding cards."""
"""Evidence whose name alone would pass for the change between two values shown beside it."""
RATIO_THRESHOLDS = ("info_ratio", "warn_ratio")
"""The thresholds of the rule that judges parameters per sample (found by these names)."""


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}``: control characters shown as escapes (markup made by a macro has
    been through here already)."""
    if isinstance(value, Markup):
        return value
    return visible("" if value is None else value)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("overfitlint", "render/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters["num"] = value_text
    return env


def render_html(report: AnyReport) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(view=build_view(report))


# -- formatting ------------------------------------------------------------------------------


def value_text(value: Any, unit: str = "") -> str:
    """A number or value as a reader wants to see it; ``unit`` is appended when given."""
    if value is None:
        text = "—"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            text = str(value)
        elif value.is_integer() and abs(value) < 1e15:
            text = f"{int(value):,}"
        elif abs(value) >= 1e4:
            text = f"{value:,.0f}"
        else:
            text = f"{value:.4g}"
    elif isinstance(value, Mapping):
        text = ", ".join(f"{k} {value_text(v)}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(value_text(v) for v in value)
    else:
        text = str(value)
    if not unit or value is None or unit in ("epoch", "line"):
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def label_text(name: Any) -> str:
    return str(name).replace("_", " ")


def paragraphs(text: Any, *, links: bool = False) -> list[list[tuple[str, str]]]:
    """Hard-wrapped text as paragraphs (blank lines separate them), each as ``rich`` parts."""
    blocks = re.split(r"\n\s*\n", str(text or "").strip())
    return [rich(" ".join(block.split()), links=links) for block in blocks if block.strip()]


def rich(text: str, *, links: bool = False) -> list[tuple[str, str]]:
    """``text`` as ("text" | "code" | "link", piece) parts: `backticks` become code and, in
    trusted text (the rule catalogue) only, http(s) URLs become links."""
    parts: list[tuple[str, str]] = []
    for index, piece in enumerate(CODE.split(text)):
        if index % 2:
            parts.append(("code", piece))
            continue
        end = 0
        for match in URL.finditer(piece) if links else ():
            url = match.group(0).rstrip(".,;)")
            parts.append(("text", piece[end : match.start()]))
            parts.append(("link", url))
            end = match.start() + len(url)
        parts.append(("text", piece[end:]))
    return [(kind, piece) for kind, piece in parts if piece]


def _scalars(data: Mapping[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The plain values of a mapping (nested ones are left to their own views)."""
    return [
        (label_text(key), value_text(value))
        for key, value in data.items()
        if key not in skip
        and value not in (None, "", [], {})
        and not isinstance(value, Mapping | list | tuple)
    ]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


# -- the view --------------------------------------------------------------------------------


def build_view(report: AnyReport) -> dict[str, Any]:
    """What the templates show: one run, or several models (``runs``) with one verdict."""
    catalogue = load_catalogue()
    tool = f"overfitlint {report.tool_version}"
    if not isinstance(report, MultiReport):
        view = build_run_view(report, catalogue)
        view["multi"] = False
        view["rules"] = _rules_view([view], [report], catalogue)
        return view
    if report.sweep is not None:
        return build_sweep_view(report, catalogue, tool)
    views = [build_run_view(r, catalogue, prefix=f"m{i + 1}-") for i, r in enumerate(report.runs)]
    failing = sum(1 for r in report.runs if r.summary.failed)
    fail_on = report.run.fail_on
    verdict = _verdict(report, [f for v in views for f in v["findings"]])
    verdict["gate"] = {
        "failed": report.summary.failed,
        "text": f"{failing} of {len(views)} models fail at --fail-on {fail_on}",
    }
    return {
        "multi": True,
        "unit": "models",
        "title": f"{len(views)} models",
        "inputs": report.inputs,
        "notes": (),
        "verdict": verdict,
        "runs": views,
        "rules": _rules_view(views, list(report.runs), catalogue),
        "tool": tool,
    }


def build_sweep_view(
    report: MultiReport, catalogue: Mapping[str, RuleSpec], tool: str
) -> dict[str, Any]:
    """A sweep: the overall verdict, the sweep view (curves, trials table, params against the
    gap), then the sweep's findings and a section per trial that has findings."""
    whole = report.sweep
    assert whole is not None and whole.sweep is not None
    info = whole.sweep
    with_findings = [r for r in report.runs if r.findings]
    parts = [whole, *with_findings]
    views = [build_run_view(r, catalogue, prefix=f"m{i + 1}-") for i, r in enumerate(parts)]
    views[0]["name"] = "the sweep as a whole"
    failing = sum(1 for r in report.runs if r.summary.failed)
    verdict = _verdict(report, [f for v in views for f in v["findings"]])
    verdict["gate"] = {
        "failed": report.summary.failed,
        "text": f"{failing} of {_plural(len(report.runs), 'trial')} fail at --fail-on "
        f"{report.run.fail_on}"
        + ("; the sweep's own findings fail too" if whole.summary.failed else ""),
    }
    anchors = {r.trial.source: v["prefix"] for r, v in zip(parts, views, strict=True) if r.trial}
    rows = sweep_charts.trial_rows(report.runs, info.trials)
    for row in rows:
        row["anchor"] = anchors.get(row["source"])
    return {
        "multi": True,
        "title": f"sweep {info.source}",
        "inputs": report.inputs,
        "notes": info.notes,
        "verdict": verdict,
        "runs": views,
        "unit": "reports with findings",
        "sweep": {
            "kind": info.kind,
            "source": info.source,
            "direction": info.direction,
            "objective": info.objective_name or "objective",
            "best_run": info.best_run,
            "trials": len(report.runs),
            "curves": sweep_charts.curves_view(info.trials),
            "scatters": sweep_charts.scatters(info.trials),
            "orders": sweep_charts.orderings(rows, info.direction),
        },
        "rules": _rules_view(views, parts, catalogue),
        "tool": tool,
    }


def build_run_view(
    report: Report, catalogue: Mapping[str, RuleSpec], prefix: str = ""
) -> dict[str, Any]:
    """The view of one check (one model and its logs); ``prefix`` keeps element ids unique."""
    findings = [
        _finding_view(report, f, i, catalogue, prefix) for i, f in enumerate(report.findings)
    ]
    anchors: dict[str, str] = {}
    for f in findings:
        anchors.setdefault(f["code"], f["anchor"])
    for f in findings:
        f["corroborated"] = [{"code": c, "anchor": anchors.get(c)} for c in f["corroborated_by"]]
        f["contradicted"] = [{"code": c, "anchor": anchors.get(c)} for c in f["contradicted_by"]]
    runs = runs_of(report)
    charts = charts_for(report, runs)
    for figure in charts:
        figure.id = prefix + figure.id
        for chart in figure.views:
            chart.id = prefix + chart.id
    return {
        "prefix": prefix,
        "name": report.name or _title(report),
        "title": _title(report),
        "inputs": report.inputs,
        "notes": report.notes,
        "verdict": _run_verdict(report, findings),
        "glance": _glance(report, runs),
        "runs": runs,
        "charts": charts,
        "log_notes": [(log.source, note) for log in report.logs for note in log.notes],
        "logs_given": bool(report.logs),
        "findings": findings,
        "model": _model_view(report.model, report) if report.model else None,
        "run": _run_view(report, catalogue),
        "tool": f"overfitlint {report.tool_version}",
    }


def _rules_view(
    views: list[dict[str, Any]], reports: list[Report], catalogue: Mapping[str, RuleSpec]
) -> list[dict[str, Any]]:
    """The catalogue entries of the rules that found something, with the thresholds in force
    (those of the first run that found it)."""
    in_force: dict[str, Any] = {}
    for view, report in zip(views, reports, strict=True):
        for f in view["findings"]:
            in_force.setdefault(f["code"], report.rules.thresholds.get(f["code"]))
    return [
        _rule_view(catalogue[code].to_dict(), in_force[code])
        for code in sorted(in_force)
        if code in catalogue
    ]


def _title(report: Report) -> str:
    if report.model and report.model.source:
        return PurePath(report.model.source).name
    if report.inputs:
        return PurePath(report.inputs[0].path).name
    return "report"


def _where(finding: Finding) -> str:
    location = finding.location
    where = str(location.file or "")
    line = number(location.line)
    if where and line is not None and line > 0:
        where += f":{int(line)}"
    return where


def _finding_view(
    report: Report, f: Finding, index: int, catalogue: Mapping[str, RuleSpec], prefix: str
) -> dict[str, Any]:
    spec = catalogue.get(f.code)
    location = f.location
    extra = []
    if location.layer:
        extra.append(f"layer {location.layer}")
    if location.epoch is not None:
        extra.append(f"epoch {value_text(location.epoch)}")
    fingerprint = re.sub(r"[^A-Za-z0-9_-]", "", f.fingerprint)[:32]
    code = re.sub(r"[^A-Za-z0-9_-]", "", f.code)
    worse = escalation(report, f)
    return {
        "anchor": f"{prefix}finding-{index + 1}-{code}-{fingerprint}".rstrip("-"),
        "index": index,
        "code": f.code,
        "name": f.name or (spec.name if spec else ""),
        "title": spec.title if spec else "",
        "role": f.role or (spec.role if spec else ""),
        "memorised": f.memorised,
        "known_rule": spec is not None,
        "severity": f.severity,
        "severity_from": f.severity_from or "",
        "adjustments": list(f.adjustments),
        "escalated": worse.change if worse is not None else "",
        "confidence": f.confidence,
        "message": f.message,
        "sentence": f.message.rstrip(". "),
        "where": _where(f),
        "where_extra": extra,
        "evidence": [
            {
                "label": EVIDENCE_LABELS.get(e.name, label_text(e.name)),
                "value": value_text(e.value, e.unit),
                "numeric": isinstance(e.value, int | float) and not isinstance(e.value, bool),
            }
            for e in f.evidence
        ],
        "fix": paragraphs(f.fix),
        # a model rule's example is the change to make; a curve rule's is a log (see its rule)
        "example": (
            {"bad": spec.bad_example, "good": spec.good_example}
            if spec and spec.bad_example and spec.good_example and "logs" not in spec.needs
            else None
        ),
        "corroborated_by": list(f.corroborated_by),
        "contradicted_by": list(f.contradicted_by),
        "probe": _probe_view(f.probe),
    }


def _probe_part(name: str, part: Mapping[str, Any]) -> dict[str, Any]:
    metrics = part.get("metrics")
    return {
        "name": label_text(name),
        "status": str(part.get("status") or ""),
        "note": str(part.get("note") or part.get("reason") or ""),
        "facts": _scalars(part, ("probe", "status", "note", "reason")),
        "metrics": _scalars(metrics) if isinstance(metrics, Mapping) else [],
    }


def _probe_view(probe: Any) -> dict[str, Any] | None:
    """A finding's probe verdict: status, device, time, seed, what it measured, and why."""
    if probe is None or probe == {}:
        return None
    if not isinstance(probe, Mapping):
        probe = {"status": value_text(probe)}
    facts = []
    if probe.get("device"):
        facts.append(f"on {probe['device']}")
    if number(probe.get("seconds")) is not None:
        facts.append(f"{value_text(round(float(probe['seconds']), 2))} s")
    if probe.get("seed") is not None:
        facts.append(f"seed {value_text(probe['seed'])}")
    before = [
        f"{label_text(key[: -len('_from')])} before the probe: {value_text(value)}"
        for key, value in probe.items()
        if str(key).endswith("_from") and value not in (None, "")
    ]
    raw_parts = probe.get("probes")
    parts = [p for p in raw_parts if isinstance(p, Mapping)] if isinstance(raw_parts, list) else []
    metrics = probe.get("metrics")
    known = ("status", "metrics", "device", "seconds", "seed", "note", "reason", "probes")
    return {
        "status": str(probe.get("status") or "unknown"),
        "facts": facts,
        "note": str(probe.get("note") or probe.get("reason") or ""),
        "metrics": _scalars(metrics) if isinstance(metrics, Mapping) else [],
        "before": before,
        "extra": [(k, v) for k, v in _scalars(probe, known) if not k.endswith(" from")],
        "parts": [_probe_part(str(p.get("probe", i + 1)), p) for i, p in enumerate(parts)]
        if len(parts) > 1
        else [],
    }


def _lead(findings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The finding a reviewer should read first: the most severe; among equals a symptom
    (the curve says it overfits, or the probe measured memorised weights) before a cause, a
    probe-confirmed one, then the surest."""
    if not findings:
        return None

    def rank(f: dict[str, Any]) -> tuple:
        probe = f["probe"] or {}
        return (
            -SEVERITY_RANK.get(f["severity"], -1),
            ROLE_RANK.get("symptom" if f["memorised"] else f["role"], 3),
            0 if probe.get("status") == "confirmed" else 1,
            -CONFIDENCE_RANK.get(f["confidence"], -1),
            f["index"],
        )

    return min(findings, key=rank)


def _counts(findings: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(s, sum(1 for f in findings if f["severity"] == s)) for s in SEVERITY_RANK]


def _verdict(report: AnyReport, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict as the engine stated it, with the lead finding and the counts."""
    verdict = report.verdict
    return {
        "status": verdict.status,
        "tone": verdict_tone(verdict),
        "headline": verdict_headline(verdict),
        "reason": verdict.reason,
        "checked": list(verdict.checked),
        "counts": [(s, report.summary.count(s)) for s in SEVERITY_RANK],
        "lead": _lead(findings),
    }


def _run_verdict(report: Report, findings: list[dict[str, Any]]) -> dict[str, Any]:
    view = _verdict(report, findings)
    fail_on = report.run.fail_on
    if report.summary.failed:
        at_or_above = sum(
            1 for f in report.findings if severity_rank(f.severity) >= severity_rank(fail_on)
        )
        gate = f"fails at --fail-on {fail_on} ({_plural(at_or_above, 'finding')} at or above it)"
    else:
        gate = f"passes at --fail-on {fail_on}"
    view["gate"] = {"failed": report.summary.failed, "text": gate}
    view["probe"] = _probe_summary(report, findings)
    baseline = report.baseline
    view["baseline"] = (
        {
            "path": baseline.path,
            "suppressed": baseline.suppressed,
            "new": baseline.new,
            "gone": [g.code for g in baseline.gone],
            "escalated": [(e.code, e.file, e.change) for e in baseline.escalated],
        }
        if baseline is not None
        else None
    )
    return view


def _probe_summary(report: Report, findings: list[dict[str, Any]]) -> dict[str, Any]:
    probe = report.run.probe
    tally: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        if f["probe"]:
            tally.setdefault(f["probe"]["status"], []).append(f)
    order = [s for s in PROBE_STATUSES if s in tally] + sorted(
        s for s in tally if s not in PROBE_STATUSES
    )
    facts = []
    if probe.get("device"):
        facts.append(f"on {probe['device']}")
    seconds, budget = number(probe.get("seconds")), number(probe.get("budget"))
    if seconds is not None:
        facts.append(
            f"{value_text(round(seconds, 1))} s"
            + (f" of a {value_text(budget)} s budget" if budget is not None else "")
        )
    return {
        "status": str(probe.get("status") or ("ran" if tally else "not run")),
        "reason": str(probe.get("reason") or ""),
        "facts": facts,
        "groups": [(status, tally[status]) for status in order],
    }


# -- at a glance -----------------------------------------------------------------------------


def _with_evidence(report: Report, name: str, role: str | None = None) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.evidence_value(name) is not None and (role is None or f.role == role)
    ]


def _curve_tiles(report: Report, runs: list[Run]) -> list[dict[str, Any]]:
    """The best epoch and how far the validation loss ended from it, of the first run with a
    validation loss (runs that diverged first)."""
    for run in sorted(runs, key=lambda r: not r.diverged):
        curves = report.logs[run.index]
        end = last_finite(curves.val_loss)
        if run.best_epoch is None or end is None:
            continue
        best = run.best_epoch
        last_epoch, last = end
        past = points_after(curves.val_loss, best)
        of_runs = f" in {run.label}" if len(runs) > 1 else ""
        tiles = [
            {
                "label": "best epoch",
                "value": value_text(best),
                "detail": f"of {value_text(last_epoch)}{of_runs}; "
                f"{_plural(past, 'logged epoch')} after it",
                "tone": run.tone,
            }
        ]
        at_best = value_at(curves.val_loss, best)
        if at_best is None or at_best == 0:
            return tiles
        name = curves.loss.val
        tiles.append(
            {
                "label": f"{name}: last vs best",
                "value": f"{(last / at_best - 1) * 100:+.1f}%",
                "detail": f"{value_text(at_best)} at epoch {value_text(best)} → "
                f"{value_text(last)} at epoch {value_text(last_epoch)}",
                "tone": run.tone,
            }
        )
        return tiles
    return []


def _ratio(report: Report) -> tuple[float | None, str]:
    """Trainable parameters per training sample (a finding's, else worked out) and its tone."""
    measured = _with_evidence(report, "params_per_sample")
    if measured:
        return number(measured[0].evidence_value("params_per_sample")), worst(measured) or "ok"
    if report.model and report.run.samples:
        samples = number(report.run.samples)
        if samples:
            return report.model.trainable_params / samples, "ok"
    return None, "ok"


def _glance(report: Report, runs: list[Run]) -> list[dict[str, Any]]:
    """A few numbers that answer "how badly?" before the details, each toned by the worst
    finding that measured the same quantity."""
    tiles = _curve_tiles(report, runs)
    model = report.model
    if model is None:
        return tiles
    ratio, tone = _ratio(report)
    samples = number(report.run.samples)
    if ratio is not None and samples:
        tiles.append(
            {
                "label": "parameters per sample",
                "value": value_text(round(ratio, 1)),
                "detail": f"{value_text(model.trainable_params)} trainable, "
                f"{value_text(int(samples))} samples",
                "tone": tone,
            }
        )
    dropout = _dropout_summary(model)
    tiles.append(
        {
            "label": "dropout",
            "value": dropout["value"],
            "detail": dropout["detail"],
            "tone": worst(_with_evidence(report, "dropout_layers", "cause"))
            or ("ok" if dropout["count"] else "neutral"),
        }
    )
    optimizer = model.optimizer
    if isinstance(optimizer, Unknown):
        value, detail = "unknown", optimizer.reason
    else:
        value = value_text(optimizer.weight_decay)
        detail = " ".join(str(x) for x in (optimizer.kind, optimizer.source) if x)
    tiles.append(
        {
            "label": "weight decay",
            "value": value,
            "detail": detail,
            "tone": worst(_with_evidence(report, "weight_decay", "cause"))
            or ("neutral" if value == "unknown" else "ok"),
        }
    )
    return tiles


def _dropout_summary(model: ModelFacts) -> dict[str, Any]:
    rates = [layer.dropout_rate for layer in model.layers if layer.dropout_rate is not None]
    if isinstance(model.dropout_visible, Unknown):
        return {"count": len(rates), "value": "unknown", "detail": model.dropout_visible.reason}
    if not rates:
        return {"count": 0, "value": "none", "detail": f"in {len(model.layers)} layers"}
    numbers = sorted(r for r in (number(rate) for rate in rates) if r is not None)
    span = (
        f"p {value_text(numbers[0])}"
        if numbers and numbers[0] == numbers[-1]
        else (f"p {value_text(numbers[0])}–{value_text(numbers[-1])}" if numbers else "")
    )
    return {"count": len(rates), "value": _plural(len(rates), "layer"), "detail": span}


# -- the model -------------------------------------------------------------------------------


def _layer_rows(model: ModelFacts, total: int) -> tuple[list[dict[str, Any]], Any]:
    ordered = sorted(enumerate(model.layers), key=lambda pair: (-pair[1].params, pair[0]))
    rows = []
    for _, layer in ordered[:MAX_LAYER_ROWS]:
        share = 100 * layer.params / total if total else 0.0
        rows.append(
            {
                "name": layer.name,
                "kind": layer.kind,
                "params": value_text(layer.params),
                "frozen": (
                    value_text(layer.params - layer.trainable_params)
                    if layer.trainable_params < layer.params
                    else ""
                ),
                "share": "" if not layer.params else (f"{share:.1f}%" if share >= 0.1 else "<0.1%"),
                "bar": round(min(max(share, 0.0), 100.0), 1),
                "dropout": value_text(layer.dropout_rate) if layer.dropout_rate is not None else "",
                "regularizers": ", ".join(str(r) for r in layer.regularizers),
            }
        )
    rest = [layer for _, layer in ordered[MAX_LAYER_ROWS:]]
    rest_params = sum(layer.params for layer in rest)
    summary = (
        {
            "count": len(rest),
            "params": value_text(rest_params),
            "share": f"{100 * rest_params / total:.1f}%" if total else "",
        }
        if rest
        else None
    )
    return rows, summary


def _model_view(model: ModelFacts, report: Report) -> dict[str, Any]:
    total = model.total_params
    rows, rest = _layer_rows(model, total)
    provenance = model.provenance
    producer = " ".join(x for x in (provenance.producer, provenance.producer_version) if x)
    facts: list[tuple[str, str]] = [
        ("file", model.source),
        ("framework", f"{model.framework} ({model.format} file)"),
        ("produced by", producer or "unknown"),
    ]
    facts += _scalars(provenance.details)
    facts.append(
        (
            "parameters",
            f"{value_text(total)} total, {value_text(model.trainable_params)} trainable",
        )
    )
    if model.input_shapes:
        facts.append(
            (
                "inputs",
                "; ".join(
                    f"{name} [{', '.join(str(d) for d in dims)}]"
                    for name, dims in model.input_shapes.items()
                ),
            )
        )
    optimizer = model.optimizer
    if isinstance(optimizer, Unknown):
        facts.append(("optimizer", f"unknown: {optimizer.reason}"))
    else:
        facts.append(("optimizer", "; ".join(f"{k} {v}" for k, v in _scalars(optimizer.to_dict()))))
    dropout = _dropout_summary(model)
    named = [
        f"{layer.name} (p {value_text(layer.dropout_rate)})"
        for layer in model.layers
        if layer.dropout_rate is not None
    ]
    facts.append(
        (
            "dropout",
            f"{dropout['value']}: {', '.join(named[:12])}{' …' if len(named) > 12 else ''}"
            if named
            else f"{dropout['value']} {dropout['detail']}".strip(),
        )
    )
    regularized = model.regularized_layers
    if regularized:
        facts.append(("regularized layers", f"{len(regularized)} of {len(model.layers)}"))
    return {
        "facts": facts,
        "remedies": [
            part.remedy
            for part in (optimizer, model.dropout_visible)
            if isinstance(part, Unknown) and part.remedy
        ],
        "notes": list(model.notes),
        "ratio": _ratio_view(report),
        "layers": rows,
        "layer_count": len(model.layers),
        "rest": rest,
        "total_params": value_text(total),
    }


def _ratio_rule(report: Report) -> tuple[str, Mapping[str, Any]]:
    """The rule that judges parameters per sample (by its thresholds' names) and them."""
    for code, limits in report.rules.thresholds.items():
        if all(name in limits for name in RATIO_THRESHOLDS):
            return code, limits
    return "", {}


def _ratio_view(report: Report) -> dict[str, Any]:
    """The parameter-to-sample ratio on a log scale, next to the thresholds in force."""
    rule, limits = _ratio_rule(report)
    marks = [
        (label, value)
        for label, value in (
            ("notes at", number(limits.get("info_ratio"))),
            ("warns at", number(limits.get("warn_ratio"))),
        )
        if value is not None and value > 0
    ]
    ratio, tone = _ratio(report)
    samples = number(report.run.samples)
    if ratio is None or not samples or report.model is None:
        return {"known": False, "marks": marks, "rule": rule}
    low, high = -3.0, 4.0  # 0.001 .. 10,000 parameters per sample

    def pos(value: float) -> float:
        return round(min(max((math.log10(max(value, 1e-12)) - low) / (high - low), 0), 1) * 100, 1)

    # zones between the thresholds: quiet below the first, info between, warning above
    edges = [0.0, *(pos(value) for _, value in marks), 100.0]
    bounds = [value_text(value) for _, value in marks]
    if bounds:
        names = [f"< {bounds[0]}", *(f"{a}–{b}" for a, b in pairwise(bounds)), f"≥ {bounds[-1]}"]
    else:
        names = [""]
    tones = ("ok", "info", "warning")[-len(names) :] if len(names) > 1 else ("neutral",)
    if len(names) == 2:
        tones = ("ok", "warning")
    zones = [
        {"start": a, "width": round(b - a, 1), "tone": zone_tone, "label": name}
        for (a, b), zone_tone, name in zip(pairwise(edges), tones, names, strict=False)
    ]
    return {
        "zones": zones,
        "known": True,
        "rule": rule,
        "ratio": value_text(round(ratio, 2 if ratio < 10 else 1)),
        "samples": value_text(int(samples)),
        "trainable": value_text(report.model.trainable_params),
        "position": pos(ratio),
        "marks": [(label, value_text(value), pos(value)) for label, value in marks],
        "tone": tone,
    }


# -- rules and the run -----------------------------------------------------------------------


def _rule_view(rule: dict[str, Any], in_force: Any) -> dict[str, Any]:
    in_force = in_force if isinstance(in_force, Mapping) else {}
    return {
        "code": rule["code"],
        "name": rule["name"],
        "title": rule["title"],
        "severity": rule["severity"],
        "confidence": rule["confidence"],
        "role": rule["role"],
        "needs": ", ".join(rule["needs"]) or "nothing",
        "summary": paragraphs(rule["summary"], links=True),
        "rationale": paragraphs(rule["rationale"], links=True),
        "fix": paragraphs(rule["fix"], links=True),
        "thresholds": [
            {
                "name": name,
                "value": value_text(in_force.get(name, spec["default"])),
                "default": value_text(spec["default"]),
                "changed": name in in_force and in_force[name] != spec["default"],
                "doc": rich(spec["doc"]),
            }
            for name, spec in rule["thresholds"].items()
        ],
        "examples": rule["examples"],
        "references": [rich(ref, links=True) for ref in rule["references"]],
    }


def _run_view(report: Report, catalogue: Mapping[str, RuleSpec]) -> dict[str, Any]:
    run = report.run.to_dict()  # what the saved JSON keeps (seconds rounded), nothing more
    rows = [
        ("tool", f"overfitlint {report.tool_version}"),
        ("report schema", value_text(SCHEMA_VERSION)),
        ("started", run["started_at"] or "—"),
        ("time taken", value_text(run["seconds"], "s")),
        ("fail-on", run["fail_on"] or "—"),
        ("training samples", value_text(run["samples"]) if run["samples"] else "not given"),
    ]
    probe = report.run.probe
    rows.append(("probe", str(probe.get("status") or "not run")))
    rows += [(f"probe {k}", v) for k, v in _scalars(probe, ("status",))]
    rows += _scalars(run, ("started_at", "seconds", "fail_on", "samples", "probe"))
    parts = probe.get("probes")
    probe_parts = [
        _probe_part(str(name), part)
        for name, part in (parts.items() if isinstance(parts, Mapping) else ())
        if isinstance(part, Mapping)
    ]
    thresholds = []
    for code, values in sorted(report.rules.thresholds.items()):
        spec = catalogue.get(code)
        for name, value in values.items():
            known = spec is not None and name in spec.thresholds
            default = spec.thresholds[name].default if known else None
            thresholds.append(
                {
                    "code": code,
                    "name": str(name),
                    "value": value_text(value),
                    "default": value_text(default),
                    "changed": default is not None and value != default,
                    "doc": rich(spec.thresholds[name].doc) if known else [],
                }
            )
    return {
        "rows": rows,
        "probe_parts": probe_parts,
        "ran": list(report.rules.ran),
        "crashed": list(report.rules.crashed),
        "skipped": list(report.rules.skipped.items()),
        "thresholds": thresholds,
        "inputs": [
            {
                "path": i.path,
                "kind": i.kind,
                "bytes": value_text(i.bytes, "bytes"),
                "sha256": i.sha256 or "",
            }
            for i in report.inputs
        ],
    }
