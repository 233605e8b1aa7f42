"""The HTML reviewer report in a real browser: Debian's chromium driven by Playwright
(scripts/install-browser.sh provides both; no browser is ever downloaded).

Marked slow: the browser comes from apt, which the fast tier never needs. In CI a
missing browser fails the run instead of skipping the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from report_sample import build_result

from patchlint.report.html import render_html

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide the browser: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("Playwright not installed: run scripts/install-browser.sh")
    if not CHROMIUM.exists():
        _unavailable("/usr/bin/chromium missing: run scripts/install-browser.sh")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


def _open(browser, html_file: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(html_file.as_uri())
    return page, requests


def _check_sections(page, requests: list[str], screenshot: Path) -> None:
    for selector in (
        "nav#toc",
        "section#overview",
        "section.patch",
        "section#discussion",
        "table.simulation",
    ):
        assert page.locator(selector).first.is_visible(), selector
    headings = page.locator("h2").all_inner_texts()
    assert "Contents" in headings and "Series overview" in headings
    assert "Review discussion" in headings
    table = page.locator("table.simulation").first
    assert "Before the patch" in table.inner_text()
    box = table.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 40
    # Following a table-of-contents link lands on its section.
    page.locator("nav#toc a[href='#discussion']").click()
    assert page.evaluate("location.hash") == "#discussion"
    # Nothing but the file itself was loaded: no CDN, no fonts, no scripts.
    assert all(url.startswith("file://") for url in requests), requests
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000


@pytest.mark.slow
def test_sample_report_in_chromium(browser, tmp_path: Path) -> None:
    html_file = tmp_path / "report.html"
    html_file.write_text(render_html(build_result()), encoding="utf-8")
    page, requests = _open(browser, html_file)
    _check_sections(page, requests, tmp_path / "sample-report.png")
    # The finding's own line is highlighted in the excerpt.
    focus = page.locator("article.finding figure:nth-child(2) .focus").first
    assert "__thaw_task(t);" in focus.inner_text()
    page.emulate_media(media="print")
    assert page.locator("nav#toc").is_visible()
    page.pdf(path=str(tmp_path / "sample-report.pdf"))
    assert (tmp_path / "sample-report.pdf").stat().st_size > 10_000
    page.close()


@pytest.mark.kernel
@pytest.mark.slow
def test_seed_thread_report_in_chromium(browser, seed_report_html: Path, tmp_path: Path) -> None:
    page, requests = _open(browser, seed_report_html)
    _check_sections(page, requests, tmp_path / "seed-report.png")
    assert page.locator("article.reply").count() >= 2
    page.close()
