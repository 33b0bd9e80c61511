"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, and example reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.render.inprocess import run_main

CHROMIUM = Path(os.environ.get("OVERFITLINT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "tests" / "output"
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """A page with every console message, page error and request recorded."""

    def __init__(self, browser, url: str, viewport: dict, color_scheme: str = "light"):
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport=viewport, color_scheme=color_scheme)
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.goto(url)
        self.url = url

    def outside_requests(self) -> list[str]:
        return [u for u in self.requests if u != self.url]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def visit(browser):
    pages: list[Visit] = []

    def open_page(path: Path, viewport: dict = DESKTOP, color_scheme: str = "light") -> Visit:
        page = Visit(browser, path.resolve().as_uri(), viewport, color_scheme)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


@pytest.fixture(scope="session")
def example_reports(tmp_path_factory) -> dict[str, Path]:
    """The HTML reports of the shipped examples, written by the CLI; "risk" is the overfitting
    example's model alone (no log to tell whether the risk was realised)."""
    out = tmp_path_factory.mktemp("reports")
    reports = {}
    for name in ("overfit", "healthy"):
        target = out / f"{name}.html"
        folder = EXAMPLES / name
        result = run_main(
            "check",
            folder / "model.onnx",
            folder / "logs.csv",
            "--samples",
            "2000",
            "--no-probe",
            "--report",
            target,
            cwd=out,
        )
        assert result.code in (0, 1), result.stderr
        reports[name] = target
    target = out / "risk.html"
    result = run_main(
        "check", EXAMPLES / "overfit" / "model.onnx", "--no-probe", "--report", target, cwd=out
    )
    assert result.code == 0, result.stderr
    reports["risk"] = target
    return reports
