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


def test_sample_page_shows_the_therapy_hypotheses(browser, open_page, profile, tmp_path: Path, artifacts: Path):
    from tmescope.insights import add_insights
    from tmescope.report import write_report

    adata, features = profile
    adata = adata.copy()
    full = add_insights(adata, features=features)
    index = write_report(adata, full, tmp_path / "report", static=False)
    sample = str(adata.obs_names[adata.obs["tme_subtype"].astype(str).isin(["IE", "IE/F"])][0])
    page = next(p for p in (index.parent / "samples").glob("*.html") if f"Sample {sample}<" in p.read_text("utf-8"))
    info = open_page(browser, page)
    assert info["errors"] == []
    section = browser.find_element("id", "insights")
    assert section.find_element("tag name", "h2").text == "Therapy hypotheses (research use only)"
    assert "not treatment recommendations" in section.text
    summary = section.find_elements("css selector", "#insights-summary tbody tr")
    assert len(summary) == 6  # one row per strategy class
    fired = section.find_elements("css selector", "#insights-rules tbody tr")
    assert any("Immune-enriched TME subtype" in row.text for row in fired)
    assert section.find_element("css selector", "#insights-rules .badge").is_displayed()
    browser.execute_script("arguments[0].scrollIntoView();", section)
    browser.save_screenshot(str(artifacts / "report_insights.png"))
