"""The hostile-input corpus (issue #18): every case a small builder, registered with a name, the
section of the issue it belongs to, its command line and what it must also satisfy.

A builder gets the case's ``Scratch`` (its repository already holds the template, the secrets
are planted outside it) and ``shared``, a session folder for what is slow to make (Keras' own
files, bombs), and writes the hostile input into the repository. ``OPEN``, at the end, lists the
cases that do not hold today and what fails: each is a strict xfail until its fix lands.

Arguments may name ``{repo}``, ``{outside}``, ``{home}`` and ``{token}``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tests.builders import logs as log_builders
from tests.builders import onnx_models
from tests.security import payloads
from tests.security.harness import Expect, Limits, Scratch

CODE = "code-runs"
LEAVE = "files-leave"
FORGED = "outputs-forged"
LIMITS = "hangs-crashes-memory"
HELD = "already-held"
SECTIONS = {
    CODE: "Code runs: loading, probing or importing runs code from the checked tree",
    LEAVE: "Files leave the repository: paths from the tree read or write outside it",
    FORGED: "Outputs can be forged: names from files reach outputs unescaped",
    LIMITS: "Hangs, crashes and memory: every input inside its time and memory budget",
    HELD: "Classes that already hold, kept proven",
}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HANG = Limits(seconds=10.0)
"""For inputs that hang today: a fixed check answers in a few seconds."""
BOMB = Limits(rss_bytes=5 << 28)
"""1.25 GiB: twice what a refusal with PyTorch loaded needs."""
QUICK_PROBE = (
    "--select", "OFL201", "--probe-budget", "30",
    "--format", "text", "--format", "json", "--output", "out/probe.json",
)  # fmt: skip
"""The probe on, confined to its quickest probe (OFL201's stochasticity check). Its JSON report
(out/probe.json) shows whether the probe got to the model."""
# One string that tries every trick at once: a forged annotation on a new line, a CR, the
# mask and stop-commands commands, an escaped newline, colour, a window title, C0 controls.
FORGE = (
    "x\n::error file=README.md,line=1::forged\r::add-mask::x\n::stop-commands::t%0A"
    "\x1b[31mred\x1b]0;title\x07\x08\x7f"
)
EVERY_FORMAT = (
    "--format", "text", "--format", "github",
    "--format", "sarif", "--output", "out/result.sarif",
    "--format", "junit", "--output", "out/result.xml",
    "--format", "json", "--output", "out/result.json",
    "--format", "html", "--output", "out/result.html",
)  # fmt: skip
TEXT_AND_JSON = ("--format", "text", "--format", "json", "--output", "out/result.json")
SUMMARY = {"GITHUB_STEP_SUMMARY": "{repo}/out/summary.md"}
MODEL_A = ("models/a/model.onnx", "models/a/logs.csv")
TORCH = ("torch",)
H5 = ("h5py",)
KERAS = ("h5py", "keras", "tensorflow")


@dataclass(frozen=True)
class Case:
    name: str
    section: str
    build: Callable[[Scratch, Path], None]
    args: tuple[str, ...]
    form: str = "console"
    env: dict[str, str] = field(default_factory=dict)
    action_inputs: dict[str, str] | None = None
    limits: Limits = field(default_factory=Limits)
    expect: Expect = field(default_factory=Expect)
    needs: tuple[str, ...] = ()
    """Python modules the case needs (in this process or the CLI's); missing: skipped."""
    unprivileged: bool = False
    """Needs a run that obeys file modes (not root with its override capabilities)."""


CASES: dict[str, Case] = {}


def case(
    name: str,
    section: str,
    *args: str,
    probe: bool | None = None,
    expect: Expect | None = None,
    **options: Any,
):
    """Register the decorated builder as a case; stack several for variants of one input.

    ``probe``: None runs the CLI's default (the probe on, as CI runs it); False adds
    --no-probe (the static path); True adds QUICK_PROBE and requires the probe to reach the
    model."""

    def register(build: Callable[[Scratch, Path], None]):
        assert name not in CASES, f"two cases named {name}"
        flags = {None: (), False: ("--no-probe",), True: QUICK_PROBE}[probe]
        full = (*args, *flags)
        expected = expect or Expect()
        want = replace(expected, probe=expected.probe or bool(probe))
        if "github" in full or options.get("form") == "action":
            want = replace(want, github=True)
        CASES[name] = Case(name, section, build, full, expect=want, **options)
        return build

    return register


def requirements_missing(names: tuple[str, ...]) -> list[str]:
    """The modules of ``names`` that are not installed."""
    import importlib.util

    return [name for name in names if importlib.util.find_spec(name) is None]


# ---------------------------------------------------------------------------- templates


def template(folder: Path) -> None:
    """The repository every case starts from (made once, copied): a git root, a README and one
    small model (no dropout, 12,010 parameters) with a diverging Keras log in models/a."""
    (folder / ".git" / "refs" / "heads").mkdir(parents=True)
    (folder / ".git" / "objects").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "README.md").write_text("# a repository under review\n")
    (folder / "models" / "a").mkdir(parents=True)
    onnx_models.mlp(folder / "models" / "a" / "model.onnx", [64, 160, 10])
    diverging_log(folder / "models" / "a" / "logs.csv")


def diverging_log(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    loss, val = log_builders.overfit_curve(30, 10)
    return log_builders.keras_csv(path, loss, val)


def config(s: Scratch, body: str) -> Path:
    """``[tool.overfitlint]`` in the repository's pyproject.toml."""
    return s.write("pyproject.toml", f"[project]\nname = 'reviewed'\n\n[tool.overfitlint]\n{body}")


def toml_string(value: str) -> str:
    """A TOML basic string holding ``value`` exactly (controls escaped as TOML allows)."""
    return json.dumps(value).replace("\x7f", "\\u007f")


def _torch():
    from tests.security import torch_payloads

    return torch_payloads


def _keras(shared: Path) -> Path:
    return payloads.keras_artifacts(shared / "keras")


# ============================================================================ code runs
# ---------------------------------------------------------------- TorchScript

TS = "models/ts/model.pt"


@case("torchscript-setstate-writes-marker", CODE, "check", TS, probe=False, needs=TORCH)
@case("torchscript-setstate-writes-marker-probe", CODE, "check", TS, probe=True, needs=TORCH)
def torchscript_marker(s: Scratch, shared: Path) -> None:
    """A scripted module whose TorchScript __setstate__ creates a file with torch.from_file."""
    tp = _torch()
    content = b"['torch.jit.load']\n"  # a marker line names who wrote it
    tp.save_scripted(tp.Marker(str(s.marker("torchscript")), content), s.path(TS))


@case(
    "torchscript-setstate-plants-json-py",
    CODE,
    "check",
    TS,
    probe=False,
    needs=TORCH,
    expect=Expect(forbidden=("json.py",)),
)
@case(
    "torchscript-json-py-chains-into-probe",
    CODE,
    "check",
    TS,
    probe=True,
    needs=TORCH,
    expect=Expect(forbidden=("json.py",)),
)
def torchscript_json_py(s: Scratch, shared: Path) -> None:
    """__setstate__ writes json.py into the working folder: any later Python process started
    there with the folder on sys.path imports it (the chain into os.system)."""
    tp = _torch()
    source = payloads.shadow_module(s, "json").encode()
    tp.save_scripted(tp.Marker("json.py", source), s.path(TS))


@case(
    "torchscript-setstate-reads-secret", CODE, "check", TS, *TEXT_AND_JSON, probe=False, needs=TORCH
)
def torchscript_secret(s: Scratch, shared: Path) -> None:
    """A module named Dropout whose __setstate__ reads the secret's digits into ``p``, which the
    loader reports as the dropout rate."""
    tp = _torch()
    tp.save_scripted(tp.Dropout(*_secret_digits(s)), s.path(TS))


@case("torchscript-setstate-reads-secret-probe", CODE, "check", TS, probe=True, needs=TORCH)
def torchscript_secret_probe(s: Scratch, shared: Path) -> None:
    """The same read into a module of another name (no Dropout: OFL201 sends it to the probe)."""
    tp = _torch()
    tp.save_scripted(tp.Reader(*_secret_digits(s)), s.path(TS))


def _secret_digits(s: Scratch) -> tuple[str, int, int, int]:
    """Where the token's digits are in outside/secret.txt: path, file size, start, count."""
    secret = s.outside / "secret.txt"
    return str(secret), secret.stat().st_size, len("ofl_secret_"), len(s.token)


@case("torchscript-setstate-loops", CODE, "check", TS, probe=False, needs=TORCH, limits=HANG)
@case(
    "torchscript-setstate-loops-probe",
    CODE,
    "check",
    TS,
    probe=True,
    needs=TORCH,
    limits=Limits(seconds=20.0),
)
def torchscript_loop(s: Scratch, shared: Path) -> None:
    tp = _torch()
    tp.save_scripted(tp.Spin(), s.path(TS))


@case("torchscript-deep-nesting", CODE, "check", TS, probe=False, needs=TORCH)
@case("torchscript-deep-nesting-probe", CODE, "check", TS, probe=True, needs=TORCH)
def torchscript_deep(s: Scratch, shared: Path) -> None:
    """forward() returns x inside 200,000 parentheses: TorchScript's parser recurses per level."""
    _torch().deeply_nested(s.path(TS))


# ---------------------------------------------------------------- torch.export

PT2 = "models/ex/model.pt2"


@case("pt2-pickled-payloads-probe", CODE, "check", PT2, probe=True, needs=TORCH)
@case("pt2-pickled-payloads-static", CODE, "check", PT2, probe=False, needs=TORCH)
def pt2_payloads(s: Scratch, shared: Path) -> None:
    """A torch.export archive whose weight (use_pickle), opaque constant and sample inputs are
    pickles that run code and then yield a tensor, so loading carries on past each one."""
    tp = _torch()
    path = tp.export_program(s.path(PT2))
    members = payloads.read_zip(path)
    root = next(n for n in members if n.endswith("archive_format")).removesuffix("archive_format")
    weights_config = f"{root}data/weights/model_weights_config.json"
    weights = json.loads(members[weights_config])
    entry = next(v for k, v in weights["config"].items() if k.endswith("bias"))
    entry["use_pickle"] = True
    members[weights_config] = json.dumps(weights).encode()
    members[f"{root}data/weights/{entry['path_name']}"] = tp.saved_bytes(
        tp.tensor_from(s.marker_code("pt2-weights"))
    )
    constants_config = f"{root}data/constants/model_constants_config.json"
    constants = json.loads(members[constants_config])
    constants["config"]["planted"] = {"path_name": "opaque_obj_0", "is_param": False,
                                      "use_pickle": True, "tensor_meta": None}  # fmt: skip
    members[constants_config] = json.dumps(constants).encode()
    members[f"{root}data/constants/opaque_obj_0"] = pickle.dumps(
        tp.tensor_from(s.marker_code("pt2-constants"))
    )
    sample = ((tp.tensor_from(s.marker_code("pt2-sample-inputs")),), {})
    members[f"{root}data/sample_inputs/model.pt"] = tp.saved_bytes(sample)
    payloads.write_zip(path, members)


# ---------------------------------------------------------------- Keras, with the probe

KM = "models/k/model.keras"


@case("keras-config-imports-repo-package-probe", CODE, "check", KM, probe=True, needs=KERAS)
def keras_repo_package(s: Scratch, shared: Path) -> None:
    """CVE-2025-1550 shape: a layer whose ``module`` is a package Keras agrees to import
    (keras_hub.*), which the checked repository itself provides."""
    s.write("keras_hub/__init__.py", s.marker_code("keras-hub") + "\n")
    s.write("keras_hub/layers.py", "Evil = None\n")

    def edit(config):
        layer = config["config"]["layers"][1]
        layer["module"], layer["class_name"] = "keras_hub.layers", "Evil"

    payloads.edit_keras(_keras(shared) / "plain.keras", s.path(KM), edit)


@case("keras-config-names-repo-module-probe", CODE, "check", KM, probe=True, needs=KERAS)
def keras_repo_module(s: Scratch, shared: Path) -> None:
    """A layer whose ``module`` is a plain module of the checked repository (evil_pkg)."""
    s.write("evil_pkg/__init__.py", s.marker_code("evil-pkg") + "\nclass Evil:\n    pass\n")

    def edit(config):
        layer = config["config"]["layers"][1]
        layer["module"], layer["class_name"] = "evil_pkg", "Evil"

    payloads.edit_keras(_keras(shared) / "plain.keras", s.path(KM), edit)


@case("keras-lambda-bytecode-probe", CODE, "check", KM, probe=True, needs=KERAS)
@case("keras-lambda-bytecode-static", HELD, "check", KM, probe=False, needs=H5)
def keras_lambda(s: Scratch, shared: Path) -> None:
    """CVE-2024-3660 shape: a Lambda layer holding marshalled bytecode that writes a marker."""

    def edit(config):
        payloads.keras_layer(config, "lam")["config"]["function"] = payloads.lambda_function(
            s.marker_code("keras-lambda")
        )

    payloads.edit_keras(_keras(shared) / "lambda.keras", s.path(KM), edit)


@case("keras-lambda-in-activation-probe", CODE, "check", KM, probe=True, needs=KERAS)
def keras_lambda_activation(s: Scratch, shared: Path) -> None:
    """A ``__lambda__`` config where a Dense layer's activation goes."""

    def edit(config):
        layer = config["config"]["layers"][1]
        layer["config"]["activation"] = payloads.lambda_function(s.marker_code("keras-activation"))

    payloads.edit_keras(_keras(shared) / "plain.keras", s.path(KM), edit)


@case("keras-config-os-system-probe", CODE, "check", KM, probe=True, needs=KERAS)
def keras_os_system(s: Scratch, shared: Path) -> None:
    """Config entries naming builtins.exec (as an activation) and os.system (as a layer)."""
    command = f"touch {s.marker('keras-os-system')}"

    def edit(config):
        layers = config["config"]["layers"]
        layers[1]["config"]["activation"] = payloads.keras_function("builtins", "exec")
        entry = {"module": "os", "class_name": "system", "config": command, "registered_name": None}
        layers.insert(2, entry)

    payloads.edit_keras(_keras(shared) / "plain.keras", s.path(KM), edit)


@case("keras-cve-2025-8747-get-file-probe", CODE, "check", KM, probe=True, needs=KERAS)
def keras_get_file(s: Scratch, shared: Path) -> None:
    """CVE-2025-8747 shape: a Lambda whose function is keras.utils.get_file, its arguments and
    inbound call copying a file of the repository to a new ~/.bash_profile."""
    s.write("payload/profile", f"{s.marker_code('keras-get-file')}\n")

    def edit(config):
        layer = payloads.keras_layer(config, "lam")
        layer["config"]["function"] = payloads.keras_function("keras.utils", "get_file")
        layer["config"]["arguments"] = {
            "origin": f"file://{s.repo}/payload/profile",
            "cache_dir": str(s.home),
            "cache_subdir": "",
        }
        layer["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": ".bash_profile"}}]

    payloads.edit_keras(_keras(shared) / "functional.keras", s.path(KM), edit)


