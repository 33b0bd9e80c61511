"""The HTML report in a real browser: no errors, no network, charts and findings on screen."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, NARROW
from tests.conftest import EXAMPLES, write
from tests.render.inprocess import run_main
from tests.unit.test_html_report import IMG, SCRIPT, hostile_model

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": DESKTOP, "narrow": NARROW}

# The colours of every piece of text that matters, with the background it sits on.
CONTRAST_PROBE = """() => {
  const opaque = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.endsWith(', 0)') && bg !== 'transparent') return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const picks = ['body', 'p.muted', '.counts li', '.badge', '.finding .where', 'a',
                 '.tile .label', '.tile .detail', 'table.evidence td', '.chart .summary', 'code',
                 '.verdict .headline', '.verdict .reason', '.gate strong', 'ul.adjustments li'];
  const out = [];
  for (const sel of picks) {
    for (const el of [...document.querySelectorAll(sel)].slice(0, 6)) {
      if (!el.offsetParent && el.tagName !== 'BODY') continue;
      out.push([sel, getComputedStyle(el).color, opaque(el)]);
    }
  }
  return out;
}"""


def _rgb(css: str) -> tuple[float, ...]:
    inside = css[css.index("(") + 1 : css.index(")")]
    return tuple(float(v) for v in inside.replace("/", ",").split(",")[:3])


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(_rgb(fg)), _luminance(_rgb(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def assert_clean(page) -> None:
    problems = [m for m in page.console if m[0] in ("error", "warning")]
    assert not problems, problems
    assert not page.errors, page.errors
    assert not page.outside_requests(), page.outside_requests()


def assert_fits(page) -> None:
    widths = page.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


@pytest.mark.parametrize("width", VIEWPORTS)
def test_overfit_report(visit, example_reports, width):
    page = visit(example_reports["overfit"], VIEWPORTS[width])
    assert_clean(page)
    assert_fits(page)
    p = page.page
    assert p.locator("#verdict-h").inner_text() == "Overfitting"
    assert p.locator("#verdict").get_attribute("data-verdict") == "overfitting"
    assert "fails at --fail-on warning" in p.locator("#gate").inner_text()
    assert p.locator(".lead").is_visible()
    charts = p.locator("svg.plot:visible")
    assert charts.count() == 2  # loss, accuracy: one drawing each for this width
    for i in range(2):
        assert charts.nth(i).locator("path.series").count() == 2  # training and validation
        assert charts.nth(i).get_attribute("role") == "img"
        assert charts.nth(i).locator("title").count() >= 1
    # the verdict banner's colour is the verdict's: red for overfitting
    banner = p.locator("#verdict").evaluate("e => getComputedStyle(e).borderLeftColor")
    headline = p.locator("#verdict-h").evaluate("e => getComputedStyle(e).color")
    assert banner == headline and _rgb(banner)[0] > 2 * _rgb(banner)[1]
    loss = charts.nth(0)
    assert loss.locator("line.best").count() == 1
    assert loss.locator("line.onset").count() == 1
    assert loss.locator("rect.shade").count() == 1
    box = loss.bounding_box()
    assert box["width"] > 0.8 * (VIEWPORTS[width]["width"] - 60)
    findings = p.locator("article.finding")
    codes = {findings.nth(i).get_attribute("data-code") for i in range(findings.count())}
    assert {"OFL101", "OFL201", "OFL301"} <= codes
    for i in range(findings.count()):
        assert findings.nth(i).is_visible()
    rule_link = p.locator("article.finding[data-code=OFL301] h3 a")
    assert rule_link.get_attribute("href") == "#rule-OFL301"
    assert p.locator("#rule-OFL301").is_visible()
    assert p.locator("table.layers tbody tr").count() == 3
    page.screenshot(f"overfit-{width}")


@pytest.mark.parametrize("width", VIEWPORTS)
def test_healthy_report(visit, example_reports, width):
    page = visit(example_reports["healthy"], VIEWPORTS[width])
    assert_clean(page)
    assert_fits(page)
    p = page.page
    assert p.locator("#verdict-h").inner_text() == "Healthy: no sign of overfitting"
    assert "passes at --fail-on warning" in p.locator("#gate").inner_text()
    assert p.locator(".verdict .checked").is_visible()  # what was checked and passed
    # only notes (the early-stopping signature), nothing at warning or above
    assert p.locator("article.finding:not([data-severity=info])").count() == 0
    charts = p.locator("svg.plot:visible")
    assert charts.count() == 2
    for i in range(2):
        assert charts.nth(i).locator("path.series").count() == 2
    assert charts.nth(0).locator("line.best").count() == 1
    assert charts.nth(0).locator("line.onset").count() == 0  # nothing diverged
    page.screenshot(f"healthy-{width}")


def test_at_risk_report_is_amber(visit, example_reports):
    page = visit(example_reports["risk"], DESKTOP)
    assert_clean(page)
    p = page.page
    assert p.locator("#verdict-h").inner_text() == "At risk of overfitting"
    assert "no training log with a validation curve" in p.locator("#verdict .reason").inner_text()
    assert "passes at --fail-on warning" in p.locator("#gate").inner_text()
    red, green, blue = _rgb(
        p.locator("#verdict").evaluate("e => getComputedStyle(e).borderLeftColor")
    )
    assert red > green > blue  # amber, not the red of overfitting nor the green of healthy
    page.screenshot("risk-desktop")


@pytest.mark.parametrize("name", ["overfit", "risk"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(visit, example_reports, scheme, name):
    page = visit(example_reports[name], DESKTOP, color_scheme=scheme)
    background = page.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert (_luminance(_rgb(background)) < 0.05) == (scheme == "dark")
    low = [
        (selector, fg, bg, round(contrast(fg, bg), 2))
        for selector, fg, bg in page.page.evaluate(CONTRAST_PROBE)
        if contrast(fg, bg) < 4.5
    ]
    assert not low, low
    if scheme == "dark":
        page.screenshot(f"{name}-dark")


def test_print_layout(visit, example_reports, tmp_path):
    page = visit(example_reports["overfit"], DESKTOP, color_scheme="dark")
    page.page.emulate_media(media="print")
    assert not page.page.locator("nav.toc").is_visible()
    background = page.page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert _luminance(_rgb(background)) > 0.9  # paper stays white even in dark mode
    assert page.page.locator("svg.plot.wide:visible").count() == 2
    pdf = page.page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    assert_clean(page)


def test_hostile_names_stay_text_in_the_browser(visit, tmp_path):
    model = hostile_model(tmp_path / "model.onnx")
    rows = ["epoch,loss,val_loss"]
    rows += [f"{e},{1 / (e + 1):.4f},{0.5 + abs(e - 5) * 0.05:.4f}" for e in range(20)]
    log = write(tmp_path / "<script>alert(3)<script>.csv", "\n".join(rows) + "\n")
    target = tmp_path / "hostile.html"
    result = run_main("check", model, log, "--no-probe", "--report", target, cwd=tmp_path)
    assert result.code in (0, 1), result.stderr
    page = visit(target)
    assert_clean(page)  # no alert() dialog, no request for src=x
    p = page.page
    assert p.evaluate("() => document.querySelectorAll('script, img, iframe').length") == 0
    body = p.locator("body").inner_text()
    for name in (SCRIPT, IMG, log.name):
        assert name in body


@pytest.mark.parametrize("width", VIEWPORTS)
def test_long_text_evidence_wraps_instead_of_widening_the_page(visit, tmp_path, width):
    """OFL505's evidence lists its suspect labels in one value of about 1,000 characters; a
    number cell never wraps, a text cell must."""
    target = tmp_path / "labels.html"
    result = run_main(
        "check", EXAMPLES / "overfit" / "model.onnx", "--samples", "500",
        "--data", EXAMPLES / "overfit" / "data.npz", "--no-probe", "--report", target,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.code in (0, 1), result.stderr
    page = visit(target, VIEWPORTS[width])
    assert_clean(page)
    suspects = page.page.locator("article.finding[data-code=OFL505] td.long")
    assert max(len(text) for text in suspects.all_inner_texts()) > 300
    assert_fits(page)
