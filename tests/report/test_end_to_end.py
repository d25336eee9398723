"""`tmescope profile` on a slice of the bundled demo cohort, then its report in the browser."""

from __future__ import annotations

import re
from pathlib import Path

import anndata as ad
import pandas as pd
import pytest

from tmescope import _keys
from tmescope._provenance import safe_name
from tmescope.datasets import liu2019_melanoma
from tmescope.io import read_features
from tmescope.profile import run_profile
from tmescope.report import write_report

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]

N = 5


@pytest.fixture(scope="module")
def demo_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    adata, clinical = liu2019_melanoma()
    sub = adata[:N]
    expr = tmp_path_factory.mktemp("demo") / "slice.tsv"
    frame = pd.DataFrame(sub.X.T, index=sub.var_names, columns=sub.obs_names)
    frame.index.name = "gene"
    frame.to_csv(expr, sep="\t", float_format="%.3f")
    clin = expr.with_name("clinical.tsv")
    clinical.iloc[:N][["sample_id", "response", "os_time", "os_event"]].to_csv(clin, sep="\t", index=False)
    return run_profile(expr, expr.with_name("out"), clinical=clin, n_boot=5, seed=0)


def test_profile_report_shows_what_the_profile_stored(demo_profile: Path):
    back = ad.read_h5ad(demo_profile / "profile.h5ad")
    features = read_features(demo_profile)
    report = demo_profile / "report"
    index = (report / "index.html").read_text(encoding="utf-8")
    for name in ("subtype_distribution", "composition_bars", "signature_heatmap", "embedding"):
        assert f'id="fig-{name}"' in index, name
        assert (report / "figures" / f"{name}.svg").exists()
    assert "not shown." not in index
    assert back.uns[_keys.UNS_SUBTYPE]["reference"] in index
    for sample in back.obs_names:
        page = (report / "samples" / f"{safe_name(sample)}.html").read_text(encoding="utf-8")
        label = str(back.obs.loc[sample, _keys.OBS_SUBTYPE])
        assert '<div class="v"><span class="badge big"' in page
        assert f">{label}</span>" in page
        assert 'id="fig-composition"' in page
        assert 'id="fig-features"' in page
        n_feat = features.loc[features["sample"] == sample, "feature"].nunique()
        assert f"All {n_feat} features as a table" in page
    # The report reads only stored results: the saved profile gives the same pages again.
    again = write_report(back, features, demo_profile / "report_again", title="TME profile of slice.tsv", static=False)
    first = (report / "samples" / f"{safe_name(back.obs_names[0])}.html").read_text(encoding="utf-8")
    second = (again.parent / "samples" / f"{safe_name(back.obs_names[0])}.html").read_text(encoding="utf-8")
    strip = lambda html: re.sub(r'<p class="downloads">Static figure.*?</p>', "", html.split("<footer>")[0])  # noqa: E731
    assert strip(first) == strip(second)


@pytest.mark.needs("chromium")
def test_demo_report_in_browser(browser, crawl, demo_profile: Path, artifacts: Path):
    seen = crawl(browser, demo_profile / "report", screenshot=artifacts / "demo_slice_index.png")
    assert len(seen["pages"]) == 1 + N
