"""Weight spectra: overfitlint against WeightWatcher, each in a fresh process.

    pip install -c constraints.txt -r benchmarks/requirements-spectra.txt
    python benchmarks/bench_spectra.py [--device cpu|cuda] [--models resnet50,bert,mlp,cnn,1b]

Models (all generated here, nothing downloaded): torchvision ResNet-50 and a BERT-base-sized
``transformers.BertModel`` from its config, both at random initialisation; a small MLP and a
small CNN trained here for about a minute each (on scikit-learn's bundled digits, long enough
with Adam and no weight decay for heavy-tailed spectra); and a 1.1 B-parameter Llama-shaped
bfloat16 safetensors file written into a temporary folder (overfitlint only).

Per model: the wall time and peak memory of ``python -m overfitlint.spectra FILE --json`` (a
fresh process, imports included) against a fresh process that imports WeightWatcher, builds
the model, loads the same weights and runs ``WeightWatcher(model).analyze()``, whose
``analyze()`` is also timed alone; and the share of layers whose alpha agrees within 0.05,
over the layers both analyse. Goals: >= 5x faster than WeightWatcher on CPU for ResNet-50 and
BERT-base; the 1 B model in bounded memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN_SECONDS = 60.0
AGREEMENT = 0.05


def build(name: str):
    """The nn.Module of a benchmark model (random initialisation)."""
    from torch import nn

    if name == "resnet50":
        import torchvision

        return torchvision.models.resnet50(weights=None)
    if name == "bert":
        from transformers import BertConfig, BertModel

        return BertModel(BertConfig())
    if name == "mlp":
        return nn.Sequential(
            nn.Linear(64, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10)
        )
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(), nn.Flatten(), nn.Linear(128 * 64, 256), nn.ReLU(), nn.Linear(256, 10),
        )  # fmt: skip
    raise ValueError(name)


def train(model, name: str, seconds: float = TRAIN_SECONDS):
    """About ``seconds`` of Adam (lr 1e-3, no weight decay) on 1,000 digits: memorisation."""
    import torch
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data[:1000] / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target[:1000])
    if name == "cnn":
        x = x.reshape(-1, 1, 8, 8)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    deadline = time.perf_counter() + seconds
    steps = 0
    while time.perf_counter() < deadline:
        for batch in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
            steps += 1
    return steps


def prepare(name: str, folder: Path, seconds: float) -> tuple[Path, str]:
    import torch

    torch.manual_seed(0)
    model = build(name)
    if name in ("mlp", "cnn"):
        steps = train(model, name, seconds)
        print(f"  trained {name} for {steps} steps", file=sys.stderr, flush=True)
    if name == "bert":
        from safetensors.torch import save_file

        path = folder / "bert.safetensors"
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
        return path, "safetensors"
    path = folder / f"{name}.pt"
    torch.save(model.state_dict(), path)
    return path, "torch-checkpoint"


def write_llama_1b(path: Path) -> int:
    """A Llama-shaped bfloat16 safetensors file (hidden 2048, 22 layers, vocab 32000; random
    normal weights, std 0.02), written tensor by tensor. Returns the parameter count."""
    import numpy as np

    hidden, inter, kv, layers, vocab = 2048, 5632, 256, 22, 32000
    shapes = {"model.embed_tokens.weight": (vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        shapes |= {
            p + "self_attn.q_proj.weight": (hidden, hidden),
            p + "self_attn.k_proj.weight": (kv, hidden),
            p + "self_attn.v_proj.weight": (kv, hidden),
            p + "self_attn.o_proj.weight": (hidden, hidden),
            p + "mlp.gate_proj.weight": (inter, hidden),
            p + "mlp.up_proj.weight": (inter, hidden),
            p + "mlp.down_proj.weight": (hidden, inter),
            p + "input_layernorm.weight": (hidden,),
            p + "post_attention_layernorm.weight": (hidden,),
        }
    shapes |= {"model.norm.weight": (hidden,), "lm_head.weight": (vocab, hidden)}
    header, offset = {}, 0
    for key, shape in shapes.items():
        size = math.prod(shape) * 2
        header[key] = {
            "dtype": "BF16",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    rng = np.random.default_rng(0)
    with path.open("wb") as handle:
        handle.write(len(raw).to_bytes(8, "little") + raw)
        for shape in shapes.values():
            if len(shape) == 1:
                values = np.ones(shape, dtype=np.float32)
            else:
                values = rng.standard_normal(shape, dtype=np.float32) * 0.02
            handle.write((values.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    return sum(math.prod(shape) for shape in shapes.values())


def run_child(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:4]} failed with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024, out


def ww_child(name: str, path: str, out: str) -> None:
    """Runs in the WeightWatcher process: build, load, analyze, write alphas and timings."""
    import logging

    import torch
    import weightwatcher

    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    model = build(name)
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        model.load_state_dict(load_file(path))
    else:
        model.load_state_dict(torch.load(path, weights_only=True))
    started = time.perf_counter()
    details = weightwatcher.WeightWatcher(model=model).analyze()
    seconds = time.perf_counter() - started
    alphas = {str(row["longname"]): float(row["alpha"]) for _, row in details.iterrows()}
    Path(out).write_text(json.dumps({"analyze_s": seconds, "alphas": alphas}))


def agreement(ours: dict[str, float], theirs: dict[str, float]) -> tuple[int, int]:
    both = [key for key in theirs if key in ours and ours[key] is not None]
    within = sum(1 for key in both if abs(ours[key] - theirs[key]) <= AGREEMENT)
    return within, len(both)


def bench(name: str, folder: Path, device: str, with_ww: bool, seconds: float) -> dict:
    print(f"{name}:", flush=True)
    # built in a child: this process stays small, so each child's peak RSS is its own (Linux
    # carries the RSS of the forking process into a child's ru_maxrss)
    _, _, made = run_child(
        [sys.executable, str(Path(__file__)), "--prepare-child", name, str(folder), str(seconds)]
    )
    path = Path(made.strip().splitlines()[-1])
    ours_cmd = [
        sys.executable,
        "-m",
        "overfitlint.spectra",
        str(path),
        "--json",
        "--device",
        device,
    ]
    wall, rss, out = run_child(ours_cmd)
    report = json.loads(out)
    fast_wall, _, _ = run_child([*ours_cmd, "--no-traps"])
    alphas = {layer["name"]: layer["alpha"] for layer in report["layers"]}
    row = {
        "model": name,
        "layers": report["summary"]["analysed"],
        "ours_s": round(wall, 2),
        "ours_no_traps_s": round(fast_wall, 2),
        "ours_peak_mib": round(rss),
        "ours_analysis_s": report["summary"]["seconds"],
        "median_alpha": report["summary"]["alpha"]["median"],
    }
    if with_ww:
        result = folder / f"{name}.ww.json"
        ww_wall, ww_rss, _ = run_child(
            [sys.executable, str(Path(__file__)), "--ww-child", name, str(path), str(result)]
        )
        ww = json.loads(result.read_text())
        within, both = agreement(alphas, ww["alphas"])
        row |= {
            "ww_s": round(ww_wall, 2),
            "ww_analyze_s": round(ww["analyze_s"], 2),
            "ww_peak_mib": round(ww_rss),
            "speedup": round(ww_wall / wall, 1),
            "speedup_vs_analyze": round(ww["analyze_s"] / wall, 1),
            "agree": f"{within}/{both}",
        }
    print("  " + json.dumps(row), flush=True)
    return row


def bench_1b(folder: Path, device: str) -> dict:
    path = folder / "llama-1b.safetensors"
    started = time.perf_counter()
    params = write_llama_1b(path)
    print(f"1b: wrote {params / 1e9:.2f} B parameters in {time.perf_counter() - started:.0f}s",
          flush=True)  # fmt: skip
    wall, rss, out = run_child(
        [sys.executable, "-m", "overfitlint.spectra", str(path), "--json", "--device", device]
    )
    summary = json.loads(out)["summary"]
    row = {
        "model": "llama-1.1b-bf16",
        "params": params,
        "file_gib": round(path.stat().st_size / 2**30, 2),
        "layers": summary["analysed"],
        "ours_s": round(wall, 1),
        "ours_peak_mib": round(rss),
        "median_alpha": summary["alpha"]["median"],
    }
    print("  " + json.dumps(row), flush=True)
    return row


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--ww-child":
        ww_child(*sys.argv[2:5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--prepare-child":
        made, _ = prepare(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]))
        print(made)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--models", default="resnet50,bert,mlp,cnn,1b")
    parser.add_argument("--no-weightwatcher", action="store_true")
    parser.add_argument("--train-seconds", type=float, default=TRAIN_SECONDS)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-spectra-") as tmp:
        folder = Path(tmp)
        for name in args.models.split(","):
            if name == "1b":
                rows.append(bench_1b(folder, args.device))
            else:
                with_ww = not args.no_weightwatcher
                rows.append(bench(name, folder, args.device, with_ww, args.train_seconds))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
