"""Screenshots of an HTML report for docs/report.md, taken by headless Debian Chromium.

Usage: python scripts/report_screenshots.py REPORT_DIR [OUT_DIR=docs/img]

Needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver). Writes one
PNG per section of the cohort page and of the first sample page.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1200,8000",
)
INDEX_SECTIONS = ("subtype_distribution", "composition_bars", "signature_heatmap", "embedding", "samples", "flags")
SAMPLE_SECTIONS = ("composition", "features", "nearest")


def _wait(driver: webdriver.Chrome) -> None:
    driver.execute_script("document.querySelector('.topbar').style.position = 'static'")
    for _ in range(200):
        ok = driver.execute_script(
            "return Array.from(document.querySelectorAll('.plotly-graph-div')).every("
            "d => d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg'))"
        )
        if ok:
            break
        time.sleep(0.05)
    time.sleep(0.3)


def _shot(driver: webdriver.Chrome, css: str, out: Path, *, max_height: int = 0) -> None:
    el = driver.find_element(By.CSS_SELECTOR, css)
    if max_height:
        driver.execute_script(
            f"arguments[0].style.maxHeight='{max_height}px'; arguments[0].style.overflow='hidden'", el
        )
    el.screenshot(str(out))
    print(out)


def main(report: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="tmescope-shots-"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in (*ARGS, f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get((report / "index.html").resolve().as_uri())
        _wait(driver)
        _shot(driver, "main", out / "report_index_top.png", max_height=900)
        for name in INDEX_SECTIONS:
            _shot(driver, f"#{name}", out / f"report_{name}.png", max_height=1100)
        page = sorted((report / "samples").glob("*.html"))[0]
        driver.get(page.resolve().as_uri())
        _wait(driver)
        _shot(driver, "main", out / "report_sample_top.png", max_height=1000)
        for name in SAMPLE_SECTIONS:
            _shot(driver, f"#{name}", out / f"report_sample_{name}.png", max_height=1300)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else Path("docs/img"))
