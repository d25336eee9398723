"""Screenshots of a spatial report page for docs/spatial.md, taken by headless Debian Chromium.

Usage: python scripts/spatial_report_screenshots.py REPORT_DIR [OUT_DIR=docs/img]

REPORT_DIR is the ``report/`` folder written by ``tmescope spatial``. Needs /usr/bin/chromium and
/usr/bin/chromedriver. WebGL maps are drawn by Chromium's software renderer.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--hide-scrollbars",
    "--window-size=1200,9000",
)
SECTIONS = ("celltypes", "enrichment", "infiltration")


def main() -> None:
    report = Path(sys.argv[1]).resolve()
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parents[1] / "docs" / "img"
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ARGS:
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get((report / "index.html").as_uri())
        time.sleep(20)  # WebGL in software is slow
        driver.execute_script("document.querySelector('.topbar').style.position = 'static'")
        for sec in SECTIONS:
            el = driver.find_element(By.ID, sec)
            el.screenshot(str(out / f"spatial_report_{sec}.png"))
            print(out / f"spatial_report_{sec}.png")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
