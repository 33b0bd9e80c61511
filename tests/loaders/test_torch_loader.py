"""PyTorch files: checkpoints and their optimizers, TorchScript, torch.export, safetensors,
factories, and the pickle safety line: every pickle is read as data, nothing is run."""

from __future__ import annotations

import json
import pickle
import textwrap

import pytest

from overfitlint import api
from overfitlint.errors import InputError
from overfitlint.facts import OptimizerFacts, Unknown

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from tests.builders import torch_models  # noqa: E402


def _load(path, **settings):
    return api.read_model(path, **settings)


def _checkpoint_with(tmp_path, optimizer_factory, name="ckpt.pt", **extra):
    module, example = torch_models.build("mlp")
    optimizer = optimizer_factory(module.parameters())
    torch_models.train_step(module, example, optimizer)
    return torch_models.save_checkpoint(module, tmp_path / name, optimizer, **extra), module


OPTIMIZERS = [
    ("SGD", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4), 5e-4, False),
    ("Adam", lambda p: torch.optim.Adam(p, lr=1e-3, weight_decay=1e-4), 1e-4, False),
    ("AdamW", lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.05), 0.05, True),
    ("RMSprop", lambda p: torch.optim.RMSprop(p, lr=1e-3, weight_decay=1e-5), 1e-5, False),
    ("Adagrad", lambda p: torch.optim.Adagrad(p, lr=1e-2, weight_decay=1e-3), 1e-3, False),
    (
        "NAdam",
        lambda p: torch.optim.NAdam(p, lr=1e-3, weight_decay=0.01, decoupled_weight_decay=True),
        0.01,
        True,
    ),
    ("Adafactor", lambda p: torch.optim.Adafactor(p, lr=1e-2, weight_decay=0.02), 0.02, True),
]


@pytest.mark.parametrize(
    ("kind", "factory", "decay", "decoupled"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS]
)
def test_optimizer_class_weight_decay_and_coupling(tmp_path, kind, factory, decay, decoupled):
    path, _ = _checkpoint_with(tmp_path, factory)
    optimizer = _load(path).optimizer
    assert isinstance(optimizer, OptimizerFacts)
    assert optimizer.kind == kind
    assert optimizer.weight_decay == pytest.approx(decay)
    assert optimizer.decoupled is decoupled
    assert optimizer.lr is not None


def test_adam_without_the_decoupling_key_is_not_guessed(tmp_path):
    # PyTorch < 2.6 wrote Adam and AdamW with the same param_group keys
    module, example = torch_models.build("mlp")
    optimizer = torch.optim.AdamW(module.parameters(), weight_decay=0.01)
    torch_models.train_step(module, example, optimizer)
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        del group["decoupled_weight_decay"]
    torch.save({"model": module.state_dict(), "optimizer": state}, tmp_path / "old.pt")
    facts = _load(tmp_path / "old.pt").optimizer
    assert facts.kind == "Adam or AdamW"
    assert facts.decoupled is None
    assert "does not say" in facts.source


def test_param_groups_with_different_decay(tmp_path):
    module, example = torch_models.build("mlp")
    decay = [p for n, p in module.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in module.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-4,
    )
    torch_models.train_step(module, example, optimizer)
    path = torch_models.save_checkpoint(module, tmp_path / "c.pt", optimizer)
    facts = _load(path).optimizer
    assert facts.weight_decay == pytest.approx(0.1)
    assert [g["weight_decay"] for g in facts.param_groups] == [0.1, 0.0]
    assert [g["tensors"] for g in facts.param_groups] == [3, 3]


def test_lightning_style_checkpoint(tmp_path):
    module, example = torch_models.build("convnet-batchnorm")
    optimizer = torch.optim.SGD(module.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    torch_models.train_step(module, example, optimizer)
    state = {f"model.{k}": v for k, v in module.state_dict().items()}
    torch.save(
        {
            "state_dict": state,
            "optimizer_states": [optimizer.state_dict()],
            "epoch": 7,
            "hyper_parameters": {"dropout": 0.1, "lr": 0.05},
        },
        tmp_path / "last.ckpt",
    )
    facts = _load(tmp_path / "last.ckpt")
    assert facts.trainable_params == torch_models.trainable(module)
    assert facts.optimizer.kind == "SGD"
    assert facts.optimizer.details["nesterov"] is True
    assert facts.provenance.details["epoch"] == 7
    assert facts.provenance.details["hyper_parameters"]["dropout"] == 0.1
    assert {layer.kind for layer in facts.layers} >= {"BatchNorm", "Conv2d"}


def test_bare_state_dict_counts_parameters_and_says_dropout_is_unknown(tmp_path):
    module, _ = torch_models.build("tied-embedding")
    torch.save(module.state_dict(), tmp_path / "weights.pth")
    facts = _load(tmp_path / "weights.pth")
    assert facts.trainable_params == torch_models.trainable(module)  # tied weight once
    assert isinstance(facts.dropout_visible, Unknown)
    assert "--weights" in facts.dropout_visible.remedy
    assert isinstance(facts.optimizer, Unknown)
    assert any("weight tying" in note for note in facts.notes)


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


@pytest.mark.parametrize("how", ["torch.save", "pickle", "legacy"])
@pytest.mark.parametrize("trust", [False, True])
def test_malicious_pickle_does_not_run(cli, check_inprocess, tmp_path, how, trust):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "model.pt"
    payload = {"state_dict": {"w": torch.zeros(2)}, "extra": _Payload(marker)}
    if how == "torch.save":
        torch.save(payload, path)
    elif how == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=4))
    # a fresh process, as a user runs it; --trust-pickle does not make the static check unpickle
    run = cli if how == "torch.save" else check_inprocess
    result = run("check", path, "--no-report", "--no-probe", *(["--trust-pickle"] if trust else []))
    assert result.code == 2
    assert not marker.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "builtins.exec" in lines[0] and "nothing from it was run" in lines[0]


