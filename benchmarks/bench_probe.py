"""Benchmark the probe: budget, loop overhead, and (on a GPU) throughput and memory.

    python benchmarks/bench_probe.py            # everything this machine can run
    python benchmarks/bench_probe.py --quick    # fewer steps and repeats

1. The whole probe on the shipped examples, through the command line, against its budget
   (wall time of the run, the probe's own seconds, and a run with a tiny budget to show the cap).
2. Memorization-probe throughput against a plain hand-written torch training loop on the same
   model, batch and device (same autocast dtype), measured side by side, alternating, the best of
   several repeats (the fastest of each): the probe's overhead must stay under 10%.
3. On CUDA: device, samples/s and peak GPU memory for a small CNN and a ~25M-parameter model
   (ResNet-50), and the host syncs per step seen by torch.cuda.set_sync_debug_mode("warn").

Results are printed and written to benchmarks/output/bench_probe.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OUT = ROOT / "benchmarks" / "output"
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from overfitlint.probe import torch_loops  # noqa: E402
from overfitlint.probe.device import choose_device, detect_torch_caps  # noqa: E402

OVERHEAD_LIMIT = 0.10


# --- 1. the whole probe against its budget ---------------------------------------------------


def probe_on_examples(budget: float) -> list[dict]:
    runs = [
        ("overfit + data", EXAMPLES / "overfit", ["--data", EXAMPLES / "overfit" / "data.npz"],
         budget),
        ("overfit, no data", EXAMPLES / "overfit", [], budget),
        ("healthy", EXAMPLES / "healthy", [], budget),
        ("overfit + data, tiny budget", EXAMPLES / "overfit",
         ["--data", EXAMPLES / "overfit" / "data.npz"], 3.0),
    ]  # fmt: skip
    rows = []
    for name, folder, extra, limit in runs:
        command = [
            sys.executable, "-m", "overfitlint", "check", folder / "model.onnx",
            folder / "logs.csv", "--samples", "2000", "--format", "json", "--no-report",
            "--probe-budget", str(limit), *extra,
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(
            [str(c) for c in command], capture_output=True, text=True, cwd=ROOT, check=False
        )
        wall = time.perf_counter() - started
        report = json.loads(done.stdout)
        probe = report["run"]["probe"]
        statuses = {f["code"]: f["probe"]["status"] for f in report["findings"] if f.get("probe")}
        rows.append(
            {
                "run": name,
                "budget_s": limit,
                "probe_s": probe.get("seconds"),
                "wall_s": round(wall, 2),
                "within_budget": probe.get("seconds", 0) <= limit,
                "status": probe["status"],
                "reason": probe.get("reason", ""),
                "verdicts": statuses,
            }
        )
        print(
            f"  {name:<30} budget {limit:5.1f} s  probe {probe.get('seconds', 0):6.2f} s  "
            f"wall {wall:6.2f} s  {probe['status']}  {statuses}"
        )
    return rows


# --- 2. probe loop vs a plain loop -----------------------------------------------------------


def plain_loop(model, xs, ys, *, plan, batch, steps, lr=1e-3) -> float:
    """What a practitioner writes: shuffle, forward under autocast, backward, step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = torch.amp.GradScaler(plan.device_type, enabled=plan.grad_scaler)
    n = len(xs)
    generator = torch.Generator(device=plan.device).manual_seed(0)
    model.train()
    _sync(plan)
    started = time.perf_counter()
    done = 0
    while done < steps:
        order = torch.randperm(n, device=plan.device, generator=generator)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            with torch_loops.autocast(plan):
                loss = nn.functional.cross_entropy(model(xs[index]).float(), ys[index])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            done += 1
            if done >= steps:
                break
    _sync(plan)
    return time.perf_counter() - started


def probe_loop(model, x, y, *, plan, batch, steps) -> tuple[float, int]:
    _sync(plan)
    stats = torch_loops.memorize(
        model, x, y, task="classes", head="logits", plan=plan, deadline=None, batch=batch,
        max_steps=steps, stop_fraction=2.0, plateau_checks=10**9, seed=0,
    )  # fmt: skip
    _sync(plan)
    return stats.seconds, stats.steps


def _sync(plan) -> None:
    if plan.device_type == "cuda":
        torch.cuda.synchronize()


