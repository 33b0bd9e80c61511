"""``python -m overfitlint.spectra MODEL [--json] [--device cpu|cuda] [--reference BASE]``:
the per-layer spectra of a model file as a table (or JSON), until ``overfitlint check
--spectral`` shows them in its reports."""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from overfitlint.errors import InputError
from overfitlint.spectra.analysis import LayerSpectrum, SpectralSummary, analyze_model
from overfitlint.spectra.tensors import FORMATS

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def sniff_format(path: Path) -> str:
    """The format of ``path`` from its content (a small stand-in for overfitlint's detection)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if head.startswith(HDF5_MAGIC):
        return "keras-h5"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if "model.weights.h5" in names:
            return "keras"
        if any(name.endswith("/data.pkl") for name in names):
            code = any("/code/" in name for name in names)
            return "torchscript" if code else "torch-checkpoint"
        raise InputError(f"{path}: a zip archive that is neither a Keras nor a PyTorch archive")
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    if path.suffix.lower() == ".onnx":
        return "onnx"
    raise InputError(f"{path}: not a model file weight spectra read ({', '.join(FORMATS)})")


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(layers: list[LayerSpectrum], summary: SpectralSummary) -> str:
    header = (
        f"{'layer':<40} {'kind':<9} {'evals':>6} {'alpha':>6} {'alpha_w':>8} {'log_sn':>7} "
        f"{'st_rank':>8} {'traps':>5}  {'status':<13} origin"
    )
    lines = [header, "-" * len(header)]
    for layer in layers:
        name = layer.name if len(layer.name) <= 40 else "…" + layer.name[-39:]
        traps = "-" if layer.traps is None else str(layer.traps)
        lines.append(
            f"{name:<40} {layer.kind:<9} {layer.num_evals:>6} {_number(layer.alpha):>6} "
            f"{_number(layer.alpha_weighted):>8} {_number(layer.log_spectral_norm):>7} "
            f"{_number(layer.stable_rank, 1):>8} {traps:>5}  {layer.status:<13} {layer.origin}"
        )
    alpha = summary.alpha
    lines.append("")
    lines.append(
        f"{summary.analysed} layer(s) fitted in {summary.seconds:.2f}s ({summary.backend}, "
        f"{summary.device}); alpha mean {_number(alpha['mean'])}, median "
        f"{_number(alpha['median'])}, p10-p90 {_number(alpha['p10'])}-{_number(alpha['p90'])}"
    )
    for label, names in (
        ("over-trained (alpha < 2)", summary.over_trained),
        ("under-trained (alpha > 6)", summary.under_trained),
        ("correlation traps", summary.trap_layers),
        ("too small to fit", summary.too_small),
    ):
        if names:
            lines.append(f"{label}: {', '.join(names)}")
    for skipped in summary.skipped:
        lines.append(f"skipped {skipped['name']}: {skipped['reason']}")
    for reason in summary.fine_tune:
        lines.append(f"fine-tune: {reason}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m overfitlint.spectra",
        description="Per-layer weight spectra (WeightWatcher's alpha and norm metrics).",
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--format", choices=FORMATS, help="the model format (default: sniffed)")
    parser.add_argument("--reference", type=Path, help="the base model of a fine-tune")
    parser.add_argument("--no-traps", action="store_true", help="skip the correlation-trap test")
    args = parser.parse_args(argv)
    try:
        fmt = args.format or sniff_format(args.model)
        reference_format = sniff_format(args.reference) if args.reference else None
        layers, summary = analyze_model(
            args.model,
            fmt,
            device=args.device,
            progress=True,
            reference=args.reference,
            reference_format=reference_format,
            traps=not args.no_traps,
        )
    except (InputError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        payload = {"layers": [layer.to_dict() for layer in layers], "summary": summary.to_dict()}
        print(json.dumps(payload, indent=2))
    else:
        print(render_table(layers, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
