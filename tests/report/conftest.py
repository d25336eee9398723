"""A realistic synthetic profile AnnData and feature table, shaped like `tmescope profile` output."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope import _keys
from tmescope.io import features_from_frame, normalize_features
from tmescope.subtype._groups import SIGNATURES as MFP_SIGNATURES

SIGNATURES = list(MFP_SIGNATURES)
STROMAL = {"Angiogenesis", "Endothelium", "CAF", "Matrix", "Matrix_remodeling", "EMT_signature"}
CELLS = [
    "B.cells",
    "Macrophages.M1",
    "Macrophages.M2",
    "Monocytes",
    "Neutrophils",
    "NK.cells",
    "T.cells.CD4",
    "T.cells.CD8",
    "Tregs",
    "Dendritic.cells",
    "Other",
]
SUBTYPES = ("IE/F", "IE", "F", "D")
#: Sample IDs that are unsafe as file names, to check the report's page names.
UNSAFE_IDS = ("pt/../07 α", "CON", "x:y*z")
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def make_profile(n: int = 24, *, seed: int = 0, unsafe: bool = True) -> tuple[ad.AnnData, pd.DataFrame]:
    """A profile of ``n`` samples with every key the report reads, and its tidy feature table."""
    rng = np.random.default_rng(seed)
    ids = [f"S{i:03d}" for i in range(n)]
    if unsafe:
        ids[: len(UNSAFE_IDS)] = UNSAFE_IDS[: min(n, len(UNSAFE_IDS))]
    labels = np.array([SUBTYPES[i % 4] for i in range(n)], dtype=object)
    immune = np.isin(labels, ["IE/F", "IE"])
    stromal = np.isin(labels, ["IE/F", "F"])
    scaled = rng.normal(0, 0.6, (n, len(SIGNATURES)))
    for j, s in enumerate(SIGNATURES):
        scaled[:, j] += np.where(stromal, 1.0, -0.6) if s in STROMAL else np.where(immune, 1.0, -0.6)
    scaled = np.clip(scaled, -2, 2)
    raw = 0.2 * scaled + rng.normal(0, 0.05, scaled.shape)

    alpha = np.ones(len(CELLS))
    frac = np.vstack([rng.dirichlet(alpha * (3 if im else 1)) for im in immune])
    frac[:, -1] += 1.5
    frac /= frac.sum(axis=1, keepdims=True)
    half = rng.uniform(0.005, 0.05, frac.shape)
    low, high = np.clip(frac - half, 0, 1), np.clip(frac + half, 0, 1)

    obs = pd.DataFrame(index=pd.Index(ids, name=None))
    obs[_keys.OBS_SUBTYPE] = pd.Categorical(labels, categories=list(SUBTYPES))
    obs[_keys.OBS_SUBTYPE_CONFIDENCE] = rng.uniform(0.4, 1.0, n).round(3)
    obs[_keys.OBS_IMMUNE_PHENOTYPE] = pd.Categorical(
        np.where(immune, "inflamed", np.where(stromal, "excluded", "desert")),
        categories=["inflamed", "excluded", "desert"],
    )
    fit = rng.uniform(0.6, 0.98, n)
    fit[1] = 0.3
    obs[_keys.OBS_FIT] = fit
    obs[_keys.OBS_FIT_FLAG] = fit < 0.5
    adata = ad.AnnData(obs=obs)
    frame = lambda x, cols: pd.DataFrame(x, index=ids, columns=list(cols))  # noqa: E731
    adata.obsm[_keys.OBSM_SUBTYPE_SCALED] = frame(scaled, SIGNATURES)
    adata.obsm["scores_bagaev2021"] = frame(raw, SIGNATURES)
    adata.obsm[_keys.OBSM_FRACTIONS] = frame(frac, CELLS)
    adata.obsm[_keys.OBSM_FRACTIONS_LOW] = frame(low, CELLS)
    adata.obsm[_keys.OBSM_FRACTIONS_HIGH] = frame(high, CELLS)
    pcs = scaled - scaled.mean(axis=0)
    _, _, vt = np.linalg.svd(pcs, full_matrices=False)
    adata.obsm[_keys.OBSM_EMBEDDING] = frame(pcs @ vt[:2].T, ["PC1", "PC2"])
    est = rng.normal(0, 1, (n, 4))
    est[:, 3] = rng.uniform(0.3, 0.95, n)
    adata.obsm[_keys.OBSM_ESTIMATE] = frame(est, ["stromal_score", "immune_score", "estimate_score", "purity"])
    sets = ["CYT", "IFNG_6", "TLS_9", "Pan_F_TBRS", "Hypoxia"]
    adata.obsm["scores_ssgsea"] = frame(rng.normal(0, 1, (n, len(sets))), sets)
    adata.uns["coverage_ssgsea"] = pd.DataFrame(
        {"n_genes": [2, 6, 9, 19, 200], "n_found": [2, 6, 3, 18, 190]}, index=sets
    ).assign(fraction=lambda d: d["n_found"] / d["n_genes"])

    ref_ids = [f"TCGA-{i:04d}" for i in range(200)]
    ref_labels = np.array([SUBTYPES[i % 4] for i in range(200)])
    k = 5
    nearest = pd.DataFrame(
        {
            "sample": np.repeat(ids, k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "neighbour": rng.choice(ref_ids, n * k),
            "distance": np.sort(rng.uniform(1, 4, (n, k)), axis=1).ravel(),
            "subtype": np.where(rng.random(n * k) < 0.8, np.repeat(labels, k), rng.choice(SUBTYPES, n * k)),
            "source": "tcga_pan_cancer",
        }
    )
    ref_xy = rng.normal(0, 2, (200, 2))
    adata.uns[_keys.UNS_SUBTYPE] = {
        "method": "reference_knn",
        "reference": "tcga_pan_cancer",
        "k": 35,
        "nearest": nearest,
        "reference_embedding": pd.DataFrame(
            {"sample": ref_ids, "x": ref_xy[:, 0], "y": ref_xy[:, 1], "subtype": ref_labels}
        ),
    }
    adata.uns[_keys.UNS_RUNS] = {
        "score_signatures": {"method": "ssgsea", "version": "0.1.0", "params": {"normalize": False, "alpha": 0.25}},
        "deconvolve": {"method": "quantiseq", "version": "0.1.0", "params": {"n_boot": 100, "seed": 0}},
        "classify_subtype": {"method": "reference_knn", "version": "0.1.0", "params": {"k": 35}},
    }

    parts = [
        features_from_frame(
            adata.obsm[_keys.OBSM_FRACTIONS],
            prefix="composition",
            unit="fraction",
            method="quantiseq",
            ci_low=adata.obsm[_keys.OBSM_FRACTIONS_LOW],
            ci_high=adata.obsm[_keys.OBSM_FRACTIONS_HIGH],
        ),
        features_from_frame(adata.obsm["scores_bagaev2021"], prefix="signature", unit="ES", method="ssgsea"),
        features_from_frame(adata.obsm[_keys.OBSM_ESTIMATE], prefix="estimate", unit="", method="estimate"),
    ]
    flags = pd.DataFrame("", index=ids, columns=sets)
    flags["TLS_9"] = "low_coverage"
    parts.append(
        features_from_frame(adata.obsm["scores_ssgsea"], prefix="signature", unit="NES", method="ssgsea", flag=flags)
    )
    table = pd.concat(parts, ignore_index=True)
    table["percentile"] = table.groupby("feature")["value"].rank(pct=True).mul(100).round(1)
    table.loc[table["feature"].str.startswith("composition") & (table["sample"] == ids[1]), "flag"] = "poor_fit"
    label_rows = pd.DataFrame(
        {"sample": ids, "feature": "subtype.label", "value": np.nan, "label": labels, "method": "reference_knn"}
    )
    return adata, normalize_features(pd.concat([table, label_rows], ignore_index=True))


@pytest.fixture(scope="session")
def profile() -> tuple[ad.AnnData, pd.DataFrame]:
    return make_profile(8, seed=0)


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory, profile: tuple[ad.AnnData, pd.DataFrame]) -> Path:
    """A report written once for the session (static figures included)."""
    from tmescope.report import write_report

    adata, features = profile
    out = tmp_path_factory.mktemp("report") / "report"
    write_report(adata, features, out)
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder of test artefacts kept after the run (screenshots); ignored by git."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by the Debian chromedriver (no driver download)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("/usr/bin/chromium or /usr/bin/chromedriver is absent (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir = Path(__import__("tempfile").mkdtemp(prefix="tmescope-chromium-"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--user-data-dir={profile_dir}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


_RENDER_WAIT = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function check() {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  const ok = divs.every(d => d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg'));
  if (ok || Date.now() - start > 20000) { done(divs.length); } else { setTimeout(check, 50); }
})();
"""


