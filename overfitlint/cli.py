"""Command line: ``overfitlint check``, ``rules`` and ``explain``.

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 a usage or input error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from overfitlint import __version__
from overfitlint.errors import CatalogueError, InputError
from overfitlint.severity import FAIL_ON

EXIT_INPUT_ERROR = 2
FORMATS = ("text", "json", "html", "sarif", "junit", "github")
OUTPUT_NAMES = {  # --output-dir file names
    "json": "overfitlint.json",
    "html": "overfitlint.html",
    "sarif": "overfitlint.sarif",
    "junit": "overfitlint-junit.xml",
}
CONFIG_META = "overfitlint.config"


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


def _config_callback(ctx: click.Context, param: click.Parameter, value: object) -> None:
    """--config / --no-config (both eager): once both are seen, read the config file and make
    its values the defaults of the other options, so flags on the command line win."""
    seen = ctx.meta.setdefault(CONFIG_META + ".seen", {})
    seen[param.name] = value
    if len(seen) < 2:
        return
    from overfitlint.config import Config, find_config, parse_config

    path, isolated = seen.get("config_path"), seen.get("no_config")
    if path and isolated:
        raise InputError("--config and --no-config exclude each other; give one")
    if path is None and not isolated:
        path = find_config(Path.cwd())
    config = parse_config(Path(path), ctx, ctx.command.params, FORMATS) if path else Config()
    ctx.meta[CONFIG_META] = config
    ctx.default_map = {**(ctx.default_map or {}), **config.options}


class _CheckCommand(click.Command):
    """Remembers the order of --format and --output on the command line, to pair them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        order = []
        for arg in args:
            if arg == "--":
                break
            for name in ("format", "output"):
                if arg == f"--{name}" or arg.startswith(f"--{name}="):
                    order.append(name)
        ctx.meta[CONFIG_META + ".order"] = order
        return super().parse_args(ctx, args)


def _output_plan(
    formats: list[str],
    outputs: tuple[Path, ...],
    order: list[str],
    output_dir: Path | None,
    configured: dict,
) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout). An --output goes with the --format before it (or the
    first format when it comes first); a format without one goes to the config's [output]
    path, else (json, html, sarif, junit) into --output-dir, else to stdout."""
    paired: dict[int, Path] = {}
    current, next_output = -1, 0
    for kind in order:
        if kind == "format":
            current += 1
            continue
        index = max(current, 0)
        if next_output >= len(outputs):
            break
        if index in paired or index >= len(formats):
            raise InputError(
                f"--output {outputs[next_output]} has no --format of its own; "
                "write them in pairs: --format sarif --output results.sarif"
            )
        paired[index] = outputs[next_output]
        next_output += 1
    plan: list[tuple[str, Path | None]] = []
    for index, fmt in enumerate(formats):
        if index in paired:
            plan.append((fmt, paired[index]))
        elif fmt in configured:
            plan.append((fmt, configured[fmt]))
        elif output_dir is not None and fmt not in ("text", "github"):
            plan.append((fmt, output_dir / OUTPUT_NAMES[fmt]))
        else:
            plan.append((fmt, None))
    on_stdout = [fmt for fmt, target in plan if target is None]
    if len(on_stdout) > 1 and not set(on_stdout) <= {"text", "github"}:
        raise InputError(
            f"{', '.join(on_stdout)} would all go to stdout; give each an --output "
            "(--format F --output FILE) or use --output-dir"
        )
    return plan


def _probe_option(value, name: str):
    """--device and --input-shape, checked as the probe will read them (exit 2 when wrong)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):  # from a config file: [3, 32, 32]
        value = ",".join(str(v) for v in value)
    from overfitlint.probe.data import parse_input_shape
    from overfitlint.probe.device import parse_device

    try:
        return parse_device(value) if name == "device" else parse_input_shape(value)
    except InputError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[-1]) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="overfitlint")
def cli() -> None:
    """Diagnose overfitting from a model file and its training logs."""


