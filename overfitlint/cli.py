"""Command line: ``overfitlint check``, ``rules``, ``explain`` and ``report``.

Click only: options become settings, paths become targets, and the pipeline does the rest.
Exit codes: 0 the gate passes, 1 it fails, 2 a usage or input error (one line on stderr,
never a traceback).
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
CONFIG_META = "overfitlint.config"


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def _fail(message: str) -> None:
    click.echo(f"overfitlint: error: {_one_line(message)}", err=True)
    sys.exit(EXIT_INPUT_ERROR)


def _one_line(message: str) -> str:
    from overfitlint.render.safe import plain

    return plain(message)


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


def _probe_option(value, name: str):
    """--device and --input-shape, checked as the probe will read them (exit 2 when wrong)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):  # from a config file: [3, 32, 32]
        value = ",".join(str(v) for v in value)
    if name == "device" and value == "auto":  # the default: nothing to check, nothing to import
        return value
    from overfitlint.probe.data import parse_input_shape
    from overfitlint.probe.device import parse_device

    try:
        return parse_device(value) if name == "device" else parse_input_shape(value)
    except InputError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[-1]) from None


URL_PREFIXES = ("http://", "https://", "sqlite:///")
"""PATHS that are addresses (a tracking server, a SQLite URL), kept as typed."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="overfitlint")
def cli() -> None:
    """Diagnose overfitting from a model file and its training logs."""


@cli.command(cls=_CheckCommand)
@click.argument("paths", nargs=-1)
@click.option(
    "--samples", type=click.IntRange(min=1, max=10**15), help="Number of training samples."
)
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
    "--kept-epoch",
    type=click.FloatRange(min=0),
    help="The epoch whose weights the model file holds (a best checkpoint, restored weights), "
    "when the file does not record it.",
)
@click.option(
    "--spectral",
    is_flag=True,
    help="Measure each weight layer's spectrum (power-law alpha, as WeightWatcher does) for the "
    "OFL14x rules; reads the tensor bytes, runs nothing.",
)
@click.option(
    "--spectral-reference",
    type=click.Path(exists=True, path_type=Path),
    help="The base model of a fine-tune: layers the fine-tune left unchanged are not judged.",
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
    help="Unpickle PyTorch files for real (the probe needs it to run a whole pickled module). "
    "Unpickling runs any code the file contains: only for files you made or fully trust.",
)
@click.option(
    "--trust-torchscript",
    is_flag=True,
    help="Load TorchScript archives with torch.jit.load (the static check reads them as data; "
    "the probe needs it to run one). Loading runs the archive's TorchScript code: only for "
    "files you made or fully trust.",
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
    "--full-series",
    is_flag=True,
    help="JSON: every point of every learning curve (default: at most 2,000 per curve, "
    "keeping its shape and every point a finding names, marked as downsampled).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="warning",
    show_default=True,
    help="Exit 1 when a finding that counts for the gate (overfitting: a symptom in the "
    "curves or the probe) is at or above this severity.",
)
@click.option(
    "--fail-on-risk",
    is_flag=True,
    help="Also fail on causes alone (verdict at-risk: capacity, missing regularization) "
    "when no curve shows whether the risk was realised.",
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
    type=click.IntRange(min=0, max=1024),
    default=1,
    show_default=True,
    help="Check several models in this many parallel processes (0: one per CPU).",
)
@click.option(
    "--executor",
    type=click.Choice(["serial", "process", "ray"]),
    help="Where the checks run: in this process, in --jobs worker processes, or as Ray tasks "
    "[default: process with --jobs N or --target-timeout, else serial].",
)
@click.option(
    "--ray-address",
    help="The Ray cluster to run on (--executor ray) [default: $RAY_ADDRESS, else a local "
    "instance with --jobs CPUs].",
)
@click.option(
    "--ship-inputs",
    is_flag=True,
    help="With --executor ray: send each target's files to its worker instead of reading "
    "them from storage the workers share.",
)
@click.option(
    "--target-timeout",
    type=click.FloatRange(min=0, min_open=True, max=86400 * 7),
    help="Seconds one target's check may take (process and ray executors); a target past it "
    "is reported as not checked (OFL902) and the others go on.",
)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep each target's report in this folder and reuse it while the target's files, "
    "the settings and the tool are unchanged.",
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
    type=click.FloatRange(min=0, min_open=True, max=86400),
    default=60.0,
    show_default=True,
    help="Hard cap in seconds for the whole probe; each probe gets a share.",
)
@click.option(
    "--probe-seed",
    type=click.IntRange(min=0, max=2**32 - 1),
    default=0,
    show_default=True,
    help="Seed of the probe's runs.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    multiple=True,
    help="The data set, checked by the 5xx rules: an .npz (x_train, y_train, x_val, y_val; "
    "also fed to the probe), a CSV/Parquet table, an ImageFolder, a datasets folder; give it "
    "twice for separate train and validation files.",
)
@click.option("--label", "data_label", help="The label column of a --data table.")
@click.option("--split-column", help="The column of a --data table that names each row's split.")
@click.option(
    "--input-shape",
    callback=lambda ctx, param, value: _probe_option(value, "input_shape"),
    help="One input sample's shape for the probe, without the batch dimension (e.g. 3,32,32).",
)
@click.option("--experiment", help="The MLflow experiment (name or id) of a tracker store.")
@click.option(
    "--run", "run_id", help="One run of a tracker store: an MLflow or W&B run id, a Ray trial."
)
@click.option("--study", help="The Optuna study, when the storage holds several.")
@click.option(
    "--timeout",
    "server_timeout",
    type=click.FloatRange(min=0, min_open=True, max=3600),
    default=10.0,
    show_default=True,
    help="Seconds per request to an MLflow tracking server.",
)
def check(paths: tuple[str, ...], **options) -> None:
    """Check a model file and/or training logs: PATHS are told apart by content.

    Several model files make several runs (each log joins the model in its folder), or, with
    no PATHS, the config file's [[models]] manifest; one combined report and exit code.
    A tracker store or study (mlruns/, mlflow.db, sqlite:///..., http://host:port, wandb/,
    optuna.db, an Optuna journal, a Ray Tune folder) is a sweep: each run judged like a log,
    and the sweep as a whole by the 6xx rules.
    """
    from overfitlint.command import CheckRequest, run_check

    ctx = click.get_current_context()
    config = ctx.meta.get(CONFIG_META)
    from_config = {
        name for name in options if ctx.get_parameter_source(name) == ParameterSource.DEFAULT_MAP
    }
    order = ctx.meta.get(CONFIG_META + ".order", [])
    if options["fmt"] and "fmt" in from_config:
        order = [kind for kind in order if kind != "format"]  # formats from the config file
    urls = tuple(p for p in paths if p.startswith(URL_PREFIXES))
    request = CheckRequest(
        paths=tuple(Path(p) for p in paths if p not in urls),
        urls=urls,
        options={
            **options,
            "select": _split(options["select"]),
            "ignore": _split(options["ignore"]),
            "extend_select": _split(options["extend_select"]),
        },
        from_config=frozenset(from_config),
        order=order,
        config=config,
    )
    sys.exit(run_check(request))


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
    from overfitlint.engine.selection import rule_for
    from overfitlint.render.explain import render_explanation

    spec = rule_for(rule, load_catalogue())
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
    from overfitlint.outputs import check_target, write
    from overfitlint.paths import find_root
    from overfitlint.render import render
    from overfitlint.report import read_report

    document = read_report(result)
    target = output or Path("reports") / f"{result.stem}.html"
    check_target(target, find_root(Path.cwd()), [result], "--output")
    write(target, render("html", document))
    click.echo(f"HTML report: {target}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted")
    except click.ClickException as exc:
        _fail(exc.format_message())
    except InputError as exc:
        _fail(str(exc))
    except CatalogueError as exc:
        _fail(f"the rule catalogue is broken: {exc}")
    except KeyboardInterrupt:
        _fail("interrupted")
    except RecursionError:
        _fail("an input nests too deeply to be read (set OVERFITLINT_DEBUG=1 for details)")
    except MemoryError:
        _fail("an input needs more memory than is available to read it")
    except Exception as exc:  # never a traceback for the user; OVERFITLINT_DEBUG=1 shows it
        if os.environ.get("OVERFITLINT_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set OVERFITLINT_DEBUG=1 for details)")