def open_report_page(driver, path: Path) -> dict:
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


def crawl_report(driver, report_dir: Path, *, screenshot: Path | None = None) -> dict:
    """Open the cohort page, follow every link between pages; assert each page renders without errors."""
    index = (report_dir / "index.html").resolve()
    todo, pages, external, figures = [index], set(), [], 0
    while todo:
        page = todo.pop()
        if page in pages:
            continue
        pages.add(page)
        info = open_report_page(driver, page)
        assert info["errors"] == [], f"console errors on {page.name}: {info['errors']}"
        assert info["figures"] > 0, f"no figure on {page.name}"
        assert info["rendered"] == info["figures"], f"{page.name}: {info['rendered']} of {info['figures']} rendered"
        figures += info["figures"]
        if page == index and screenshot is not None:
            driver.save_screenshot(str(screenshot))
        for url in info["links"]:
            target = _local(url)
            if target is None:
                external.append(url)
                continue
            assert target.exists(), f"{page.name} links to a missing file: {url}"
            assert report_dir.resolve() in target.resolve().parents, f"{page.name} links outside the report: {url}"
            if target.suffix == ".html":
                todo.append(target.resolve())
    assert external == [], f"links leaving the report: {external[:5]}"
    return {"pages": pages, "figures": figures}


@pytest.fixture(scope="session")
def crawl():
    return crawl_report


@pytest.fixture(scope="session")
def open_page():
    return open_report_page