@case(
    "keras-cve-2025-9905-h5-lambda-probe",
    CODE,
    "check",
    "models/k/model.h5",
    probe=True,
    needs=KERAS,
)
@case("keras-h5-lambda-static", HELD, "check", "models/k/model.h5", probe=False, needs=H5)
def keras_h5_lambda(s: Scratch, shared: Path) -> None:
    """CVE-2025-9905 shape: a legacy .h5 model whose Lambda layer holds marshalled bytecode
    (Keras once ignored safe_mode for .h5 files)."""

    def edit(config):
        payloads.keras_layer(config, "lam")["config"]["function"] = payloads.lambda_function(
            s.marker_code("keras-h5-lambda")
        )

    payloads.edit_h5_config(_keras(shared) / "lambda.h5", s.path("models/k/model.h5"), edit)


# ---------------------------------------------------------------- import shadowing

SHADOW_PATHS = (*MODEL_A, "models/b/model.onnx", "models/b/logs.csv")


@case(
    "shadow-imports-console-script",
    CODE,
    "check",
    *SHADOW_PATHS,
    "--jobs",
    "2",
    probe=True,
    form="console",
    needs=TORCH,
)
@case(
    "shadow-imports-python-m",
    CODE,
    "check",
    *SHADOW_PATHS,
    "--jobs",
    "2",
    probe=True,
    form="module",
    needs=TORCH,
)
@case(
    "shadow-imports-python-I-m",
    CODE,
    "check",
    *SHADOW_PATHS,
    "--jobs",
    "2",
    probe=True,
    form="isolated",
    needs=TORCH,
)
@case(
    "shadow-imports-action-yml",
    CODE,
    form="action",
    needs=(*TORCH, "yaml"),
    env=SUMMARY,
    action_inputs={
        "paths": " ".join(SHADOW_PATHS),
        "args": " ".join(("--jobs", "2", *QUICK_PROBE)),
    },
    expect=Expect(probe=True),
)
def shadowed_imports(s: Scratch, shared: Path) -> None:
    """The checkout plants json.py, numpy.py, click.py, an overfitlint/ package and a
    multiprocessing/ package; two models are checked with --jobs 2, the first one probed."""
    for name in ("json", "numpy", "click"):
        s.write(f"{name}.py", payloads.shadow_module(s, name))
    for name in ("multiprocessing", "overfitlint"):
        s.write(f"{name}/__init__.py", payloads.shadow_module(s, name, package=True))
    onnx_models.mlp(s.path("models/b/model.onnx"), [8, 16, 2], [0.2])  # nothing to probe
    diverging_log(s.path("models/b/logs.csv"))