def test_whole_module_is_read_as_data(check_inprocess, tmp_path):
    """torch.save(model): its classes are not imported (the module tree is read from the
    pickle's stand-ins) and no flag is needed."""
    module, _ = torch_models.build("mlp")
    torch.save(module, tmp_path / "whole.pt")
    result = check_inprocess(
        "check", tmp_path / "whole.pt", "--no-report", "--no-probe", "--format", "json"
    )
    model = result.json()["model"]
    assert model["trainable_params"] == torch_models.trainable(module)
    assert model["total_params"] == sum(p.numel() for p in module.parameters())
    assert [layer["dropout_rate"] for layer in model["layers"] if layer["kind"] == "Dropout"] == [
        0.3
    ]
    assert any("read as data" in note for note in model["notes"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda p: torch.save([1, 2, 3], p), "no model"),
        (lambda p: p.write_bytes(pickle.dumps({"a": 1}, protocol=4)), "no model"),
        (lambda p: torch.save({"epoch": 3, "note": "hi"}, p), "no model"),
    ],
    ids=["list", "plain-pickle", "dict-without-tensors"],
)
def test_non_model_pickles_fail_clearly(tmp_path, content, message):
    path = tmp_path / "thing.pt"
    content(path)
    with pytest.raises(InputError, match=message):
        _load(path)


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)

    def forward(self, x):
        return nn.functional.dropout(self.a(x), 0.35, self.training)


def test_torchscript_functional_dropout_is_found_in_the_graph(tmp_path):
    path = torch_models.save_torchscript(_Functional(), tmp_path / "f.pt")
    facts = _load(path)
    assert [layer.dropout_rate for layer in facts.dropout_layers] == [pytest.approx(0.35)]
    assert facts.format == "torchscript"


def test_torchscript_frozen_parameters_are_not_trainable(tmp_path):
    module, _ = torch_models.build("mlp")
    for parameter in module.net.parameters():
        parameter.requires_grad_(False)
    facts = _load(torch_models.save_torchscript(module, tmp_path / "frozen.pt"))
    assert facts.trainable_params == torch_models.trainable(module) == 64 * 4 + 4


def test_export_program_is_read_without_torch_and_keeps_input_shapes(tmp_path):
    module, example = torch_models.build("convnet-batchnorm")
    path = torch_models.save_export(module, example, tmp_path / "m.pt2")
    facts = _load(path)
    assert facts.format == "torch-export"
    assert facts.input_shapes == {"x": [2, 3, 8, 8]}
    kinds = {layer.name: layer.kind for layer in facts.layers}
    assert kinds["features.1"] == "BatchNorm2d" and kinds["head"] == "Linear"


def test_safetensors_with_inconsistent_offsets_is_refused(tmp_path):
    module, _ = torch_models.build("mlp")
    path = torch_models.save_safetensors(module, tmp_path / "m.safetensors")
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10**6, 10**6]
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + bytes(data[8 + size :]))
    with pytest.raises(InputError, match="does not fit its data"):
        _load(path)


FACTORY = textwrap.dedent(
    """
    import torch
    from torch import nn
    import torch.nn.functional as F

    print("user code says hello")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 16)
            self.b = nn.Linear(16, 2)

        def forward(self, x):
            return self.b(F.dropout(self.a(x), 0.2, self.training))

    def build():
        return Net()

    def broken():
        raise ValueError("no GPU here")
    """
)


def test_factory_with_weights_and_optimizer(cli, tmp_path):
    (tmp_path / "mymodels.py").write_text(FACTORY)
    import importlib.util

    spec = importlib.util.spec_from_file_location("mymodels_t", tmp_path / "mymodels.py")
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    model = user.build()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.02)
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "ck.pt"
    )
    result = cli(
        "check",
        "mymodels:build",
        "--weights",
        "ck.pt",
        "--no-report",
        "--no-probe",
        "--format",
        "json",
    )
    report = result.json()  # the factory's print went to stderr, stdout is clean JSON
    assert "user code says hello" in result.stderr
    facts = report["model"]
    assert facts["format"] == "torch-factory"
    assert facts["trainable_params"] == 8 * 16 + 16 + 16 * 2 + 2
    assert facts["optimizer"]["kind"] == "AdamW" and facts["optimizer"]["weight_decay"] == 0.02
    assert any(layer["kind"] == "Dropout" for layer in facts["layers"])  # functional dropout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("mymodels:broken",), "the factory raised ValueError: no GPU here"),
        (("mymodels:missing",), "mymodels has no missing"),
        (("nosuchpackage.models:build",), "cannot import nosuchpackage.models"),
        (("mymodels:build", "--weights", "other.pt"), "does not fit the model"),
        (("other.pt", "--weights", "other.pt"), "goes with a MODULE:CALLABLE"),
    ],
)
def test_factory_errors_are_one_line(check_inprocess, tmp_path, args, message):
    (tmp_path / "mymodels.py").write_text(FACTORY)
    torch.save({"model": nn.Linear(3, 3).state_dict()}, tmp_path / "other.pt")
    result = check_inprocess("check", *args, "--no-report", "--no-probe")
    assert result.code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("overfitlint:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
