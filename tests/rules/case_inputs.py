"""Model builders the declarative rule cases can name (``model: {builder: NAME, ...}``)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from tests.builders import onnx_models


def onnx_mlp(
    tmp: Path, sizes: list[int], dropout=None, producer="overfitlint-tests", opset: int = 17
) -> Path:
    return onnx_models.mlp(tmp / "model.onnx", sizes, dropout, producer, opset)


def torch_mlp_onnx(
    tmp: Path, sizes: list[int], dropout: float = 0.0, training_export: bool = False
) -> Path:
    """A torch MLP exported by torch.onnx.export (producer 'pytorch')."""
    import torch
    from torch import nn

    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return onnx_models.torch_export(
        nn.Sequential(*layers),
        torch.randn(2, sizes[0]),
        tmp / "model.onnx",
        training=training_export,
    )


def _torch_module(spec):
    """``["Linear", [20, 64]]`` -> nn.Linear(20, 64); ``["Sequential", [spec, ...]]`` nests;
    ``["torchvision.RandomHorizontalFlip", [0.5]]`` a torchvision transform module."""
    from torch import nn

    kind, args = spec[0], (spec[1] if len(spec) > 1 else [])
    if kind == "Sequential":
        return nn.Sequential(*(_torch_module(inner) for inner in args))
    if kind.startswith("torchvision."):
        from torchvision import transforms

        return getattr(transforms, kind.split(".", 1)[1])(*args)
    return getattr(nn, kind)(*args)


def torch_model(
    tmp: Path, layers: list, save: str = "torchscript", optimizer: dict | None = None
) -> Path:
    """An nn.Sequential from ``layers`` saved by TorchScript (``torch.jit.save``) or as a
    ``torch.save`` checkpoint with the optimizer's state_dict (``optimizer: {class: Adam,
    lr: 0.001, weight_decay: 0.01}``)."""
    import torch
    from torch import nn

    from tests.builders import torch_models

    torch.manual_seed(0)
    model = nn.Sequential(*(_torch_module(spec) for spec in layers))
    if save == "torchscript":
        return torch_models.save_torchscript(model, tmp / "model.pt")
    assert save == "checkpoint", save
    opt = None
    if optimizer is not None:
        options = dict(optimizer)
        opt = getattr(torch.optim, options.pop("class"))(model.parameters(), **options)
    return torch_models.save_checkpoint(model, tmp / "model.pt", opt)


def _keras_layer(keras, spec):
    """``["Dense", {units: 8, kernel_regularizer: {l2: 1e-4}}]`` -> keras.layers.Dense(...);
    ``["Sequential", [spec, ...], {name: augment}]`` nests a Sequential model."""
    kind = spec[0]
    if kind == "Sequential":
        options = spec[2] if len(spec) > 2 else {}
        return keras.Sequential([_keras_layer(keras, inner) for inner in spec[1]], **options)
    kwargs = dict(spec[1]) if len(spec) > 1 else {}
    for key, value in list(kwargs.items()):
        if key.endswith("_regularizer") and isinstance(value, dict):
            kwargs[key] = (
                keras.regularizers.L2(value["l2"])
                if set(value) == {"l2"}
                else keras.regularizers.L1L2(**value)
            )
    return getattr(keras.layers, kind)(**kwargs)


def keras_model(
    tmp: Path, layers: list, input_shape: list[int], optimizer: dict | str | None = None
) -> Path:
    """A keras.Sequential saved by Keras as ``model.keras``; compiled when ``optimizer`` is
    given (a name, or ``{class: Adam, learning_rate: 0.001, ...}``)."""
    from tests.builders import keras_models  # imports Keras (after torch: tests/conftest.py)

    keras = keras_models.keras
    keras.backend.clear_session()  # fresh automatic layer names (dense, dense_1, ...)
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input(tuple(input_shape)), *(_keras_layer(keras, spec) for spec in layers)]
        )
        if optimizer is not None:
            if isinstance(optimizer, dict):
                options = dict(optimizer)
                optimizer = getattr(keras.optimizers, options.pop("class"))(**options)
            model.compile(optimizer=optimizer, loss="mse")
        return keras_models.save_keras(model, tmp / "model.keras")
    finally:
        keras.backend.clear_session()  # and leave none used for the next test


def spectral_mlp(
    tmp: Path,
    sizes: list[int],
    heavy: tuple[int, ...] = (),
    frozen: tuple[int, ...] = (),
    outliers: int = 0,
    save: str = "checkpoint",
) -> Path:
    """A torch MLP for the weight-spectra rules (layers named 0, 2, 4 ...): the Linear layers
    listed in ``heavy`` get a power-law spectrum (alpha < 2), those in ``frozen``
    requires_grad=False, the first ``outliers`` outsized weights; saved as a state dict
    (``checkpoint``) or by TorchScript."""
    import torch
    from torch import nn

    from tests.spectra.weights import heavy_tail

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        for index in heavy:
            linears[index].weight.copy_(heavy_tail(linears[index].weight))
        for k in range(outliers):
            linears[0].weight[(7 * k) % sizes[1], (13 * k) % sizes[0]] = 3.0
    for index in frozen:
        linears[index].weight.requires_grad_(False)
    path = tmp / "model.pt"
    if save == "torchscript":
        torch.jit.save(torch.jit.script(model), path)
    else:
        torch.save(model.state_dict(), path)
    return path


BUILDERS: dict[str, Callable[..., Path]] = {
    "onnx_mlp": onnx_mlp,
    "torch_mlp_onnx": torch_mlp_onnx,
    "torch_model": torch_model,
    "keras_model": keras_model,
    "spectral_mlp": spectral_mlp,
}


def sweep_of_trials(trials: list[dict], tmp: Path):
    """A sweep from ``trials: [{curve: diverging|healthy|underfit, blend: DROPOUT,
    params: {...}, objective: last|best|NUMBER}]``: each trial's curves are written as a
    CSV log, read by the log loader, and ranked by its objective (lower is better)."""
    from overfitlint import api
    from overfitlint.loaders.trackers.run import Sweep, TrackedRun, choose_best
    from tests.builders.sweep_curves import blend, curve

    runs = []
    for index, spec in enumerate(trials):
        if "blend" in spec:
            curves = blend(spec["blend"], seed=index)
        else:
            curves = curve(spec["curve"], seed=index)
        path = tmp / f"trial{index}.csv"
        rows = zip(curves["train_loss"], curves["val_loss"], strict=True)
        path.write_text(
            "epoch,loss,val_loss\n" + "".join(f"{e},{t},{v}\n" for e, (t, v) in enumerate(rows)),
            encoding="utf-8",
        )
        loaded = api.read_log(path)
        wanted = spec.get("objective", "last")
        val = curves["val_loss"]
        objective = {"last": val[-1], "best": min(val)}.get(wanted, wanted)
        params = dict(spec.get("params", {}))
        runs.append(
            TrackedRun(
                f"trial {index}",
                f"trial {index}",
                params,
                loaded,
                "finished",
                objective=float(objective),
            )
        )
    return Sweep("cases", str(tmp), runs, choose_best(runs, "minimize"), "minimize")