def compare_loops(name, build, shape, classes, *, plan, n, batch, steps, repeats) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, *shape), dtype=np.float32)
    y = rng.integers(0, classes, n).astype(np.int64)
    mover = torch_loops.Mover(plan)
    xs, ys = mover(x), mover(y)
    probe_times, plain_times = [], []
    warm = build().to(plan.device)
    plain_loop(warm, xs, ys, plan=plan, batch=batch, steps=min(steps, 10))  # warm-up
    for _ in range(repeats):  # alternate, so that drifting machine load hits both alike
        model = build().to(plan.device)
        seconds, done = probe_loop(model, x, y, plan=plan, batch=batch, steps=steps)
        probe_times.append(seconds / done)
        model = build().to(plan.device)
        plain_times.append(plain_loop(model, xs, ys, plan=plan, batch=batch, steps=steps) / steps)
    # the least disturbed run of each (as timeit does): other processes only ever add time
    probe_step, plain_step = min(probe_times), min(plain_times)
    overhead = probe_step / plain_step - 1
    row = {
        "model": name,
        "params": sum(p.numel() for p in build().parameters()),
        "device": plan.device,
        "amp": plan.amp_dtype,
        "batch": batch,
        "steps": steps,
        "probe_samples_per_s": round(batch / probe_step, 1),
        "plain_samples_per_s": round(batch / plain_step, 1),
        "overhead": round(overhead, 4),
        "within_limit": overhead < OVERHEAD_LIMIT,
    }
    print(
        f"  {name:<22} {row['params']:>11,} params  probe {row['probe_samples_per_s']:>10,.0f}/s"
        f"  plain {row['plain_samples_per_s']:>10,.0f}/s  overhead {100 * overhead:+.1f}%"
    )
    return row


# --- models ----------------------------------------------------------------------------------


def example_mlp() -> nn.Module:
    import onnx2torch

    return onnx2torch.convert(str(EXAMPLES / "overfit" / "model.onnx"))


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10),
    )  # fmt: skip


def resnet50() -> nn.Module:
    import torchvision

    return torchvision.models.resnet50(num_classes=100)  # 23.7 M parameters


# --- 3. GPU ----------------------------------------------------------------------------------


def gpu_runs(plan, *, steps: int) -> list[dict]:
    rows = []
    for name, build, shape, classes, n, batch in (
        ("small CNN (32x32)", small_cnn, (3, 32, 32), 10, 4096, 256),
        ("ResNet-50 (224x224)", resnet50, (3, 224, 224), 100, 512, 64),
    ):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((n, *shape), dtype=np.float32)
        y = rng.integers(0, classes, n).astype(np.int64)
        model = build().to(plan.device)
        torch_loops.reinitialise(model, 0)
        probe_loop(model, x[: batch * 2], y[: batch * 2], plan=plan, batch=batch, steps=3)
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seconds, done = probe_loop(model, x, y, plan=plan, batch=batch, steps=steps)
        torch.cuda.set_sync_debug_mode(0)
        syncs = sum("synchroniz" in str(w.message).lower() for w in caught)
        row = {
            "model": name,
            "params": sum(p.numel() for p in model.parameters()),
            "device": torch.cuda.get_device_name(plan.device),
            "amp": plan.amp_dtype,
            "batch": batch,
            "steps": done,
            "samples_per_s": round(done * batch / seconds, 1),
            "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3),
            "host_syncs": syncs,
        }
        rows.append(row)
        print(
            f"  {name:<22} {row['params']:>11,} params  {row['samples_per_s']:>10,.0f} samples/s"
            f"  peak {row['peak_memory_gib']:.2f} GiB  {syncs} host syncs in {done} steps"
        )
        del model
        torch.cuda.empty_cache()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--budget", type=float, default=60.0, help="probe budget for part 1")
    parser.add_argument("--device", default="auto", help="device for parts 2 and 3")
    parser.add_argument("--skip-examples", action="store_true", help="skip part 1")
    args = parser.parse_args()
    steps, repeats = (100, 3) if args.quick else (300, 5)
    plan = choose_device(args.device, detect_torch_caps())
    if plan.device_type == "cpu":
        torch.set_num_threads(1)  # as the probe does for small models on CPU
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "device": plan.device,
            "device_name": plan.name,
            "amp": plan.amp_dtype,
        }
    }
    if not args.skip_examples:
        print(f"1. The whole probe on the examples (CPU or {plan.device} as auto chooses):")
        result["examples"] = probe_on_examples(args.budget)
    print(f"2. Memorization probe vs a plain loop on {plan.device} ({plan.name}):")
    cpu = plan.device_type == "cpu"
    loops = [
        compare_loops("example MLP (onnx2torch)", example_mlp, (20,), 4, plan=plan, n=512,
                      batch=128, steps=steps, repeats=repeats),
        compare_loops("small CNN (32x32)", small_cnn, (3, 32, 32), 10, plan=plan,
                      n=256 if cpu else 4096, batch=32 if cpu else 256,
                      steps=max(20, steps // 10) if cpu else steps, repeats=repeats),
    ]  # fmt: skip
    result["loops"] = loops
    if plan.device_type == "cuda":
        print(f"3. GPU: {plan.name}")
        result["gpu"] = gpu_runs(plan, steps=steps)
    else:
        print("3. GPU: none here (CUDA not available); run this script on a GPU machine")
        result["gpu"] = None
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_probe.json").write_text(json.dumps(result, indent=2))
    print(f"written: {OUT / 'bench_probe.json'}")
    ok = all(r["within_limit"] for r in loops) and all(
        r["within_budget"] for r in result.get("examples", [])
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
