"""The HTML report: one self-contained file (inline CSS and SVG, no scripts, no network).

It reads the report document alone (the dict that ``--format json`` prints), so a
saved JSON result renders exactly as the live run would have (``overfitlint
report``). This module only *prepares* the data (ordering, number formatting,
chart geometry); every piece of markup lives in ``templates/`` and Jinja2
escapes every string, because every string from a model or a log is hostile.
"""

from __future__ import annotations

import math
import re
from functools import cache
from itertools import pairwise
from pathlib import PurePath
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from overfitlint.catalogue import load_catalogue
from overfitlint.render.charts import Run, charts_for, logs_of, runs_of

SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}
CONFIDENCE_RANK = {"high": 2, "medium": 1, "low": 0}
ROLE_RANK = {"symptom": 0, "cause": 1, "notice": 2}
PROBE_STATUSES = ("confirmed", "refuted", "inconclusive")
MAX_LAYER_ROWS = 150
"""Layers listed one per row; smaller ones are summed up in one row (keeps the file small)."""
URL = re.compile(r"https?://[^\s<>\"'`]+")
CODE = re.compile(r"`([^`\n]+)`")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("overfitlint", "render/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = value_text
    return env


def render_html(report: dict[str, Any]) -> str:
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
    elif isinstance(value, dict):
        text = ", ".join(f"{k} {value_text(v)}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _scalar_items(data: dict[str, Any], skip: tuple[str, ...]) -> list[tuple[str, str]]:
    """Every non-empty value of a dict, nested ones flattened into text."""
    return [
        (label_text(key), value_text(value))
        for key, value in data.items()
        if key not in skip and value not in (None, "", [], {})
    ]


# -- the view --------------------------------------------------------------------------------


def build_view(report: dict[str, Any]) -> dict[str, Any]:
    """What the templates show: one run, or several models (``runs``) with one verdict."""
    catalogue = load_catalogue()
    runs = [r for r in _list(report.get("runs")) if isinstance(r, dict)]
    if not runs:
        view = build_run_view(report, catalogue)
        view["multi"] = False
        view["rules"] = _rules_view([view], [report], catalogue)
        return view
    views = [build_run_view(r, catalogue, prefix=f"m{i + 1}-") for i, r in enumerate(runs)]
    findings = [f for v in views for f in v["findings"]]
    tool = _dict(report.get("tool"))
    verdict = _verdict(report, findings)
    failing = sum(1 for v in views if v["verdict"]["state"] == "fail")
    fail_on = str(_dict(report.get("run")).get("fail_on") or "warning")
    verdict["detail"] = f"{failing} of {len(views)} models fail at --fail-on {fail_on}"
    return {
        "multi": True,
        "title": f"{len(views)} models",
        "inputs": [i for i in _list(report.get("inputs")) if isinstance(i, dict)],
        "verdict": verdict,
        "runs": views,
        "rules": _rules_view(views, runs, catalogue),
        "tool": f"{tool.get('name', 'overfitlint')} {tool.get('version', '?')}",
    }


def build_run_view(
    report: dict[str, Any], catalogue: dict[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """The view of one check (one model and its logs); ``prefix`` keeps element ids unique."""
    findings = [
        _finding_view(f, i, catalogue, prefix)
        for i, f in enumerate(_list(report.get("findings")))
        if isinstance(f, dict)
    ]
    anchors: dict[str, str] = {}
    for f in findings:
        anchors.setdefault(f["code"], f["anchor"])
    for f in findings:
        f["corroborated"] = [{"code": c, "anchor": anchors.get(c)} for c in f["corroborated_by"]]
    inputs = [i for i in _list(report.get("inputs")) if isinstance(i, dict)]
    model = report.get("model") if isinstance(report.get("model"), dict) else None
    runs = runs_of(report)
    charts = charts_for(report, runs)
    for figure in charts:
        figure.id = prefix + figure.id
        for chart in figure.views:
            chart.id = prefix + chart.id
    run = _dict(report.get("run"))
    tool = _dict(report.get("tool"))
    return {
        "prefix": prefix,
        "name": str(run.get("name") or _title(model, inputs)),
        "title": _title(model, inputs),
        "inputs": inputs,
        "verdict": _verdict(report, findings),
        "glance": _glance(report, findings, model, runs),
        "runs": runs,
        "charts": charts,
        "log_notes": [
            (str(log.get("source", "")), str(note))
            for log in logs_of(report)
            for note in _list(log.get("notes"))
        ],
        "logs_given": bool(logs_of(report)),
        "findings": findings,
        "model": _model_view(model, report, findings) if model else None,
        "run": _run_view(report, catalogue),
        "tool": f"{tool.get('name', 'overfitlint')} {tool.get('version', '?')}",
    }


def _rules_view(
    views: list[dict[str, Any]], reports: list[dict[str, Any]], catalogue: dict[str, Any]
) -> list[dict[str, Any]]:
    """The catalogue entries of the rules that found something, with the thresholds in force
    (those of the first run that found it)."""
    in_force: dict[str, Any] = {}
    for view, report in zip(views, reports, strict=True):
        thresholds = _dict(_dict(report.get("rules")).get("thresholds"))
        for f in view["findings"]:
            in_force.setdefault(f["code"], thresholds.get(f["code"]))
    return [
        _rule_view(catalogue[code].to_dict(), in_force[code])
        for code in sorted(in_force)
        if code in catalogue
    ]


def _title(model: dict[str, Any] | None, inputs: list[dict[str, Any]]) -> str:
    if model and model.get("source"):
        return PurePath(str(model["source"])).name
    if inputs:
        return PurePath(str(inputs[0].get("path", ""))).name
    return "report"


def _finding_view(f: dict[str, Any], index: int, catalogue: dict, prefix: str) -> dict[str, Any]:
    code = str(f.get("code", "?"))
    spec = catalogue.get(code)
    location = _dict(f.get("location"))
    where = str(location.get("file") or "")
    if where and location.get("line"):
        where += f":{location['line']}"
    extra = []
    if location.get("layer"):
        extra.append(f"layer {location['layer']}")
    if location.get("epoch") is not None:
        extra.append(f"epoch {value_text(location['epoch'])}")
    evidence = [
        {
            "label": label_text(e.get("name", "")),
            "value": value_text(e.get("value"), str(e.get("unit") or "")),
        }
        for e in _list(f.get("evidence"))
        if isinstance(e, dict)
    ]
    fingerprint = re.sub(r"[^A-Za-z0-9_-]", "", str(f.get("fingerprint") or ""))[:32]
    return {
        "anchor": f"{prefix}finding-{index + 1}-{code}-{fingerprint}".rstrip("-"),
        "index": index,
        "code": code,
        "name": str(f.get("name") or (spec.name if spec else "")),
        "title": spec.title if spec else "",
        "role": spec.role if spec else "",
        "known_rule": spec is not None,
        "severity": str(f.get("severity", "info")),
        "confidence": str(f.get("confidence", "")),
        "message": str(f.get("message", "")),
        "sentence": str(f.get("message", "")).rstrip(". "),
        "where": where,
        "where_extra": extra,
        "evidence": evidence,
        "fix": paragraphs(f.get("fix")),
        # a model rule's example is the change to make; a curve rule's is a log (see its rule)
        "example": (
            {"bad": spec.bad_example, "good": spec.good_example}
            if spec and spec.bad_example and spec.good_example and "logs" not in spec.needs
            else None
        ),
        "corroborated_by": [str(c) for c in _list(f.get("corroborated_by"))],
        "probe": _probe_view(f.get("probe")),
    }


def _scalars(data: dict[str, Any], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The plain values of a dict (nested dicts and lists are left to their own views)."""
    return [
        (label_text(key), value_text(value))
        for key, value in data.items()
        if key not in skip
        and value not in (None, "", [], {})
        and not isinstance(value, (dict, list))
    ]


def _probe_part(name: str, part: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": label_text(name),
        "status": str(part.get("status") or ""),
        "note": str(part.get("note") or part.get("reason") or ""),
        "facts": _scalars(part, ("probe", "status", "note", "reason")),
        "metrics": _scalars(_dict(part.get("metrics"))),
    }


def _probe_view(probe: Any) -> dict[str, Any] | None:
    """A finding's probe verdict: status, device, time, seed, what it measured, and why."""
    if probe is None or probe == {}:
        return None
    if not isinstance(probe, dict):
        probe = {"status": value_text(probe)}
    facts = []
    if probe.get("device"):
        facts.append(f"on {probe['device']}")
    if _number(probe.get("seconds")) is not None:
        facts.append(f"{value_text(round(float(probe['seconds']), 2))} s")
    if probe.get("seed") is not None:
        facts.append(f"seed {value_text(probe['seed'])}")
    before = [
        f"{label_text(key[: -len('_from')])} before the probe: {value_text(value)}"
        for key, value in probe.items()
        if key.endswith("_from") and value not in (None, "")
    ]
    parts = [p for p in _list(probe.get("probes")) if isinstance(p, dict)]
    known = ("status", "metrics", "device", "seconds", "seed", "note", "reason", "probes")
    return {
        "status": str(probe.get("status") or "unknown"),
        "facts": facts,
        "note": str(probe.get("note") or probe.get("reason") or ""),
        "metrics": _scalars(_dict(probe.get("metrics"))),
        "before": before,
        "extra": [
            (k, v)
            for k, v in _scalars(probe, known)
            if not k.endswith(" from")  # shown in ``before``
        ],
        "parts": [_probe_part(str(p.get("probe", i + 1)), p) for i, p in enumerate(parts)]
        if len(parts) > 1
        else [],
    }


def _lead(findings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The finding a reviewer should read first: the most severe; among equals a symptom
    (the curve says it overfits) before a cause, a probe-confirmed one, then the surest."""
    if not findings:
        return None

    def rank(f: dict[str, Any]) -> tuple:
        probe = f["probe"] or {}
        return (
            -SEVERITY_RANK.get(f["severity"], -1),
            ROLE_RANK.get(f["role"], 3),
            0 if probe.get("status") == "confirmed" else 1,
            -CONFIDENCE_RANK.get(f["confidence"], -1),
            f["index"],
        )

    return min(findings, key=rank)


def _verdict(report: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    summary = _dict(report.get("summary"))
    run = _dict(report.get("run"))
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITY_RANK}
    for severity in counts:
        if isinstance(summary.get(severity), int):
            counts[severity] = summary[severity]
    total = summary.get("total", len(findings))
    failed = bool(summary.get("failed"))
    fail_on = str(run.get("fail_on") or "warning")
    if failed:
        state, headline = "fail", "Fails: overfitting found"
        at_or_above = [
            s for s in SEVERITY_RANK if SEVERITY_RANK[s] >= SEVERITY_RANK.get(fail_on, 0)
        ]
        gate = sum(counts[s] for s in at_or_above)
        detail = f"{gate} finding{'s' if gate != 1 else ''} at or above --fail-on {fail_on}"
    elif total:
        state, headline = "notes", "Passes, with notes"
        detail = f"nothing at or above --fail-on {fail_on}"
    else:
        state, headline = "pass", "Passes: no sign of overfitting found"
        detail = "no rule found anything"
    lead = _lead(findings)
    baseline = _dict(report.get("baseline"))
    return {
        "baseline": {
            "path": str(baseline.get("path", "")),
            "suppressed": value_text(baseline.get("suppressed", 0)),
            "new": value_text(baseline.get("new", 0)),
            "gone": [
                str(g.get("code", "")) if isinstance(g, dict) else str(g)
                for g in _list(baseline.get("gone"))
            ],
        }
        if baseline
        else None,
        "state": state,
        "headline": headline,
        "detail": detail,
        "counts": list(counts.items()),
        "lead": lead,
        "probe": _probe_summary(run, findings),
    }


def _probe_summary(run: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    probe = _dict(run.get("probe"))
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
    seconds = _number(probe.get("seconds"))
    budget = _number(probe.get("budget"))
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


def _finite_points(series: dict[str, Any]) -> list[tuple[float, float]]:
    points = []
    for epoch, value in zip(_list(series.get("epochs")), _list(series.get("values")), strict=False):
        x, y = _number(epoch), _number(value)
        if x is not None and y is not None:
            points.append((x, y))
    return points


def _glance(
    report: dict[str, Any],
    findings: list[dict[str, Any]],
    model: dict[str, Any] | None,
    runs: list[Run],
) -> list[dict[str, Any]]:
    """A few numbers that answer "how badly?" before the details, each toned by its rule."""
    worst: dict[str, str] = {}
    for f in findings:
        if SEVERITY_RANK.get(f["severity"], -1) > SEVERITY_RANK.get(worst.get(f["code"], ""), -1):
            worst[f["code"]] = f["severity"]
    tiles = []
    logs = logs_of(report)
    for run in sorted(runs, key=lambda r: not r.from_finding):
        log = _dict(logs[run.index])
        name = _dict(log.get("loss")).get("val")
        points = _finite_points(_dict(_dict(log.get("series")).get(str(name))))
        if run.best_epoch is None or not points:
            continue
        at_best = [y for x, y in points if x == run.best_epoch]
        last = points[-1]
        past = sum(1 for x, _ in points if x > run.best_epoch)
        tone = worst.get("OFL301", "ok") if run.from_finding else "ok"
        of_runs = f" in {run.label}" if len(runs) > 1 else ""
        tiles.append(
            {
                "label": "best epoch",
                "value": value_text(run.best_epoch),
                "detail": f"of {value_text(last[0])}{of_runs}; {past} logged epoch"
                f"{'s' if past != 1 else ''} after it",
                "tone": tone,
            }
        )
        evidence = run.evidence
        if _number(evidence.get("rise")) is not None:  # OFL301 measured it (smoothed)
            rise = float(evidence["rise"])
            low, high = evidence.get("best_value"), evidence.get("final_value")
        elif at_best and at_best[0] != 0:
            rise = (last[1] / at_best[0] - 1) * 100
            low, high = at_best[0], last[1]
        else:
            break
        tiles.append(
            {
                "label": f"{name}: end vs best",
                "value": f"{rise:+.1f}%",
                "detail": f"{value_text(low)} → {value_text(high)}",
                "tone": tone,
            }
        )
        break  # the first run with a validation curve; the charts show the others
    samples = _number(_dict(report.get("run")).get("samples"))
    if model:
        trainable = _number(model.get("trainable_params"))
        if trainable is not None and samples:
            tiles.append(
                {
                    "label": "parameters per sample",
                    "value": value_text(round(trainable / samples, 1)),
                    "detail": f"{value_text(int(trainable))} trainable, "
                    f"{value_text(int(samples))} samples",
                    "tone": worst.get("OFL101", "ok"),
                }
            )
        dropout = _dropout_summary(model)
        tiles.append(
            {
                "label": "dropout",
                "value": dropout["value"],
                "detail": dropout["detail"],
                "tone": worst.get("OFL201", "ok" if dropout["count"] else "neutral"),
            }
        )
        optimizer = _dict(model.get("optimizer"))
        if optimizer.get("unknown"):
            value, detail = "unknown", str(optimizer.get("reason") or "")
        else:
            value = value_text(optimizer.get("weight_decay"))
            detail = " ".join(str(x) for x in (optimizer.get("kind"), optimizer.get("source")) if x)
        tiles.append(
            {
                "label": "weight decay",
                "value": value,
                "detail": detail,
                "tone": worst.get("OFL211", "neutral" if value == "unknown" else "ok"),
            }
        )
    return tiles


def _dropout_summary(model: dict[str, Any]) -> dict[str, Any]:
    layers = [x for x in _list(model.get("layers")) if isinstance(x, dict)]
    rates = [x.get("dropout_rate") for x in layers if x.get("dropout_rate") is not None]
    visible = model.get("dropout_visible")
    if isinstance(visible, dict) and visible.get("unknown"):
        return {"count": len(rates), "value": "unknown", "detail": str(visible.get("reason", ""))}
    if not rates:
        return {"count": 0, "value": "none", "detail": f"in {len(layers)} layers"}
    numbers = sorted(r for r in rates if _number(r) is not None)
    span = (
        f"p {value_text(numbers[0])}"
        if numbers and numbers[0] == numbers[-1]
        else (f"p {value_text(numbers[0])}–{value_text(numbers[-1])}" if numbers else "")
    )
    return {
        "count": len(rates),
        "value": f"{len(rates)} layer{'s' if len(rates) != 1 else ''}",
        "detail": span,
    }


def _model_view(
    model: dict[str, Any], report: dict[str, Any], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    layers = [x for x in _list(model.get("layers")) if isinstance(x, dict)]
    total = _number(model.get("total_params")) or float(
        sum(_number(x.get("params")) or 0 for x in layers)
    )
    trainable = _number(model.get("trainable_params"))
    ordered = sorted(
        enumerate(layers), key=lambda pair: (-(_number(pair[1].get("params")) or 0), pair[0])
    )
    rows = []
    for _, layer in ordered[:MAX_LAYER_ROWS]:
        params = _number(layer.get("params")) or 0
        share = 100 * params / total if total else 0.0
        layer_trainable = _number(layer.get("trainable_params"))
        rows.append(
            {
                "name": str(layer.get("name", "")),
                "kind": str(layer.get("kind", "")),
                "params": value_text(int(params)),
                "frozen": (
                    value_text(int(params - layer_trainable))
                    if layer_trainable is not None and layer_trainable < params
                    else ""
                ),
                "share": "" if not params else (f"{share:.1f}%" if share >= 0.1 else "<0.1%"),
                "bar": round(min(max(share, 0.0), 100.0), 1),
                "dropout": value_text(layer["dropout_rate"])
                if layer.get("dropout_rate") is not None
                else "",
                "regularizers": ", ".join(str(r) for r in _list(layer.get("regularizers"))),
            }
        )
    rest = ordered[MAX_LAYER_ROWS:]
    rest_params = sum(_number(x.get("params")) or 0 for _, x in rest)
    provenance = _dict(model.get("provenance"))
    producer = " ".join(
        str(x) for x in (provenance.get("producer"), provenance.get("producer_version")) if x
    )
    facts: list[tuple[str, str]] = [
        ("file", str(model.get("source", ""))),
        ("framework", f"{model.get('framework', '?')} ({model.get('format', '?')} file)"),
        ("produced by", producer or "unknown"),
    ]
    facts += _scalar_items(provenance, ("producer", "producer_version"))
    facts.append(
        (
            "parameters",
            f"{value_text(model.get('total_params'))} total, "
            f"{value_text(model.get('trainable_params'))} trainable",
        )
    )
    shapes = _dict(model.get("input_shapes"))
    if shapes:
        facts.append(
            (
                "inputs",
                "; ".join(
                    f"{name} [{', '.join(str(d) for d in _list(dims))}]"
                    for name, dims in shapes.items()
                ),
            )
        )
    optimizer = _dict(model.get("optimizer"))
    if optimizer.get("unknown"):
        facts.append(("optimizer", f"unknown: {optimizer.get('reason', '')}"))
    elif optimizer:
        facts.append(
            (
                "optimizer",
                "; ".join(f"{k} {v}" for k, v in _scalars(optimizer)),
            )
        )
    dropout = _dropout_summary(model)
    named = [
        f"{x.get('name')} (p {value_text(x.get('dropout_rate'))})"
        for x in layers
        if x.get("dropout_rate") is not None
    ]
    facts.append(
        (
            "dropout",
            f"{dropout['value']}: {', '.join(named[:12])}{' …' if len(named) > 12 else ''}"
            if named
            else f"{dropout['value']} {dropout['detail']}".strip(),
        )
    )
    regularized = [x for x in layers if _list(x.get("regularizers"))]
    if regularized:
        facts.append(("regularized layers", f"{len(regularized)} of {len(layers)}"))
    return {
        "facts": facts,
        "remedies": [
            str(part.get("remedy"))
            for part in (optimizer, model.get("dropout_visible"))
            if isinstance(part, dict) and part.get("unknown") and part.get("remedy")
        ],
        "notes": [str(n) for n in _list(model.get("notes"))],
        "ratio": _ratio_view(report, trainable, findings),
        "layers": rows,
        "layer_count": len(layers),
        "rest": {
            "count": len(rest),
            "params": value_text(int(rest_params)),
            "share": f"{100 * rest_params / total:.1f}%" if total else "",
        }
        if rest
        else None,
        "total_params": value_text(model.get("total_params")),
    }


def _ratio_view(
    report: dict[str, Any], trainable: float | None, findings: list[dict[str, Any]]
) -> dict[str, Any]:
    """The parameter-to-sample ratio on a log scale, next to OFL101's thresholds in force."""
    samples = _number(_dict(report.get("run")).get("samples"))
    limits = _dict(_dict(_dict(report.get("rules")).get("thresholds")).get("OFL101"))
    marks = [
        (label, value)
        for label, value in (
            ("notes at", _number(limits.get("info_ratio"))),
            ("warns at", _number(limits.get("warn_ratio"))),
        )
        if value is not None and value > 0
    ]
    if trainable is None or not samples:
        return {"known": False, "marks": marks}
    ratio = trainable / samples
    low, high = -3.0, 4.0  # 0.001 .. 10,000 parameters per sample

    def pos(value: float) -> float:
        return round(min(max((math.log10(max(value, 1e-12)) - low) / (high - low), 0), 1) * 100, 1)

    severity = next((f["severity"] for f in findings if f["code"] == "OFL101"), "ok")
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
        {"start": a, "width": round(b - a, 1), "tone": tone, "label": name}
        for (a, b), tone, name in zip(pairwise(edges), tones, names, strict=False)
    ]
    return {
        "zones": zones,
        "known": True,
        "ratio": value_text(round(ratio, 2 if ratio < 10 else 1)),
        "samples": value_text(int(samples)),
        "trainable": value_text(int(trainable)),
        "position": pos(ratio),
        "marks": [(label, value_text(value), pos(value)) for label, value in marks],
        "tone": severity,
    }


def _rule_view(rule: dict[str, Any], in_force: Any) -> dict[str, Any]:
    in_force = _dict(in_force)
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


def _run_view(report: dict[str, Any], catalogue: dict) -> dict[str, Any]:
    run = _dict(report.get("run"))
    tool = _dict(report.get("tool"))
    rules = _dict(report.get("rules"))
    rows = [
        ("tool", f"{tool.get('name', 'overfitlint')} {tool.get('version', '?')}"),
        ("report schema", value_text(report.get("schema_version"))),
        ("started", str(run.get("started_at") or "—")),
        ("time taken", value_text(run.get("seconds"), "s")),
        ("fail-on", str(run.get("fail_on") or "—")),
        ("training samples", value_text(run.get("samples")) if run.get("samples") else "not given"),
    ]
    probe = _dict(run.get("probe"))
    rows.append(("probe", str(probe.get("status") or "not run")))
    rows += [(f"probe {k}", v) for k, v in _scalars(probe, ("status",))]
    rows += _scalars(run, ("started_at", "seconds", "fail_on", "samples", "probe"))
    probe_parts = [
        _probe_part(str(name), part)
        for name, part in _dict(probe.get("probes")).items()
        if isinstance(part, dict)
    ]
    thresholds = []
    for code, values in sorted(_dict(rules.get("thresholds")).items()):
        spec = catalogue.get(code)
        for name, value in _dict(values).items():
            default = spec.thresholds[name].default if spec and name in spec.thresholds else None
            thresholds.append(
                {
                    "code": code,
                    "name": str(name),
                    "value": value_text(value),
                    "default": value_text(default),
                    "changed": default is not None and value != default,
                    "doc": rich(spec.thresholds[name].doc)
                    if spec and name in spec.thresholds
                    else [],
                }
            )
    return {
        "rows": rows,
        "probe_parts": probe_parts,
        "ran": [str(c) for c in _list(rules.get("ran"))],
        "skipped": [(str(c), str(w)) for c, w in _dict(rules.get("skipped")).items()],
        "thresholds": thresholds,
        "inputs": [
            {
                "path": str(i.get("path", "")),
                "kind": str(i.get("kind", "")),
                "bytes": value_text(i.get("bytes"), "bytes"),
                "sha256": str(i.get("sha256") or ""),
            }
            for i in _list(report.get("inputs"))
            if isinstance(i, dict)
        ],
    }