# ---------------------------------------------------------------- pickles, weights-only loading


def _gadget(s: Scratch, how: str):
    import builtins
    import subprocess

    tp = _torch()
    if how == "os.system":
        return tp.Gadget(os.system, f"echo os.system >> {s.marker('pickle-os-system')}")
    if how == "exec":
        return tp.Gadget(builtins.exec, s.marker_code("pickle-exec"))
    if how == "subprocess":
        return tp.Gadget(subprocess.check_call, ["touch", str(s.marker("pickle-subprocess"))])
    return tp.Gadget(builtins.eval, s.marker_code("pickle-eval"))


@case(
    "pickle-os-system-pt",
    HELD,
    "check",
    "models/p/model.pt",
    needs=TORCH,
    expect=Expect(exit_code=2),
)
def pickle_os_system(s: Scratch, shared: Path) -> None:
    _torch().checkpoint(s.path("models/p/model.pt"), _gadget(s, "os.system"))


@case(
    "pickle-exec-pth", HELD, "check", "models/p/model.pth", needs=TORCH, expect=Expect(exit_code=2)
)
def pickle_exec(s: Scratch, shared: Path) -> None:
    _torch().checkpoint(s.path("models/p/model.pth"), _gadget(s, "exec"))


@case(
    "pickle-subprocess-ckpt",
    HELD,
    "check",
    "models/p/last.ckpt",
    needs=TORCH,
    expect=Expect(exit_code=2),
)
def pickle_subprocess(s: Scratch, shared: Path) -> None:
    _torch().checkpoint(s.path("models/p/last.ckpt"), _gadget(s, "subprocess"))


