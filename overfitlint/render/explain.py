"""``overfitlint explain CODE``: a rule's own documentation, from its catalogue file."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from overfitlint.catalogue import RuleSpec


def _paragraph(text: str) -> str:
    return "\n\n".join(
        textwrap.fill(" ".join(block.split()), width=88) for block in text.split("\n\n")
    )


NEED_TEXT = {
    "graph": "the model file (its layers, parameters and dropout)",
    "optimizer": "the optimizer it was trained with (a checkpoint or compiled Keras model "
    "records it; else --weight-decay VALUE)",
    "logs": "training logs with a validation metric (CSV, JSON, TensorBoard)",
    "samples": "the number of training samples (--samples N, or a log that implies it)",
    "probe": "a short run of the model itself (the probe)",
    "weights": "the weight spectra of the model file's layers (--spectral)",
    "data": "the data set itself (--data: .npz, CSV/Parquet, an image folder, a datasets folder)",
    "runs": "the runs of a sweep (an MLflow, W&B, Optuna or Ray Tune store)",
}
SNIPPET_TITLES = {"pytorch": "PyTorch", "keras": "Keras"}


def render_explanation(spec: RuleSpec) -> str:
    needs = (
        "\n".join(f"- {need}: {NEED_TEXT.get(need, need)}" for need in spec.needs)
        or "- nothing: the engine raises it itself"
    )
    fix = "## Fix\n" + _paragraph(spec.fix)
    for framework, snippet in spec.fix_snippets.items():
        fix += f"\n\n### {SNIPPET_TITLES.get(framework, framework)}\n" + textwrap.indent(
            snippet, "    "
        )
    parts = [
        f"{spec.code} {spec.name}: {spec.title}",
        f"Severity {spec.severity}, confidence {spec.confidence}, role {spec.role}; "
        f"needs: {', '.join(spec.needs) or 'nothing'}.",
        "## What it does\n" + _paragraph(spec.summary),
        "## Why is this bad?\n" + _paragraph(spec.rationale),
        "## Evidence it needs\n" + needs,
        fix,
    ]
    if spec.thresholds:
        rows = [f"  {t.name} = {t.default!r}\n      {t.doc}" for t in spec.thresholds.values()]
        parts.append("## Thresholds (override per rule in config)\n" + "\n".join(rows))
    if spec.bad_example:
        parts.append("## Example\n" + textwrap.indent(spec.bad_example, "    "))
    if spec.good_example:
        parts.append("## Use instead\n" + textwrap.indent(spec.good_example, "    "))
    if spec.references:
        parts.append("## References\n" + "\n".join(f"- {ref}" for ref in spec.references))
    return "\n\n".join(parts) + "\n"


def rule_table(specs: Iterable[RuleSpec]) -> str:
    """The README's rule table (Markdown), one row per rule."""
    rows = [
        "| code | name | default severity | needs | what it flags |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| {s.code} | `{s.name}` | {s.severity} | {', '.join(s.needs) or '-'} | {s.title} |"
        for s in specs
    ]
    return "\n".join(rows) + "\n"
