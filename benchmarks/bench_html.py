"""Size and render time of the HTML report as logs grow.

    python benchmarks/bench_html.py [--epochs 1000 10000 100000] [--repeat 3]

For each length it writes a noisy Keras-CSVLogger log (loss, val_loss, accuracy,
val_accuracy; the validation loss turns up a third of the way in), runs
``overfitlint check LOG --format json`` once, then times ``render_html`` on that
document (best of ``--repeat``) and reports the file size. Goal: under 300 KB for
a 1,000-epoch log; the size must stay flat as the log grows (curves are thinned).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from overfitlint.render.html import render_html


def write_log(path: Path, epochs: int) -> Path:
    rng = random.Random(0)
    turn = epochs / 3
    rows = ["epoch,accuracy,loss,val_accuracy,val_loss"]
    for e in range(epochs):
        decay = math.exp(-e / (epochs / 12))
        loss = 2.3 * decay + 0.001 + rng.random() * 0.002
        val = 2.3 * decay + 0.3 + max(0.0, (e - turn) / epochs) + rng.random() * 0.05
        acc = min(1.0, 0.1 + e / epochs)
        rows.append(f"{e},{acc:.4f},{loss:.6f},{0.6 + rng.random() * 0.05:.4f},{val:.6f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'epochs':>8} {'render s':>9} {'HTML bytes':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for epochs in args.epochs:
            log = write_log(Path(tmp) / f"log-{epochs}.csv", epochs)
            command = ["check", str(log), "--format", "json", "--no-report", "--no-probe"]
            out = subprocess.run(
                [sys.executable, "-m", "overfitlint", *command],
                capture_output=True,
                text=True,
                check=False,
            )
            document = json.loads(out.stdout)
            best, html = math.inf, ""
            for _ in range(args.repeat):
                start = time.perf_counter()
                html = render_html(document)
                best = min(best, time.perf_counter() - start)
            print(f"{epochs:>8} {best:>9.3f} {len(html.encode()):>11,}")


if __name__ == "__main__":
    main()