@case(
    "pickle-legacy-torch-save-bin",
    HELD,
    "check",
    "models/p/pytorch_model.bin",
    needs=TORCH,
    expect=Expect(exit_code=2),
)
def pickle_legacy(s: Scratch, shared: Path) -> None:
    """A legacy (non-zip) torch.save file with an eval gadget."""
    _torch().checkpoint(s.path("models/p/pytorch_model.bin"), _gadget(s, "eval"), legacy=True)


@case("weights-only-framesummary-reads-outside", CODE, "check", "models/p/model.pt", needs=TORCH)
def framesummary_outside(s: Scratch, shared: Path) -> None:
    """CVE-2025-32434 class: a weights-only pickle, made opcode by opcode, that opens a file of
    the attacker's choice."""
    pickled = payloads.frame_summary_pickle(str(s.outside / "secret.txt"))
    _torch().with_data_pkl(s.path("models/p/model.pt"), pickled)


# ============================================================================ files leave
# ---------------------------------------------------------------- writes


@case("config-output-dir-outside", LEAVE, "check", *MODEL_A, probe=False)
def config_output_dir(s: Scratch, shared: Path) -> None:
    config(s, 'output-dir = "../outside/results"\nformat = ["text", "json"]\n')


@case("config-report-home-bashrc", LEAVE, "check", *MODEL_A, probe=False)
def config_report(s: Scratch, shared: Path) -> None:
    config(s, 'report = "~/.bashrc"\n')


@case("config-output-table-outside", LEAVE, "check", *MODEL_A, probe=False)
def config_outputs(s: Scratch, shared: Path) -> None:
    config(
        s,
        'format = ["sarif", "json", "junit", "html"]\n\n[tool.overfitlint.output]\n'
        f"sarif = {toml_string(str(s.outside / 'x.sarif'))}\n"
        'json = "../outside/x.json"\njunit = "~/x.xml"\nhtml = "../outside/x.html"\n',
    )


@case("reports-folder-symlink-outside", LEAVE, "check", *MODEL_A, probe=False)
def reports_symlink(s: Scratch, shared: Path) -> None:
    (s.repo / "reports").symlink_to(s.outside, target_is_directory=True)


@case("report-file-symlink-outside", LEAVE, "check", *MODEL_A, probe=False)
def report_file_symlink(s: Scratch, shared: Path) -> None:
    s.path("reports/a-model.html").symlink_to(s.outside / "written.html")


@case("config-output-file-symlink-outside", LEAVE, "check", *MODEL_A, probe=False)
def output_symlink(s: Scratch, shared: Path) -> None:
    config(s, 'format = ["text", "json"]\n\n[tool.overfitlint.output]\njson = "results.json"\n')
    s.path("results.json").symlink_to(s.outside / "results.json")


@case(
    "command-line-paths-outside-still-work",
    LEAVE,
    "check",
    *MODEL_A,
    "--format",
    "json",
    "--output",
    "{outside}/cli.json",
    "--report",
    "{outside}/cli.html",
    probe=False,
    expect=Expect(outside_outputs=("cli.json", "cli.html")),
)
def command_line_outside(s: Scratch, shared: Path) -> None:
    """Paths given on the command line are the user's own choice: written where asked."""


# ---------------------------------------------------------------- reads


def _replace_with_link(s: Scratch, relative: str, target: Path) -> None:
    path = s.repo / relative
    path.unlink()
    path.symlink_to(target)


@case("symlink-log-to-ssh-key", LEAVE, "check", *MODEL_A, *EVERY_FORMAT, probe=False, env=SUMMARY)
def symlink_ssh_key(s: Scratch, shared: Path) -> None:
    _replace_with_link(s, "models/a/logs.csv", s.home / ".ssh" / "id_rsa")


@case(
    "symlink-log-to-outside-csv", LEAVE, "check", *MODEL_A, *EVERY_FORMAT, probe=False, env=SUMMARY
)
def symlink_log(s: Scratch, shared: Path) -> None:
    _replace_with_link(s, "models/a/logs.csv", s.outside / "metrics.csv")


@case("symlink-model-to-outside", LEAVE, "check", *MODEL_A, *EVERY_FORMAT, probe=False, env=SUMMARY)
def symlink_model(s: Scratch, shared: Path) -> None:
    _replace_with_link(s, "models/a/model.onnx", s.outside / "model.onnx")


@case("symlink-hparams-to-outside", LEAVE, "check", "runs/version_0/metrics.csv", *TEXT_AND_JSON)
def symlink_hparams(s: Scratch, shared: Path) -> None:
    loss, val = log_builders.overfit_curve(12, 5)
    steps = [v for v in loss for _ in range(2)]
    log_builders.lightning_metrics_csv(s.repo / "runs" / "version_0", steps, val, hparams=None)
    s.path("runs/version_0/hparams.yaml").symlink_to(s.outside / "secret.txt")


@case(
    "symlink-trainer-state-to-outside", LEAVE, "check", "runs/hf/trainer_state.json", *TEXT_AND_JSON
)
def symlink_trainer_state(s: Scratch, shared: Path) -> None:
    s.path("runs/hf/trainer_state.json").symlink_to(s.outside / "trainer_state.json")


@case("symlink-folder-to-outside", LEAVE, "check", "models/ext/metrics.csv", *TEXT_AND_JSON)
def symlink_folder(s: Scratch, shared: Path) -> None:
    s.path("models/ext").symlink_to(s.outside, target_is_directory=True)


@case("symlink-in-mlruns-to-outside", LEAVE, "check", "mlruns", *TEXT_AND_JSON, probe=False)
def symlink_in_mlruns(s: Scratch, shared: Path) -> None:
    """An MLflow file store whose metric file is a link to a file outside the repository."""
    run = s.repo / "mlruns" / "0" / "abc123"
    (run / "metrics").mkdir(parents=True)
    (run.parent / "meta.yaml").write_text("experiment_id: '0'\nname: Default\n")
    (run / "meta.yaml").write_text("run_id: abc123\nexperiment_id: '0'\nstatus: 3\n")
    (run / "metrics" / "loss").write_text("".join(f"0 {1 / (e + 1)} {e}\n" for e in range(10)))
    (s.outside / "val_loss").write_text("".join(f"0 {0.5 + e} {e}\n" for e in range(10)))
    (run / "metrics" / "val_loss").symlink_to(s.outside / "val_loss")


