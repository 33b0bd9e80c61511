"""The cost of the whole static check against the cost of the framework's own loader.

Each measurement is a fresh process (start-up and imports included), the median of
``--repeat`` runs, both sides measured in the same run on the same files:

1. a ~30M-parameter ONNX model stored inline (~115 MB):
   ``overfitlint check big.onnx --no-probe --no-report`` against the floor
   ``python -c "import onnx; onnx.load(f, load_external_data=False)"``;
   the goal is at most 1.3x the floor;
2. the same model with its tensors in an external ``.data`` file, against the same
   ``onnx.load(..., load_external_data=False)`` and against ``onnx.load`` reading the data;
3. a ~30M-parameter ``.keras`` model against ``keras.saving.load_model(f, compile=False)``.

    python benchmarks/bench_static_load.py [--repeat 5] [--params 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 1.3


def fresh(command: list[str], repeat: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of ``command`` in a fresh process; fails loudly on a bad exit."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-800:]}")
    return statistics.median(times)


def mlp_sizes(millions: float) -> list[int]:
    """An MLP of about ``millions`` million parameters (4 dense layers)."""
    # 2 w^2 + 500 w parameters, solved for w
    width = int((-500 + (500**2 + 8 * millions * 1e6) ** 0.5) / 4)
    return [width // 2, width, width, width // 2, 1000]


def build_onnx(folder: Path, millions: float) -> tuple[Path, Path, int]:
    import onnx

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.builders import onnx_models

    sizes = mlp_sizes(millions)
    inline = onnx_models.mlp(folder / "big.onnx", sizes)
    external = folder / "external" / "big.onnx"
    external.parent.mkdir()
    model = onnx.load(str(inline))
    onnx.save(model, str(external), save_as_external_data=True, location="big.onnx.data")
    return inline, external, onnx_models.mlp_params(sizes)


def build_keras(folder: Path, millions: float) -> tuple[Path, int]:
    script = f"""
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
sizes = {mlp_sizes(millions)!r}
model = keras.Sequential([keras.Input((sizes[0],))] + [
    keras.layers.Dense(n, activation="relu") for n in sizes[1:-1]] + [
    keras.layers.Dropout(0.2), keras.layers.Dense(sizes[-1])])
model.compile(optimizer=keras.optimizers.AdamW(weight_decay=0.01), loss="mse")
model.save({str(folder / "big.keras")!r})
print(model.count_params())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return folder / "big.keras", int(done.stdout.split()[-1])


def check(path: Path) -> list[str]:
    return [sys.executable, "-m", "overfitlint", "check", str(path), "--no-probe", "--no-report"]


def row(name: str, ours: float, floor: float, what: str) -> str:
    return f"| {name} | {ours:.3f} s | {floor:.3f} s ({what}) | {ours / floor:.2f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--params", type=float, default=30.0, help="millions of parameters")
    parser.add_argument("--keep", type=Path, help="build the files here and keep them")
    parser.add_argument("--skip-keras", action="store_true")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="overfitlint-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    inline, external, params = build_onnx(folder, args.params)
    env = {**os.environ, "NO_COLOR": "1"}
    onnx_floor = [
        sys.executable,
        "-c",
        "import onnx, sys; onnx.load(sys.argv[1], load_external_data=False)",
    ]
    onnx_full = [sys.executable, "-c", "import onnx, sys; onnx.load(sys.argv[1])"]

    print(f"ONNX MLP, {params:,} parameters, {inline.stat().st_size / 1e6:.1f} MB inline")
    print(f"{os.cpu_count()} CPUs; median of {args.repeat} fresh processes each\n")
    print("| case | overfitlint check | floor | ratio |")
    print("|---|---|---|---|")
    ours = fresh(check(inline), args.repeat, env)
    floor = fresh([*onnx_floor, str(inline)], args.repeat, env)
    print(row("ONNX inline", ours, floor, "onnx.load, no external data"))
    verdict = "meets" if ours <= GOAL * floor else "MISSES"
    ours_ext = fresh(check(external), args.repeat, env)
    floor_ext = fresh([*onnx_floor, str(external)], args.repeat, env)
    full_ext = fresh([*onnx_full, str(external)], args.repeat, env)
    print(row("ONNX external data", ours_ext, floor_ext, "onnx.load, no external data"))
    print(row("ONNX external data", ours_ext, full_ext, "onnx.load with the data"))
    if not args.skip_keras:
        keras_file, keras_params = build_keras(folder, args.params)
        keras_load = [
            sys.executable,
            "-c",
            "import os, sys; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; import keras; "
            "keras.saving.load_model(sys.argv[1], compile=False)",
        ]
        ours_keras = fresh(check(keras_file), args.repeat, env)
        floor_keras = fresh([*keras_load, str(keras_file)], args.repeat, env)
        size = keras_file.stat().st_size / 1e6
        print(
            row(
                f".keras ({keras_params:,} params, {size:.0f} MB)",
                ours_keras,
                floor_keras,
                "keras.saving.load_model",
            )
        )
    print(f"\nONNX inline: {ours / floor:.2f}x the floor, goal <= {GOAL}x: {verdict}")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