@cli.command(cls=_CheckCommand)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--samples", type=click.IntRange(min=1), help="Number of training samples.")
@click.option("--train-metric", help="Log column holding the training metric (e.g. loss).")
@click.option("--val-metric", help="Log column holding the validation metric (e.g. val_loss).")
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    help="Weight decay / L2 the model was trained with, when the file cannot tell.",
)
@click.option(
    "--augmentation",
    type=click.Choice(["yes", "no"]),
    help="Whether the training data was augmented, when the model file cannot show it "
    "(PyTorch and ONNX keep augmentation outside the model).",
)
@click.option(
    "--folds",
    is_flag=True,
    help="The training logs are the folds (or repeated runs) of one experiment; without "
    "it, logs whose paths differ only in fold<N>, seed<N>, repeat<N> or rep<N> are.",
)
@click.option(
    "--trust-pickle",
    is_flag=True,
    help="Load PyTorch files that need full unpickling (torch.load weights_only=False). "
    "Unpickling runs any code the file contains: use it only for files you made or fully "
    "trust.",
)
@click.option(
    "--weights",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With a MODULE:CALLABLE model factory as the model: a torch.save checkpoint or "
    ".safetensors file to load into the model it builds (its optimizer state is read too).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    multiple=True,
    help="Output format, repeatable: text (default), json, html, sarif, junit, github.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Write the --format given before it to this file instead of stdout (repeatable).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write json/html/sarif/junit (and the HTML report) into this folder; "
    "text and github stay on stdout.",
)
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
    "--extend-select",
    multiple=True,
    help="Rules to run in addition to those selected by the config file.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report only findings that are not in this baseline file; list the fixed ones.",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record every finding of this run in this baseline file (then exit 0).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Check several models in this many parallel processes (0: one per CPU).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    is_eager=True,
    expose_value=False,
    callback=_config_callback,
    help="Config file [default: the nearest overfitlint.toml or pyproject.toml "
    "with [tool.overfitlint], from the working directory up].",
)
@click.option(
    "--no-config",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_config_callback,
    help="Ignore config files.",
)
@click.option(
    "--probe/--no-probe",
    default=True,
    help="Run the probe on the model when it can check a finding.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    callback=lambda ctx, param, value: _probe_option(value, "device"),
    help="Probe device: auto (CUDA, else MPS, else CPU), cpu, cuda, cuda:N or mps.",
)
@click.option(
    "--probe-budget",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Hard cap in seconds for the whole probe; each probe gets a share.",
)
@click.option(
    "--probe-seed", type=int, default=0, show_default=True, help="Seed of the probe's runs."
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.npz with x_train, y_train, x_val, y_val (a sample of the data) for the probe.",
)
@click.option(
    "--input-shape",
    callback=lambda ctx, param, value: _probe_option(value, "input_shape"),
    help="One input sample's shape for the probe, without the batch dimension (e.g. 3,32,32).",
)
def check(
    paths: tuple[Path, ...],
    samples: int | None,
    train_metric: str | None,
    val_metric: str | None,
    weight_decay: float | None,
    augmentation: str | None,
    folds: bool,
    trust_pickle: bool,
    weights: Path | None,
    fmt: tuple[str, ...],
    output: tuple[Path, ...],
    output_dir: Path | None,
    report_path: Path | None,
    no_report: bool,
    fail_on: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    extend_select: tuple[str, ...],
    baseline: Path | None,
    write_baseline: Path | None,
    jobs: int,
    probe: bool,
    device: str,
    probe_budget: float,
    probe_seed: int,
    data: Path | None,
    input_shape: tuple[int, ...] | None,
) -> None:
    """Check a model file and/or training logs: PATHS are told apart by content.

    Several model files make several runs (each log joins the model in its folder), or, with
    no PATHS, the config file's [[models]] manifest; one combined report and exit code.
    """
    from overfitlint.baseline import apply_baseline
    from overfitlint.baseline import write_baseline as record_baseline
    from overfitlint.catalogue import load_catalogue
    from overfitlint.config import Config, Selection, check_selectors, resolve_selection
    from overfitlint.multirun import RunGroup, combine, group_paths, now, run_groups
    from overfitlint.render import render
    from overfitlint.report import exit_code
    from overfitlint.settings import Settings

    ctx = click.get_current_context()
    config: Config = ctx.meta.get(CONFIG_META) or Config()

    settings = Settings(
        samples=samples,
        weight_decay=weight_decay,
        augmentation={"yes": True, "no": False}.get(augmentation or ""),
        folds=folds,
        train_metric=train_metric,
        val_metric=val_metric,
        select=_split(select) or ["OFL"],
        ignore=_split(ignore),
        fail_on=fail_on,
        device=device,
        probe_budget=probe_budget,
        probe_seed=probe_seed,
        data=str(data) if data else None,
        input_shape=input_shape,
        trust_pickle=trust_pickle,
        weights=weights,
    )
    catalogue = load_catalogue()
    cli_selection = Selection(_split(select) or None, _split(extend_select), _split(ignore))
    check_selectors(
        [*(cli_selection.select or []), *cli_selection.extend_select, *cli_selection.ignore],
        catalogue,
        "",
    )
    settings.select = resolve_selection([config.selection, cli_selection], catalogue)
    settings.ignore = []
    settings.thresholds = {**config.thresholds, **settings.thresholds}
    settings.severities = {**config.severities, **settings.severities}

    if paths:
        groups = group_paths(list(paths))
    elif config.models:
        groups = [
            RunGroup(
                entry.name,
                entry.paths,
                {  # the entry's values beat the file's top level; flags beat both
                    key: value
                    for key, value in entry.overrides.items()
                    if ctx.get_parameter_source(key) != ParameterSource.COMMANDLINE
                },
            )
            for entry in config.models
        ]
    else:
        where = config.path or "a config file (pyproject.toml [tool.overfitlint])"
        raise InputError(
            f"nothing to check: give PATHS (a model file and/or training logs) "
            f"or list models in a [[models]] manifest in {where}"
        )
    inputs = [path for group in groups for path in group.paths]
    formats = list(fmt) or ["text"]
    if len(groups) > 1 and "html" in formats:
        raise InputError(
            "--format html shows one model; with several models each gets its own HTML "
            "report (--report FOLDER or the default reports/)"
        )
    order = ctx.meta.get(CONFIG_META + ".order", [])
    if fmt and ctx.get_parameter_source("fmt") != ParameterSource.COMMANDLINE:
        order = [kind for kind in order if kind != "format"]  # formats from the config file
    plan = _output_plan(formats, output, order, output_dir, config.outputs)
    for fmt_name, target in plan:
        if target is not None:
            _refuse_overwriting_inputs(target, inputs, f"--output ({fmt_name})")
    if write_baseline:
        _refuse_overwriting_inputs(write_baseline, inputs, "--write-baseline")
    if report_path:
        _refuse_overwriting_inputs(report_path, inputs, "--report")
    write_html = not no_report
    check_kwargs = {
        "probe": probe,
        "hash_inputs": write_html or bool({"json", "sarif", "html"} & set(formats)),
    }
    started_at, clock = now()
    reports = run_groups(groups, settings, jobs, check_kwargs)
    if write_baseline:
        count = record_baseline(write_baseline, reports)
        click.echo(f"Baseline: recorded {count} finding(s) in {write_baseline}", err=True)
    if write_baseline or baseline:
        apply_baseline(write_baseline or baseline, reports)
    for run in reports:
        if config.path:
            run["run"]["config"] = str(config.path)
    if len(reports) == 1:
        report = reports[0]
    else:
        report = combine(
            reports,
            settings.fail_on,
            started_at=started_at,
            seconds=now()[1] - clock,
            jobs=jobs,
        )
        if config.path:
            report["run"]["config"] = str(config.path)

    html_targets = []
    if write_html:
        for run in reports:
            model = run["model"]
            default = _default_report_path(
                [Path(item["path"]) for item in run["inputs"]], model["source"] if model else None
            )
            if output_dir is not None:
                default = output_dir / default.name
            if len(reports) == 1:
                target = report_path or default
            else:  # several models: --report names a folder
                target = report_path / default.name if report_path else default
            _refuse_overwriting_inputs(target, inputs, "--report")
            html_targets.append((target, run))
    text_on_stdout = [fmt_name for fmt_name, target in plan if target is None] == ["text"]
    color = text_on_stdout and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for fmt_name, target in plan:
        text = render(fmt_name, report, color=color and target is None)
        if target is not None:
            _write(target, text)
        else:
            click.echo(text, nl=False)
    for target, run in html_targets:
        _write(target, render("html", run))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if "github" in formats and summary_file:
        from overfitlint.render.github import render_summary

        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(render_summary(report))
        except OSError as exc:
            raise InputError(f"cannot write $GITHUB_STEP_SUMMARY {summary_file}: {exc}") from None
    for target, _run in html_targets:
        click.echo(f"HTML report: {target}", err=not text_on_stdout)
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


@cli.command("report")
@click.argument("result", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="HTML file to write [default: reports/<RESULT name>.html].",
)
def report_command(result: Path, output: Path | None) -> None:
    """Render the HTML report of a saved JSON result (overfitlint check --format json)."""
    from overfitlint.render.html import read_result, render_html

    document = read_result(result)
    target = output or Path("reports") / f"{result.stem}.html"
    _refuse_overwriting_inputs(target, [result], "--output")
    _write(target, render_html(document))
    click.echo(f"HTML report: {target}")


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