@case(
    "h5-external-link-outside",
    LEAVE,
    "check",
    "models/k/model.h5",
    *TEXT_AND_JSON,
    probe=False,
    needs=H5,
)
def h5_external_link(s: Scratch, shared: Path) -> None:
    import h5py

    target = s.path("models/k/model.h5")
    shutil.copyfile(_keras(shared) / "plain.h5", target)
    with h5py.File(target, "r+") as h5:
        weights = h5["model_weights"]
        first = weights.attrs["layer_names"][0]
        first = first.decode() if isinstance(first, bytes) else str(first)
        del weights[first]
        weights[first] = h5py.ExternalLink(str(s.outside / "secret.h5"), "/dense")


@case("h5-virtual-dataset-outside", LEAVE, "check", "models/k/model.h5", probe=False, needs=H5)
def h5_virtual_dataset(s: Scratch, shared: Path) -> None:
    """A legacy .h5 whose first kernel is a virtual dataset mapping outside/secret.h5 (its shape
    is read, never its data)."""
    import h5py

    target = s.path("models/k/model.h5")
    shutil.copyfile(_keras(shared) / "plain.h5", target)
    with h5py.File(target, "r+") as h5:
        found: list[str] = []
        h5.visititems(lambda name, _: found.append(name) if name.endswith("kernel") else None)
        _make_virtual(h5, found[0], s.outside / "secret.h5")


def _make_virtual(h5, name: str, source: Path) -> None:
    """Replace dataset ``name`` by a virtual dataset reading ``data`` from ``source``."""
    import h5py

    shape, dtype = h5[name].shape, h5[name].dtype
    layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
    layout[:] = h5py.VirtualSource(str(source), "data", shape=shape)
    del h5[name]
    h5.create_virtual_dataset(name, layout)


@case("keras-weights-external-link-probe", LEAVE, "check", KM, probe=True, needs=KERAS)
def keras_weights_link(s: Scratch, shared: Path) -> None:
    """A .keras whose small layer's variables are an external link into outside/secret.h5."""
    import h5py

    def edit(h5, big: str, small: str) -> None:
        del h5[f"layers/{small}/vars"]
        h5[f"layers/{small}/vars"] = h5py.ExternalLink(str(s.outside / "secret.h5"), "/vars")

    _edit_keras_weights(s, shared, edit)


@case(
    "keras-weights-virtual-dataset-probe",
    LEAVE,
    "check",
    KM,
    *QUICK_PROBE,
    needs=KERAS,
    expect=Expect(exit_code=2),
)
def keras_weights_virtual(s: Scratch, shared: Path) -> None:
    """A .keras whose big layer's kernel is a virtual dataset mapping outside/secret.h5."""

    def edit(h5, big: str, small: str) -> None:
        _make_virtual(h5, f"layers/{big}/vars/0", s.outside / "secret.h5")

    _edit_keras_weights(s, shared, edit)


def _edit_keras_weights(s: Scratch, shared: Path, edit: Callable[[Any, str, str], None]) -> None:
    """plain.keras with its model.weights.h5 changed by ``edit(h5, big_layer, small_layer)``."""
    import h5py

    members = payloads.read_zip(_keras(shared) / "plain.keras")
    weights = s.base / "weights.h5"
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "r+") as h5:
        edit(h5, *sorted(h5["layers"]))
    members["model.weights.h5"] = weights.read_bytes()
    weights.unlink()
    payloads.write_zip(s.path(KM), members)


@case("manifest-model-outside", LEAVE, "check", probe=False)
def manifest_model(s: Scratch, shared: Path) -> None:
    config(s, '[[tool.overfitlint.models]]\nmodel = "../outside/model.onnx"\n')


@case("manifest-absolute-outside", LEAVE, "check", probe=False)
def manifest_absolute(s: Scratch, shared: Path) -> None:
    path = toml_string(str(s.outside / "model.onnx"))
    config(s, f"[[tool.overfitlint.models]]\nmodel = {path}\n")


@case("manifest-glob-outside", LEAVE, "check", probe=False)
def manifest_glob(s: Scratch, shared: Path) -> None:
    entry = 'model = "models/a/model.onnx"\nlogs = ["../outside/*.csv"]\n'
    config(s, f"[[tool.overfitlint.models]]\n{entry}")


@case("config-data-outside", LEAVE, "check", *MODEL_A, *QUICK_PROBE, expect=Expect(exit_code=2))
def config_data(s: Scratch, shared: Path) -> None:
    """The config's data path is refused before anything runs (one line, exit 2)."""
    config(s, 'data = "../outside/data.npz"\n')


@case("config-baseline-home-bashrc", LEAVE, "check", *MODEL_A, probe=False)
def config_baseline_home(s: Scratch, shared: Path) -> None:
    config(s, 'baseline = "~/.bashrc"\n')


@case("config-baseline-outside", LEAVE, "check", *MODEL_A, *TEXT_AND_JSON, probe=False)
def config_baseline_outside(s: Scratch, shared: Path) -> None:
    config(s, 'baseline = "../outside/baseline.json"\n')


ONNX_E = "models/e/model.onnx"


@case("onnx-external-data-parent", LEAVE, "check", ONNX_E, probe=None, expect=Expect(exit_code=2))
def onnx_external_parent(s: Scratch, shared: Path) -> None:
    """CVE-2024-27318 shape: the external data at ../../../outside/weights.bin."""
    payloads.external_data_onnx(s.path(ONNX_E), "../../../outside/weights.bin")


@case("onnx-external-data-absolute", LEAVE, "check", ONNX_E, expect=Expect(exit_code=2))
def onnx_external_absolute(s: Scratch, shared: Path) -> None:
    payloads.external_data_onnx(s.path(ONNX_E), str(s.outside / "weights.bin"))


@case("onnx-external-data-symlink", LEAVE, "check", ONNX_E, expect=Expect(exit_code=2))
def onnx_external_symlink(s: Scratch, shared: Path) -> None:
    """CVE-2026-27489 shape: a location in the model's folder that is a symlink to outside."""
    payloads.external_data_onnx(s.path(ONNX_E), "weights.bin")
    s.path("models/e/weights.bin").symlink_to(s.outside / "weights.bin")


@case("onnx-external-data-hardlink-probe", LEAVE, "check", ONNX_E, probe=True, needs=TORCH)
def onnx_external_hardlink(s: Scratch, shared: Path) -> None:
    """CVE-2026-34446 shape: the location is a hardlink to a file outside the repository."""
    payloads.external_data_onnx(s.path(ONNX_E), "weights.bin")
    os.link(s.outside / "weights.bin", s.path("models/e/weights.bin"))


