"""The report in a real browser: headless Chromium opens it from disk, without network."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

pytestmark = pytest.mark.needs("chromium")

_RENDER_WAIT = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function check() {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  const ok = divs.every(d => d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg'));
  if (ok || Date.now() - start > 20000) { done(divs.length); } else { setTimeout(check, 50); }
})();
"""


def _open(driver, path: Path) -> dict:
    """Load a page from disk; return its figures, rendered figures, links and console errors."""
    driver.get(path.as_uri())
    n_divs = driver.execute_async_script(_RENDER_WAIT)
    rendered = driver.execute_script(
        "return document.querySelectorAll('.plotly-graph-div.js-plotly-plot .main-svg').length > 0 ? "
        "Array.from(document.querySelectorAll('.plotly-graph-div')).filter("
        "d => d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg')).length : 0"
    )
    links = driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    # Every error, and every warning raised by page scripts (renderer notes about the GPU are not the page's).
    errors = [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" or (e["level"] == "WARNING" and e.get("source") in ("javascript", "console-api"))
    ]
    return {"figures": n_divs, "rendered": rendered, "links": links, "errors": errors}


def _local(url: str) -> Path | None:
    """The file a link points to, or None for links that leave the report (none are expected)."""
    target, _ = urldefrag(url)
    parsed = urlparse(target)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def test_report_renders_and_links_resolve(browser, report_dir: Path, profile, artifacts: Path):
    adata, _ = profile
    index = report_dir / "index.html"
    todo, seen, external = [index.resolve()], set(), []
    figures_seen = 0
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        info = _open(browser, page)
        assert info["errors"] == [], f"console errors on {page.name}: {info['errors']}"
        assert info["figures"] > 0, f"no figure on {page.name}"
        assert info["rendered"] == info["figures"], f"{page.name}: {info['rendered']} of {info['figures']} rendered"
        figures_seen += info["figures"]
        if page == index.resolve():
            browser.save_screenshot(str(artifacts / "report_index.png"))
        for url in info["links"]:
            target = _local(url)
            if target is None:
                external.append(url)
                continue
            assert target.exists(), f"{page.name} links to a missing file: {url}"
            assert report_dir.resolve() in target.resolve().parents, f"{page.name} links outside the report: {url}"
            if target.suffix == ".html":
                todo.append(target.resolve())
    assert external == []
    # The cohort page and one page per sample, each reached by following links.
    assert len(seen) == 1 + adata.n_obs
    assert figures_seen >= 4 + 2 * adata.n_obs


def test_screenshot_of_a_sample_page(browser, report_dir: Path, artifacts: Path):
    page = sorted((report_dir / "samples").glob("S0*.html"))[0]
    info = _open(browser, page)
    assert info["rendered"] == info["figures"] == 2
    browser.set_window_size(1280, 2400)
    try:
        out = artifacts / "report_sample.png"
        browser.save_screenshot(str(out))
    finally:
        browser.set_window_size(1280, 1000)
    assert out.stat().st_size > 10_000


def test_clicking_a_sample_opens_its_page(browser, report_dir: Path):
    _open(browser, report_dir / "index.html")
    # A plotly click on the map of samples navigates through window.TMESCOPE_LINKS.
    browser.execute_script(
        "const gd = document.getElementById('fig-embedding');"
        "const tr = gd.data.findIndex(t => t.customdata && t.customdata.length);"
        "gd.emit('plotly_click', {points: [{customdata: gd.data[tr].customdata[0], x: 0}]});"
    )
    assert "/samples/" in browser.current_url
    assert browser.find_element("tag name", "h1").text.startswith("Sample ")
