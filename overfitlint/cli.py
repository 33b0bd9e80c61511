"""Command line: ``overfitlint check``, ``rules`` and ``explain``.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 a usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from overfitlint import __version__
from overfitlint.errors import CatalogueError, InputError
from overfitlint.severity import FAIL_ON

EXIT_INPUT_ERROR = 2


def _split(values: tuple[str, ...]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _fail(message: str) -> None:
    click.echo(f"overfitlint: error: {message}", err=True)
    sys.exit(EXIT_INPUT_ERROR)


def _default_report_path(paths: list[Path], model_source: str | None) -> Path:
    anchor = Path(model_source) if model_source else paths[0]
    parent = anchor.resolve().parent.name
    stem = f"{parent}-{anchor.stem}" if parent else anchor.stem
    return Path("reports") / f"{stem}.html"


def _refuse_overwriting_inputs(target: Path, inputs: list[Path], option: str) -> None:
    resolved = target.resolve()
    for path in inputs:
        if path.resolve() == resolved:
            raise InputError(f"{option} {target} is one of the inputs; refusing to overwrite it")


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="overfitlint")
def cli() -> None:
    """Diagnose overfitting from a model file and its training logs."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--samples", type=click.IntRange(min=1), help="Number of training samples.")
@click.option("--train-metric", help="Log column holding the training metric (e.g. loss).")
@click.option("--val-metric", help="Log column holding the validation metric (e.g. val_loss).")
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    help="Weight decay / L2 the model was trained with, when the file cannot tell.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format on stdout (or --output).",
)
@click.option("--output", type=click.Path(path_type=Path), help="Write the output to this file.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    help="HTML report path [default: reports/<folder>-<model>.html].",
)
@click.option("--no-report", is_flag=True, help="Do not write the HTML report.")
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="warning",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option("--select", multiple=True, help="Rules to run: codes, prefixes (OFL3) or names.")
@click.option("--ignore", multiple=True, help="Rules to skip: codes, prefixes or names.")
@click.option(
    "--probe/--no-probe",
    default=True,
    help="Run the probe on the model when it can check a finding.",
)
def check(
    paths: tuple[Path, ...],
    samples: int | None,
    train_metric: str | None,
    val_metric: str | None,
    weight_decay: float | None,
    fmt: str,
    output: Path | None,
    report_path: Path | None,
    no_report: bool,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    probe: bool,
) -> None:
    """Check a model file and/or training logs: PATHS are told apart by content."""
    from overfitlint.pipeline import run_check
    from overfitlint.render import render
    from overfitlint.report import exit_code
    from overfitlint.settings import Settings

    settings = Settings(
        samples=samples,
        weight_decay=weight_decay,
        train_metric=train_metric,
        val_metric=val_metric,
        select=_split(select) or ["OFL"],
        ignore=_split(ignore),
        fail_on=fail_on,
    )
    inputs = list(paths)
    if output:
        _refuse_overwriting_inputs(output, inputs, "--output")
    if report_path:
        _refuse_overwriting_inputs(report_path, inputs, "--report")
    write_html = not no_report
    report = run_check(inputs, settings, probe=probe, hash_inputs=write_html or fmt == "json")
    html_target = None
    if write_html:
        model = report["model"]
        html_target = report_path or _default_report_path(
            inputs, model["source"] if model else None
        )
        _refuse_overwriting_inputs(html_target, inputs, "--report")
    color = (
        fmt == "text" and output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    text = render(fmt, report, color=color)
    if html_target:
        _write(html_target, render("html", report))
    if output:
        _write(output, text)
    else:
        click.echo(text, nl=False)
    if html_target:
        click.echo(f"HTML report: {html_target}", err=fmt != "text" or output is not None)
    sys.exit(exit_code(report))


@cli.command("rules")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: the README's rule table.",
)
def list_rules(fmt: str) -> None:
    """List the rule catalogue."""
    import json

    from overfitlint.catalogue import load_catalogue
    from overfitlint.render.explain import rule_table

    catalogue = load_catalogue()
    if fmt == "json":
        click.echo(json.dumps([spec.to_dict() for spec in catalogue.values()], indent=2))
    elif fmt == "markdown":
        click.echo(rule_table(catalogue.values()), nl=False)
    else:
        for spec in catalogue.values():
            click.echo(f"{spec.code}  {spec.name:<28} {spec.severity:<8} {spec.title}")


@cli.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Explain a rule: what it checks, why, its thresholds and the fix."""
    from overfitlint.catalogue import load_catalogue
    from overfitlint.render.explain import render_explanation

    catalogue = load_catalogue()
    wanted = rule.strip()
    spec = catalogue.get(wanted.upper()) or next(
        (s for s in catalogue.values() if s.name == wanted.lower()), None
    )
    if spec is None:
        raise InputError(f"no rule {rule!r}; run 'overfitlint rules' to list them")
    click.echo(render_explanation(spec), nl=False)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted")
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT_ERROR)
    except InputError as exc:
        _fail(str(exc))
    except CatalogueError as exc:
        _fail(f"the rule catalogue is broken: {exc}")
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:  # never a traceback for the user; OVERFITLINT_DEBUG=1 shows it
        if os.environ.get("OVERFITLINT_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set OVERFITLINT_DEBUG=1 for details)")