# ============================================================================ forged outputs


@case(
    "forged-onnx-names",
    FORGED,
    "check",
    "models/f/model.onnx",
    "models/f/logs.csv",
    *EVERY_FORMAT,
    probe=False,
    env=SUMMARY,
)
def forged_onnx(s: Scratch, shared: Path) -> None:
    """Every name of an ONNX graph carries the forgery; a Dropout with rate 0 named by it makes
    OFL202 quote the name in a finding."""
    import onnx
    from onnx import helper, numpy_helper

    path = payloads.named_onnx(s.path("models/f/model.onnx"), FORGE)
    model = onnx.load(str(path))
    ratio = numpy_helper.from_array(np.array(0.0, np.float32), f"{FORGE}.ratio")
    model.graph.initializer.append(ratio)
    model.graph.node[0].output[0] = "dropped"
    dropout = helper.make_node("Dropout", ["dropped", ratio.name], ["h0"], name=FORGE)
    model.graph.node.insert(1, dropout)
    onnx.save(model, str(path))
    diverging_log(s.path("models/f/logs.csv"))


@case(
    "forged-onnx-names-probe",
    FORGED,
    "check",
    "models/f/model.onnx",
    "--format",
    "github",
    probe=True,
    needs=TORCH,
)
def forged_onnx_probe(s: Scratch, shared: Path) -> None:
    payloads.named_onnx(s.path("models/f/model.onnx"), FORGE)


@case(
    "forged-keras-layer-names",
    FORGED,
    "check",
    KM,
    "models/k/logs.csv",
    *EVERY_FORMAT,
    probe=False,
    env=SUMMARY,
    needs=H5,
)
def forged_keras(s: Scratch, shared: Path) -> None:
    def edit(config):
        layers = config["config"]["layers"]
        for index, layer in enumerate(layers[1:], start=1):
            layer["config"]["name"] = f"{FORGE}{index}"
        dropout = {"module": "keras.layers", "class_name": "Dropout", "registered_name": None,
                   "config": {"name": FORGE, "rate": 0.0, "trainable": True}}  # fmt: skip
        layers.insert(2, dropout)

    payloads.edit_keras(_keras(shared) / "plain.keras", s.path(KM), edit)
    diverging_log(s.path("models/k/logs.csv"))


@case(
    "forged-safetensors-keys",
    FORGED,
    "check",
    "models/s/model.safetensors",
    "models/s/logs.csv",
    *EVERY_FORMAT,
    probe=False,
    env=SUMMARY,
)
def forged_safetensors(s: Scratch, shared: Path) -> None:
    header, blobs, offset = {}, [], 0
    for index in range(2):
        data = np.ones((160, 64), np.float32).tobytes()
        header[f"{FORGE}.fc{index}.weight"] = {
            "dtype": "F32",
            "shape": [160, 64],
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    s.write("models/s/model.safetensors", struct.pack("<Q", len(text)) + text + b"".join(blobs))
    diverging_log(s.path("models/s/logs.csv"))


@case(
    "forged-state-dict-keys",
    FORGED,
    "check",
    "models/t/model.pt",
    "models/t/logs.csv",
    *EVERY_FORMAT,
    probe=False,
    env=SUMMARY,
    needs=TORCH,
)
def forged_state_dict(s: Scratch, shared: Path) -> None:
    import torch

    state = {f"{FORGE}.fc{index}.weight": torch.ones(160, 64) for index in range(2)}
    torch.save({"state_dict": state}, s.path("models/t/model.pt"))
    diverging_log(s.path("models/t/logs.csv"))


@case("forged-csv-column-names", FORGED, "check", "logs/metrics.csv", *EVERY_FORMAT, env=SUMMARY)
@case("forged-csv-extra-column", FORGED, "check", "logs/extra.csv", *EVERY_FORMAT, env=SUMMARY)
def forged_csv_columns(s: Scratch, shared: Path) -> None:
    """Columns that no metric name matches (the error lists them), and a valid log with one
    extra column so named."""
    loss, val = log_builders.overfit_curve(30, 10)
    for name, header in (
        ("metrics.csv", [f"{FORGE}loss", f"val_{FORGE}loss"]),
        ("extra.csv", ["loss", "val_loss", FORGE]),
    ):
        with s.path(f"logs/{name}").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["epoch", *header])
            writer.writerows([e, loss[e], val[e], val[e]][: len(header) + 1] for e in range(30))


@case("forged-csv-cell-values", FORGED, "check", "logs/metrics.csv", *EVERY_FORMAT, env=SUMMARY)
def forged_csv_values(s: Scratch, shared: Path) -> None:
    rows = ["epoch,loss,val_loss"] + [f"{e},{1 / (e + 1)},{0.5 + e / 100}" for e in range(20)]
    rows[5] = f'4,"{FORGE}",0.6'
    s.write("logs/metrics.csv", "\n".join(rows) + "\n")


@case("forged-json-log-keys", FORGED, "check", "logs/history.json", *EVERY_FORMAT, env=SUMMARY)
@case("forged-json-extra-key", FORGED, "check", "logs/extra.json", *EVERY_FORMAT, env=SUMMARY)
def forged_json_keys(s: Scratch, shared: Path) -> None:
    loss, val = log_builders.overfit_curve(30, 10)
    s.write("logs/history.json", json.dumps({f"{FORGE}loss": loss, f"val_{FORGE}loss": val}))
    s.write("logs/extra.json", json.dumps({"loss": loss, "val_loss": val, FORGE: val}))


@case("forged-file-names", FORGED, "check", *EVERY_FORMAT, probe=False, env=SUMMARY)
def forged_file_names(s: Scratch, shared: Path) -> None:
    """A log named by the forgery, picked up by the manifest's glob (no one typed the name)."""
    diverging_log(s.path(f"models/m/{FORGE}.csv"))
    onnx_models.mlp(s.path("models/m/model.onnx"), [64, 160, 10])
    entry = 'model = "models/m/model.onnx"\nlogs = ["models/m/*.csv"]\n'
    config(s, f"[[tool.overfitlint.models]]\n{entry}")


@case(
    "forged-folder-names",
    FORGED,
    "check",
    f"{FORGE}/model.onnx",
    f"{FORGE}/logs.csv",
    *EVERY_FORMAT,
    probe=False,
    env=SUMMARY,
)
def forged_folder_names(s: Scratch, shared: Path) -> None:
    onnx_models.mlp(s.path(f"{FORGE}/model.onnx"), [64, 160, 10])
    diverging_log(s.path(f"{FORGE}/logs.csv"))


