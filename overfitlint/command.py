"""``overfitlint check`` behind the command line: options to settings, paths to targets, the
executor, the outputs. The CLI parses; this runs; the pipeline checks.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from overfitlint import formats, outputs
from overfitlint.baseline import read_baseline, write_baseline
from overfitlint.catalogue import load_catalogue
from overfitlint.config import Config
from overfitlint.discovery import discover
from overfitlint.engine.selection import Selection, check_selectors, resolve
from overfitlint.errors import InputError
from overfitlint.executor import FleetOptions, run_targets
from overfitlint.paths import confine, find_root
from overfitlint.pipeline import with_baseline
from overfitlint.render import github_summary, render
from overfitlint.render.safe import plain
from overfitlint.report import AnyReport, MultiReport, MultiRunInfo, Report
from overfitlint.settings import LoadHints, ProbeConfig, RuleConfig, Settings
from overfitlint.sweeps import SweepTarget, check_sweep
from overfitlint.targets import Target, group


@dataclass(frozen=True)
class CheckRequest:
    paths: tuple[Path, ...]
    options: Mapping[str, Any]
    urls: tuple[str, ...] = ()
    """PATHS given as addresses: a tracking server (http://...), a sqlite:/// store."""
    from_config: frozenset[str] = frozenset()
    """Options whose value came from the config file (not typed on the command line)."""
    order: list[str] = field(default_factory=list)
    config: Config | None = None


def settings_from(options: Mapping[str, Any], config: Config) -> Settings:
    catalogue = load_catalogue()
    cli_layer = Selection(
        options["select"] or None, tuple(options["extend_select"]), tuple(options["ignore"])
    )
    check_selectors(
        [*(cli_layer.select or ()), *cli_layer.extend_select, *cli_layer.ignore], catalogue
    )
    selected = resolve([config.selection, cli_layer], catalogue)
    return Settings(
        load=LoadHints(
            samples=options["samples"],
            weight_decay=options["weight_decay"],
            augmentation={"yes": True, "no": False}.get(options["augmentation"] or ""),
            folds=options["folds"],
            train_metric=options["train_metric"],
            val_metric=options["val_metric"],
            kept_epoch=options["kept_epoch"],
            weights=options["weights"],
            trust_pickle=options["trust_pickle"],
            trust_torchscript=options["trust_torchscript"],
            data=tuple(options["data"]),
            data_label=options["data_label"],
            data_split_column=options["split_column"],
            data_noise=selected is None or "OFL505" in selected,
            spectral=options["spectral"],
            spectral_reference=options["spectral_reference"],
            spectral_device=options["device"],
            experiment=options.get("experiment"),
            run_id=options.get("run_id"),
            study=options.get("study"),
            server_timeout=options.get("server_timeout") or 10.0,
        ),
        rules=RuleConfig(
            selected=selected,
            thresholds=config.thresholds,
            severities=config.severities,
            fail_on=options["fail_on"],
            fail_on_risk=options["fail_on_risk"],
        ),
        probe=ProbeConfig(
            enabled=options["probe"],
            device=options["device"],
            budget=options["probe_budget"],
            seed=options["probe_seed"],
            data=probe_data(options["data"]),
            input_shape=options["input_shape"],
        ),
    )


def detect_inside(path: Path) -> formats.Detected:
    """Detect an input after checking that it resolves inside its repository: a symlink from
    the checked tree to ``~/.ssh/id_rsa`` is refused before a byte of it is read."""
    if not formats.is_factory_spec(path):
        confine(path, find_root(path), "the input")
    return formats.detect(path)


def probe_data(paths: tuple[Path, ...]) -> Path | None:
    """The probe's sample of the data: a --data .npz (the probe checks its arrays)."""
    npz = [p for p in paths if p.suffix.lower() == ".npz"]
    return npz[0] if len(npz) == 1 and len(paths) == 1 else None


def sweep_target(request: CheckRequest) -> SweepTarget | None:
    """The tracker store or study among PATHS (told apart by content), checked on its own;
    None when PATHS hold none."""
    from overfitlint.loaders.trackers import detect_tracker
    from overfitlint.loaders.trackers.sqlite_file import is_sqlite

    found: list[SweepTarget] = []
    for url in request.urls:
        kind = detect_tracker(url)
        target = SweepTarget(url, kind or "")
        if target.path is not None:
            confine(target.path, find_root(target.path), "the input")
        if kind is None:
            raise InputError(
                f"{url}: neither an MLflow nor an Optuna SQLite store"
                if target.path is not None and target.path.exists()
                else f"{url}: no such file"
            )
        found.append(target)
    for path in request.paths:
        if formats.is_factory_spec(path) or not (path.exists() or path.is_symlink()):
            continue
        confine(path, find_root(path), "the input")  # before a byte of it is read
        kind = detect_tracker(path)
        if kind is not None:
            found.append(SweepTarget(str(path), kind))
        elif path.is_file() and is_sqlite(path):
            raise InputError(
                f"{path}: a SQLite file that is neither an MLflow nor an Optuna store (no "
                "experiments/runs/metrics or studies/trials tables)"
            )
    if not found:
        return None
    others = len(request.paths) + len(request.urls) - 1
    if len(found) > 1 or others or request.options.get("data"):
        raise InputError(
            f"{found[0].source}: a tracker store or study is checked on its own; give it as "
            "the only PATH (one store per check)"
        )
    return found[0]


def targets_of_paths(paths: tuple[Path, ...]) -> list[Target]:
    """PATHS as targets: a folder by its layout (``overfitlint.discovery``), files and what a
    plain folder holds paired by ``targets.group``."""
    loose: list[formats.Detected] = []
    laid_out: list[Target] = []
    notes: list[str] = []
    for path in paths:
        detected = detect_inside(path)
        if detected.kind != formats.FOLDER:
            loose.append(detected)
            continue
        for found in discover(path):
            items = tuple(replace(detect_inside(p), optional=found.searched) for p in found.paths)
            if found.searched:
                loose.extend(items)
                notes.extend(found.notes)
            else:
                laid_out.append(Target(str(found.folder), items, notes=tuple(found.notes)))
    grouped = [replace(t, notes=tuple(notes)) for t in group(loose)] if loose else []
    return laid_out + grouped


def targets_from(paths: tuple[Path, ...], config: Config, request: CheckRequest) -> list[Target]:
    if paths:
        return targets_of_paths(paths)
    if config.models:
        return [
            Target(
                entry.name,
                tuple(detect_inside(path) for path in entry.paths),
                {  # the entry's values beat the file's top level; flags beat both
                    key: value
                    for key, value in entry.overrides.items()
                    if key in request.from_config or request.options.get(key) is None
                },
            )
            for entry in config.models
        ]
    if request.options["data"]:
        return [Target("data", ())]  # the data set alone: the 5xx rules
    where = config.path or "a config file (pyproject.toml [tool.overfitlint])"
    raise InputError(
        "nothing to check: give PATHS (a model file and/or training logs) "
        f"or list models in a [[models]] manifest in {where}"
    )


def fleet_options(options: Mapping[str, Any]) -> tuple[str, FleetOptions]:
    """The executor (--executor; else process for --jobs N or --target-timeout) and its options."""
    timeout = options.get("target_timeout")
    executor = options.get("executor") or (
        "process" if options["jobs"] != 1 or timeout else "serial"
    )
    return executor, FleetOptions(
        ray_address=options.get("ray_address"),
        ship_inputs=bool(options.get("ship_inputs")),
        timeout=timeout,
        cache=options.get("cache"),
    )


def run_check(request: CheckRequest) -> int:
    options = request.options
    config = request.config or Config()
    settings = settings_from(options, config)
    sweep = sweep_target(request)
    targets = [] if sweep is not None else targets_from(request.paths, config, request)
    inputs = [path for target in targets for path in target.paths]
    if sweep is not None and sweep.path is not None:
        inputs.append(sweep.path)
    formats_wanted = list(options["fmt"]) or ["text"]
    if len(targets) > 1 and "html" in formats_wanted and sweep is None:
        raise InputError(
            "--format html shows one model; with several models each gets its own HTML "
            "report (--report FOLDER or the default reports/)"
        )
    root = find_root(Path.cwd())
    plan = outputs.plan_outputs(
        formats_wanted, options["output"], request.order, options["output_dir"], config.outputs
    )
    for fmt_name, target in plan:
        if target is not None:
            outputs.check_target(target, root, inputs, f"--output ({fmt_name})")
    for option in ("write_baseline", "report_path"):
        if options[option]:
            outputs.check_target(options[option], root, inputs, f"--{option.replace('_', '-')}")
    use_baseline = options["baseline"] and not options["write_baseline"]
    baseline = read_baseline(options["baseline"]) if use_baseline else None
    write_html = not options["no_report"]
    hash_inputs = write_html or bool({"json", "sarif", "html"} & set(formats_wanted))
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    config_path = str(config.path) if config.path else None
    if sweep is not None:
        report: AnyReport = check_sweep(
            sweep, settings, baseline=baseline, hash_inputs=hash_inputs, config_path=config_path
        )
        if options["write_baseline"]:
            report = _rebaselined(report, options["write_baseline"], settings)
        html_targets = _html_targets([report], options, root, inputs) if write_html else []
    else:
        executor, fleet = fleet_options(options)
        run = run_targets(
            targets,
            settings,
            executor=executor,
            jobs=options["jobs"],
            baseline=baseline,
            hash_inputs=hash_inputs,
            config_path=config_path,
            options=fleet,
        )
        reports = run.reports
        report = (
            reports[0]
            if len(reports) == 1
            else MultiReport(
                MultiRunInfo(
                    started_at,
                    time.perf_counter() - clock,
                    settings.rules.fail_on,
                    options["jobs"],
                    executor,
                    config_path,
                    cached=run.cached,
                ),
                tuple(reports),
            )
        )
        if options["write_baseline"]:
            report = _rebaselined(report, options["write_baseline"], settings)
        parts = list(report.parts)
        html_targets = _html_targets(parts, options, root, inputs) if write_html else []
    text_on_stdout = [fmt for fmt, target in plan if target is None] == ["text"]
    color = text_on_stdout and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for fmt_name, target in plan:
        text = render(fmt_name, report, color=color and target is None)
        if target is not None:
            outputs.write(target, text)
        else:
            click.echo(text, nl=False)
    for target, run in html_targets:
        outputs.write(target, render("html", run))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if "github" in formats_wanted and summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(github_summary(report))
        except OSError as exc:
            raise InputError(f"cannot write $GITHUB_STEP_SUMMARY {summary_file}: {exc}") from None
    for target, _run in html_targets:
        click.echo(f"HTML report: {plain(str(target))}", err=not text_on_stdout)
    return 1 if report.summary.failed and not options["write_baseline"] else 0


def _rebaselined(report: AnyReport, path: Path, settings: Settings) -> AnyReport:
    """--write-baseline: record every finding, then judge the reports against the new file."""
    count = write_baseline(path, list(report.parts))
    click.echo(f"Baseline: recorded {count} finding(s) in {path}", err=True)
    written = read_baseline(path)
    if isinstance(report, Report):
        return with_baseline(report, written, settings.rules)
    return replace(
        report,
        runs=tuple(with_baseline(r, written, settings.rules) for r in report.runs),
        sweep=None
        if report.sweep is None
        else with_baseline(report.sweep, written, settings.rules),
    )


def _html_targets(
    reports: list[AnyReport], options: Mapping[str, Any], root: Path, inputs: list[Path]
) -> list[tuple[Path, AnyReport]]:
    """Where each HTML report goes: one per model; a sweep gets one for the whole store."""
    found = []
    for run in reports:
        model = run.model if isinstance(run, Report) else None
        default = outputs.default_report_path(
            model.source if model else None, Path(run.inputs[0].path)
        )
        if options["output_dir"] is not None:
            default = options["output_dir"] / default.name
        if len(reports) == 1:
            target = options["report_path"] or default
        else:  # several models: --report names a folder
            target = options["report_path"] / default.name if options["report_path"] else default
        outputs.check_target(target, root, inputs, "--report")
        found.append((target, run))
    return found
