"""``python -m overfitlint.data PATH... [--label COL] [--split-column COL] [--json]``

Reads and measures one data set and prints its facts and the findings of the 5xx rules.
Exit 0: nothing at warning or above; 1: a finding at warning or above; 2: bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from overfitlint.data.budget import DataBudget
from overfitlint.data.facts import DataFacts
from overfitlint.data.load import load_data
from overfitlint.data.measurements import measure
from overfitlint.data.rules import data_findings
from overfitlint.errors import InputError
from overfitlint.findings import Finding
from overfitlint.severity import severity_rank


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m overfitlint.data",
        description="Check a data set for leakage, duplicates, imbalance, scale, quality, "
        "shift and label noise (rules OFL501-OFL507).",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="one data set, or two tables / class folders (train, val)",
    )
    parser.add_argument("--label", help="the label column (default: label, target, class, y)")
    parser.add_argument("--split-column", help="the column naming each row's split")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--no-noise",
        action="store_true",
        help="skip the label-noise fit (scikit-learn, a few seconds)",
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=DataBudget.max_rows,
        help="rows (or images) measured per split; a sample above that",
    )
    return parser


def _text(facts: DataFacts, findings: list[Finding]) -> str:
    lines = [f"data   {facts.source}  {facts.format} ({facts.kind}, {facts.task})"]
    for split in facts.splits.values():
        sampled = f" (of {split.source_rows:,})" if split.source_rows != split.rows else ""
        lines.append(f"  {split.name:5s}  {split.rows:,} examples{sampled}  {split.source}")
    lines.append(f"  features  {len(facts.features):,}; classes {len(facts.classes):,}")
    lines.extend(f"  note: {note}" for note in facts.notes)
    for finding in findings:
        lines.append(
            f"{finding.location.short() or '-'}: {finding.code} [{finding.severity}, "
            f"{finding.confidence} confidence] {finding.message}"
        )
    if not findings:
        lines.append("no data findings")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    budget = DataBudget(max_rows=args.max_rows)
    try:
        facts = load_data(
            args.paths, label=args.label, split_column=args.split_column, budget=budget
        )
        facts = measure(facts, model=None, noise=not args.no_noise)
    except InputError as exc:
        print(f"overfitlint: error: {exc}", file=sys.stderr)
        return 2
    findings = data_findings(facts)
    if args.json:
        document = {"data": facts.to_dict(), "findings": [f.to_dict() for f in findings]}
        print(json.dumps(document, indent=2, default=str))
    else:
        print(_text(facts, findings))
    worst = max((severity_rank(f.severity) for f in findings), default=-1)
    return 1 if worst >= severity_rank("warning") else 0


if __name__ == "__main__":
    sys.exit(main())
