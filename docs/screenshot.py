"""Regenerate docs/report.png, the README's picture of an HTML report.

    python docs/screenshot.py

Runs ``overfitlint check`` on examples/overfit (probe included, when it can run) and
photographs the top of the report (verdict and learning curves) in headless Chromium.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        example = ROOT / "examples" / "overfit"
        command = ["check", "model.onnx", "logs.csv", "--samples", "2000", "--report", str(report)]
        subprocess.run(
            [sys.executable, "-m", "overfitlint", *command],
            cwd=example,
            check=False,
            capture_output=True,
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(report.as_uri())
            bottom = page.evaluate(
                "() => document.querySelector('#chart-loss').getBoundingClientRect().bottom"
            )
            target = ROOT / "docs" / "report.png"
            page.screenshot(
                path=str(target),
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1000, "height": bottom + 12},
            )
            browser.close()
    print(f"{target}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
