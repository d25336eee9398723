"""The cohort summary page of chunked profiles: drawn from the feature table alone, rendered in Chromium."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError
from tmescope.report import write_summary_report
from tmescope.report._summary import box_stats

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]


@pytest.fixture(scope="module")
def chunked_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tmescope profile --chunk-size` on 12 real melanoma samples: features, provenance and the summary page."""
    from tmescope.datasets import liu2019_melanoma
    from tmescope.profile import run_profile_chunked

    adata, _ = liu2019_melanoma()
    folder = tmp_path_factory.mktemp("chunked")
    adata[:12].copy().write_h5ad(folder / "cohort.h5ad")
    return run_profile_chunked(folder / "cohort.h5ad", folder / "out", chunk_size=5, n_boot=5)


def test_summary_counts_and_distributions_come_from_the_features(chunked_output: Path) -> None:
    from tmescope.io import read_features

    html = (chunked_output / "report" / "index.html").read_text("utf-8")
    features = read_features(chunked_output)
    for anchor in ("subtypes", "phenotypes", "composition", "scores", "flags"):
        assert f'<section id="{anchor}">' in html
    assert "12 samples" in html
    # the subtype table counts what the feature table says
    counts = features[features["feature"] == "subtype.label"]["label"].value_counts()
    for subtype, n in counts.items():
        assert f'<td>{subtype}</td><td class="num">{n}</td>' in html
    assert 'href="../features.tsv"' in html
    assert (chunked_output / "features.tsv").is_file()


def test_box_stats_are_tukey_fences_within_the_data() -> None:
    rng = np.random.default_rng(0)
    v = np.r_[rng.normal(0, 1, 500), [50.0, np.nan]]
    s = box_stats(v)
    finite = v[np.isfinite(v)]
    assert s["q1"] < s["median"] < s["q3"]
    assert s["upperfence"] < 50.0  # the outlier lies beyond the fence
    assert s["upperfence"] in finite
    assert s["lowerfence"] == finite.min() or s["lowerfence"] >= s["q1"] - 1.5 * (s["q3"] - s["q1"])


def test_missing_families_are_omitted_with_a_note(tmp_path: Path) -> None:
    from tmescope.io import FEATURE_COLUMNS

    rows = [{"sample": f"S{i}", "feature": "estimate.purity", "value": 0.1 * i, "flag": ""} for i in range(5)]
    page = write_summary_report(pd.DataFrame(rows).reindex(columns=FEATURE_COLUMNS), tmp_path / "report")
    html = page.read_text("utf-8")
    assert "TME subtypes not shown" in html
    assert "Cell composition not shown" in html
    assert 'id="summary-score-0"' in html
    assert "No feature of any sample is flagged" in html
    with pytest.raises(InputError, match="lacks column"):
        write_summary_report(pd.DataFrame({"sample": ["a"]}), tmp_path / "other")


@pytest.mark.needs("chromium")
def test_summary_report_renders_in_chromium(browser, open_page, chunked_output: Path, artifacts: Path) -> None:
    info = open_page(browser, chunked_output / "report" / "index.html")
    assert info["errors"] == []
    assert info["figures"] >= 5  # subtypes, phenotypes, composition and at least two score histograms
    assert info["rendered"] == info["figures"]
    browser.set_window_size(1280, 3000)
    try:
        out = artifacts / "summary_report.png"
        browser.save_screenshot(str(out))
    finally:
        browser.set_window_size(1280, 1000)
    assert out.stat().st_size > 10_000
