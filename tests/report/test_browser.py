"""The report in a real browser: headless Chromium opens it from disk, without network."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.needs("chromium")


def test_report_renders_and_links_resolve(browser, crawl, report_dir: Path, profile, artifacts: Path):
    adata, _ = profile
    seen = crawl(browser, report_dir, screenshot=artifacts / "report_index.png")
    # The cohort page and one page per sample, each reached by following links.
    assert len(seen["pages"]) == 1 + adata.n_obs
    assert seen["figures"] >= 4 + 2 * adata.n_obs


def test_screenshot_of_a_sample_page(browser, open_page, report_dir: Path, artifacts: Path):
    page = sorted((report_dir / "samples").glob("S0*.html"))[0]
    info = open_page(browser, page)
    assert info["rendered"] == info["figures"] == 2
    browser.set_window_size(1280, 2400)
    try:
        out = artifacts / "report_sample.png"
        browser.save_screenshot(str(out))
    finally:
        browser.set_window_size(1280, 1000)
    assert out.stat().st_size > 10_000


def test_clicking_a_sample_opens_its_page(browser, open_page, report_dir: Path):
    open_page(browser, report_dir / "index.html")
    # A plotly click on the map of samples navigates through window.TMESCOPE_LINKS.
    browser.execute_script(
        "const gd = document.getElementById('fig-embedding');"
        "const tr = gd.data.findIndex(t => t.customdata && t.customdata.length);"
        "gd.emit('plotly_click', {points: [{customdata: gd.data[tr].customdata[0], x: 0}]});"
    )
    assert "/samples/" in browser.current_url
    assert browser.find_element("tag name", "h1").text.startswith("Sample ")