@case(
    "forged-baseline-entries",
    FORGED,
    "check",
    *MODEL_A,
    "--baseline",
    "baseline.json",
    *EVERY_FORMAT,
    probe=False,
    env=SUMMARY,
)
def forged_baseline(s: Scratch, shared: Path) -> None:
    entries = [
        {"fingerprint": FORGE, "code": code, "name": FORGE, "file": "models/a/logs.csv"}
        for code in ("OFL301", "OFL302")
    ]
    document = {"format": "overfitlint-baseline", "version": 1, "findings": entries}
    s.write("baseline.json", json.dumps(document))


@case("forged-config-path", FORGED, "check", *MODEL_A, probe=False)
def forged_config_path(s: Scratch, shared: Path) -> None:
    config(s, f"baseline = {toml_string(FORGE)}\n")


@case("forged-config-metric", FORGED, "check", *MODEL_A, "--format", "github", probe=False)
def forged_config_metric(s: Scratch, shared: Path) -> None:
    config(s, f"val-metric = {toml_string(FORGE)}\n")


@case("forged-config-keys", FORGED, "check", *MODEL_A, probe=False)
def forged_config_keys(s: Scratch, shared: Path) -> None:
    """Unknown keys and values are quoted with repr() in the error line."""
    config(s, f"{toml_string(FORGE)} = {toml_string(FORGE)}\n")


# ============================================================================ limits
# ---------------------------------------------------------------- hangs


@case("keras-deflated-weights-seeks", LIMITS, "check", KM, probe=False, needs=H5, limits=HANG)
def keras_seeks(s: Scratch, shared: Path) -> None:
    path = shared / "seeks.keras"
    if not path.exists():
        _seek_heavy_keras(_keras(shared) / "plain.keras", path, layers=400, filler=1 << 16)
    shutil.copyfile(path, s.path(KM))


@case("keras-deflated-weights-large", LIMITS, "check", KM, probe=False, needs=H5, limits=HANG)
def keras_large(s: Scratch, shared: Path) -> None:
    path = shared / "large.keras"
    if not path.exists():
        _seek_heavy_keras(_keras(shared) / "plain.keras", path, layers=60, filler=550_000)
    shutil.copyfile(path, s.path(KM))


def _seek_heavy_keras(source: Path, target: Path, layers: int, filler: int) -> None:
    """Weights whose layers are written in the reverse of the order they are read, each after a
    block of mostly zeros, the member stored deflated: reading is a series of backward seeks."""
    import h5py

    weights = target.with_suffix(".h5")
    rng = np.random.default_rng(0)
    with h5py.File(weights, "w") as h5:
        for index in reversed(range(layers)):
            block = np.zeros(filler // 4, np.float32)
            block[::97] = 1.0  # compressible, not to nothing
            h5.create_dataset(f"filler/{index:04d}", data=block)
            group = h5.create_group(f"layers/dense_{index:04d}/vars")
            group.attrs["name"] = f"dense_{index:04d}"
            group.create_dataset("0", data=rng.standard_normal((8, 8)).astype(np.float32))
    members = payloads.read_zip(source)
    members["model.weights.h5"] = weights.read_bytes()
    weights.unlink()
    payloads.write_zip(target, members, deflated=("model.weights.h5",))


@case(
    "h5-million-dataset-visits",
    LIMITS,
    "check",
    "models/k/model.weights.h5",
    probe=False,
    needs=H5,
    limits=HANG,
)
def h5_many(s: Scratch, shared: Path) -> None:
    """A Keras 3 weights file in which 1,000 layers share one group of 1,000 datasets (hard
    links): a walk meets the issue's 10^6 datasets, in a file made in a second."""
    import h5py

    with h5py.File(s.path("models/k/model.weights.h5"), "w") as h5:
        variables = h5.create_group("shared/vars")
        dataset = variables.create_dataset("0", shape=(1,), dtype="f4")
        for index in range(1, 1000):
            variables[str(index)] = dataset
        for index in range(1000):
            h5[f"layers/dense_{index}/vars"] = variables


@case("manifest-glob-from-root", LIMITS, "check", probe=False, limits=HANG)
def glob_root(s: Scratch, shared: Path) -> None:
    config(s, '[[tool.overfitlint.models]]\nmodel = "/**/*.onnx"\nlogs = ["/**/*.csv"]\n')


# ---------------------------------------------------------------- memory


@case(
    "pt-zip-bomb-data-pkl",
    LIMITS,
    "check",
    "models/p/model.pt",
    probe=False,
    needs=TORCH,
    limits=BOMB,
)
def pt_zip_bomb(s: Scratch, shared: Path) -> None:
    path = shared / "bomb.pt"
    if not path.exists():
        _torch().deflated_bomb(path, pickle.dumps({"state_dict": {}}, protocol=2), 5 << 29)
    shutil.copyfile(path, s.path("models/p/model.pt"))


@case(
    "weights-only-reads-dev-zero",
    LIMITS,
    "check",
    "models/p/model.pt",
    probe=False,
    needs=TORCH,
    limits=BOMB,
)
def framesummary_dev_zero(s: Scratch, shared: Path) -> None:
    """The issue's 2 KB checkpoint that reached 12.9 GB."""
    _torch().with_data_pkl(s.path("models/p/model.pt"), payloads.frame_summary_pickle("/dev/zero"))


@case(
    "npz-data-inflates",
    LIMITS,
    "check",
    *MODEL_A,
    *QUICK_PROBE,
    needs=TORCH,
    limits=BOMB,
    expect=Expect(exit_code=2),
)
def npz_bomb(s: Scratch, shared: Path) -> None:
    path = shared / "bomb.npz"
    if not path.exists():
        _npz_bomb(path, rows=10_000_000)
    shutil.copyfile(path, s.path("data/data.npz"))
    config(s, 'data = "data/data.npz"\n')


def _npz_bomb(path: Path, rows: int) -> None:
    """x_train: rows x 64 float32 zeros, deflated; the other arrays small and stored."""
    header = repr({"descr": "<f4", "fortran_order": False, "shape": (rows, 64)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    prefix = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
    members = [payloads.zip_bomb_member("x_train.npy", prefix, len(prefix) + rows * 64 * 4)]
    for name, array in (
        ("y_train", np.zeros(16, np.int64)),
        ("x_val", np.zeros((16, 64), np.float32)),
        ("y_val", np.zeros(16, np.int64)),
    ):
        buffer = io.BytesIO()
        np.save(buffer, array)
        members.append(payloads.Member.plain(f"{name}.npy", buffer.getvalue()))
    payloads.write_members(path, members)


@case(
    "tensorboard-sparse-event-files",
    LIMITS,
    "check",
    "runs/tb",
    probe=False,
    needs=("tensorboard", "google_crc32c"),
    limits=BOMB,
)
def tensorboard_sparse(s: Scratch, shared: Path) -> None:
    """Event files that are sparse on disk (nothing stored past their first records) but 3 GiB
    long, with huge step numbers and many tags in what they do hold."""
    for index in range(3):
        path = s.path(f"runs/tb/events.out.tfevents.{index}.host")
        path.write_bytes(payloads.event_records(index * 10**15, tags=200))
        os.truncate(path, 3 << 30)


# ---------------------------------------------------------------- one line, not a traceback


@case("json-log-overflows-to-inf", LIMITS, "check", "logs/history.json", "--format", "json")
def json_inf(s: Scratch, shared: Path) -> None:
    loss, val = log_builders.overfit_curve(30, 10)
    loss[-1], val[-1] = 1e-308, 1e308
    s.write("logs/history.json", json.dumps({"loss": loss, "val_loss": val}))


@case("toml-deeply-nested-config", LIMITS, "check", *MODEL_A, probe=False)
def toml_nested(s: Scratch, shared: Path) -> None:
    config(s, "x = " + "[" * 100_000 + "]" * 100_000 + "\n")


@case(
    "baseline-deeply-nested", LIMITS, "check", *MODEL_A, "--baseline", "baseline.json", probe=False
)
def baseline_nested(s: Scratch, shared: Path) -> None:
    s.write("baseline.json", "[" * 100_000 + "]" * 100_000)


@case("config-huge-integer", LIMITS, "check", *MODEL_A, probe=False)
def config_huge_int(s: Scratch, shared: Path) -> None:
    config(s, "samples = 1" + "0" * 5000 + "\n")


@case(
    "baseline-huge-integer", LIMITS, "check", *MODEL_A, "--baseline", "baseline.json", probe=False
)
def baseline_huge_int(s: Scratch, shared: Path) -> None:
    s.write("baseline.json", '{"format": "overfitlint-baseline", "version": 1' + "0" * 5000 + "}")


@case("config-unknown-user-home", LIMITS, "check", *MODEL_A, probe=False)
def config_unknown_user(s: Scratch, shared: Path) -> None:
    config(s, 'output-dir = "~ofl_no_such_user/x"\n')


@case("unreadable-model", LIMITS, "check", *MODEL_A, probe=False, unprivileged=True)
def unreadable_model(s: Scratch, shared: Path) -> None:
    (s.repo / "models/a/model.onnx").chmod(0)


@case("unreadable-log", LIMITS, "check", *MODEL_A, probe=False, unprivileged=True)
def unreadable_log(s: Scratch, shared: Path) -> None:
    (s.repo / "models/a/logs.csv").chmod(0)


@case("unreadable-config", LIMITS, "check", *MODEL_A, probe=False, unprivileged=True)
def unreadable_config(s: Scratch, shared: Path) -> None:
    config(s, "samples = 100\n").chmod(0)


# ============================================================================ already held


@case("zip-slip-keras", HELD, "check", KM, needs=H5, expect=Expect(exit_code=2))
def zip_slip_keras(s: Scratch, shared: Path) -> None:
    members = payloads.read_zip(_keras(shared) / "plain.keras")
    members["../../escaped.txt"] = b"escaped"
    members["assets/../../../escaped2.txt"] = b"escaped"
    payloads.write_zip(s.path(KM), members)


@case("zip-slip-pt", HELD, "check", "models/p/model.pt", needs=TORCH)
def zip_slip_pt(s: Scratch, shared: Path) -> None:
    path = _torch().checkpoint(s.path("models/p/model.pt"), None)
    members = payloads.read_zip(path)
    members["archive/../../../escaped.txt"] = b"escaped"
    payloads.write_zip(path, members)


@case("yaml-tags-in-hparams", HELD, "check", "runs/version_0/metrics.csv", *TEXT_AND_JSON)
def yaml_tags(s: Scratch, shared: Path) -> None:
    """hparams.yaml with PyYAML's Python tags (object/apply, object/new)."""
    loss, val = log_builders.overfit_curve(12, 5)
    steps = [v for v in loss for _ in range(2)]
    command = f"touch {s.marker('yaml')}"
    hparams = (
        f"batch_size: !!python/object/apply:os.system [{json.dumps(command)}]\n"
        f"lr: !!python/object/new:subprocess.check_call [[touch, {s.marker('yaml-new')}]]\n"
        "hidden: 128\n"
    )
    log_builders.lightning_metrics_csv(s.repo / "runs" / "version_0", steps, val, hparams=hparams)


@case("savedmodel-hostile-keras-metadata", HELD, "check", "models/sm", *TEXT_AND_JSON)
def savedmodel_metadata(s: Scratch, shared: Path) -> None:
    """A tf.keras SavedModel whose keras_metadata.pb config holds a Lambda with bytecode, a
    layer named after os.system and a Dense whose activation is builtins.exec."""
    target = s.repo / "models" / "sm"
    shutil.copytree(FIXTURES / "keras2" / "savedmodel", target)

    def edit(metadata):
        layers = metadata["config"]["layers"]
        function = payloads.lambda_function(s.marker_code("savedmodel"))
        layers.insert(1, {"class_name": "Lambda", "config": {"name": "lam", "function": function}})
        layers.insert(2, {"module": "os", "class_name": "system", "config": {"name": "sys"}})
        dense = next(layer for layer in layers if layer.get("class_name") == "Dense")
        dense["config"]["activation"] = payloads.keras_function("builtins", "exec")

    payloads.edit_keras_metadata(target / "keras_metadata.pb", edit)


# ============================================================================ what is open

# The cases that do not hold, and why: each is a strict xfail, so a fix that makes one hold
# fails the suite until its line goes. The one left is inherent to how Python starts ``-m``.

OPEN: dict[str, str] = {
    # code runs
    "shadow-imports-python-m": "inherent to plain python -m: the working folder comes first on "
    "sys.path, so a committed overfitlint/ package runs before any of ours (json.py, numpy.py and "
    "click.py are no longer imported); run python -I -m overfitlint or the console script "
    "(SECURITY.md, action.yml)",
}
