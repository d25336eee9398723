from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope import InputError, InputTypeError, _keys
from tmescope._provenance import safe_name
from tmescope.report import write_report

_FIGURES = ("subtype_distribution", "composition_bars", "signature_heatmap", "embedding")


def _bare(ids: list[str]) -> ad.AnnData:
    return ad.AnnData(obs=pd.DataFrame(index=ids))


def test_writes_index_sample_pages_and_static_figures(report_dir: Path, profile):
    adata, _ = profile
    assert (report_dir / "index.html").is_file()
    pages = sorted(p.name for p in (report_dir / "samples").glob("*.html"))
    assert pages == sorted(f"{safe_name(s)}.html" for s in adata.obs_names)
    for name in _FIGURES:
        assert (report_dir / "figures" / f"{name}.png").stat().st_size > 5_000
        svg = (report_dir / "figures" / f"{name}.svg").read_text()
        assert "<dc:date>" not in svg  # no timestamp: the same profile gives the same file
    svgs = sorted((report_dir / "figures" / "samples").glob("*.svg"))
    assert len(svgs) == adata.n_obs
    ET.parse(svgs[0])  # well-formed


def test_unsafe_sample_ids_stay_inside_and_are_escaped(report_dir: Path):
    files = list(report_dir.rglob("*"))
    assert all(report_dir in f.parents for f in files)
    page = report_dir / "samples" / f"{safe_name('pt/../07 α')}.html"
    html = page.read_text(encoding="utf-8")
    assert "<h1>Sample pt/../07 α</h1>" in html
    index = (report_dir / "index.html").read_text(encoding="utf-8")
    assert f'href="samples/{page.name}"' in index


def test_plotly_js_written_once_and_nothing_loaded_from_the_network(report_dir: Path):
    js = report_dir / "assets" / "plotly.min.js"
    assert js.stat().st_size > 1_000_000
    for page in [report_dir / "index.html", *sorted((report_dir / "samples").glob("*.html"))[:3]]:
        html = page.read_text(encoding="utf-8")
        srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert srcs
        assert not [s for s in srcs if s.startswith(("http:", "https:", "//"))], page
        assert html.count("plotly.min.js") == 1
        assert len(html) < 2_000_000  # the library is shared, not inlined


def test_index_shows_every_figure_and_section(report_dir: Path):
    html = (report_dir / "index.html").read_text(encoding="utf-8")
    for name in _FIGURES:
        assert f'id="fig-{name}"' in html
        assert f'href="figures/{name}.svg"' in html
    for anchor in ("samples", "flags", "methods"):
        assert f'id="{anchor}"' in html
    assert "not shown" not in html
    assert "Poor deconvolution fit" in html
    assert "quantiseq" in html  # methods table from uns["tmescope_runs"]
    assert "TLS_9" in html  # gene set with incomplete coverage


def test_sample_page_content(report_dir: Path, profile):
    adata, _ = profile
    sample = adata.obs_names[1]  # poor fit, flagged composition rows
    html = (report_dir / "samples" / f"{safe_name(sample)}.html").read_text(encoding="utf-8")
    assert 'id="fig-composition"' in html
    assert 'id="fig-features"' in html
    assert "Poor deconvolution fit" in html
    assert "poor_fit" in html
    assert "TCGA-" in html  # nearest reference cases
    label = str(adata.obs[_keys.OBS_SUBTYPE].iloc[1])
    assert f">{label}</span>" in html
    assert f"../figures/samples/{safe_name(sample)}.svg" in html


def test_minimal_profile_omits_figures_and_says_why(tmp_path: Path):
    adata = _bare(["p1", "p2"])
    index = write_report(adata, None, tmp_path / "r", static=True)
    html = index.read_text(encoding="utf-8")
    for heading in ("TME subtypes in this cohort", "Cell-type composition", "Functional signatures", "Map of samples"):
        assert f"{heading} not shown." in html
    assert "Methods table not shown." in html
    assert "`adata.obsm[&#x27;fractions&#x27;]` is absent" in html
    assert "tmescope.subtype.classify_subtype" in html
    page = (tmp_path / "r" / "samples" / "p1.html").read_text(encoding="utf-8")
    assert "Composition not shown." in page
    assert "The feature table has no rows for this sample." in page
    assert "Nearest cases not shown." in page
    assert not list((tmp_path / "r" / "figures").glob("*.png"))


def test_one_sample_without_embedding_or_percentiles(tmp_path: Path, profile):
    full, features = profile
    one = full[[0]].copy()
    del one.obsm[_keys.OBSM_EMBEDDING]
    rows = features.loc[features["sample"] == one.obs_names[0]].assign(percentile=np.nan)
    index = write_report(one, rows, tmp_path / "r", static=False)
    html = index.read_text(encoding="utf-8")
    assert "Map of samples not shown." in html
    assert 'id="fig-subtype_distribution"' in html
    page = next((tmp_path / "r" / "samples").glob("*.html")).read_text(encoding="utf-8")
    assert "No cohort percentiles are stored" in page
    assert "All 50 features as a table" in page
    assert not (tmp_path / "r" / "figures").exists()


def test_html_in_sample_ids_and_titles_is_escaped(tmp_path: Path):
    adata = _bare(["<script>alert(1)</script>", "ok"])
    adata.obs[_keys.OBS_SUBTYPE] = pd.Categorical(["IE", "D"])
    index = write_report(adata, None, tmp_path / "r", title="<i>cohort</i>", static=False)
    html = index.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;i&gt;cohort&lt;/i&gt;" in html
    for page in (tmp_path / "r" / "samples").glob("*.html"):
        assert "<script>alert(1)</script>" not in page.read_text(encoding="utf-8")


def test_rewrites_an_earlier_report_but_refuses_other_folders(tmp_path: Path):
    adata = _bare(["a"])
    out = tmp_path / "r"
    write_report(adata, None, out, static=False)
    (out / "stale.txt").write_text("old")
    write_report(adata, None, out, static=False)
    assert not (out / "stale.txt").exists()
    data = tmp_path / "data"
    data.mkdir()
    (data / "expression.tsv").write_text("x")
    with pytest.raises(InputError, match="not empty and holds no earlier report"):
        write_report(adata, None, data, static=False)
    assert (data / "expression.tsv").exists()


def test_bad_arguments(tmp_path: Path):
    with pytest.raises(InputTypeError, match="AnnData"):
        write_report(pd.DataFrame(), None, tmp_path / "r")  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="DataFrame"):
        write_report(_bare(["a"]), {"sample": []}, tmp_path / "r")  # type: ignore[arg-type]
    assert not (tmp_path / "r").exists()


def test_ids_differing_only_in_case_get_distinct_pages(tmp_path: Path):
    index = write_report(_bare(["Ab", "aB", "ab"]), None, tmp_path / "r", static=False)
    pages = [p.name.lower() for p in (index.parent / "samples").glob("*.html")]
    assert len(pages) == len(set(pages)) == 3
    html = index.read_text(encoding="utf-8")
    for name in pages:
        assert name in html.lower()


def test_fit_flag_as_text_and_runs_as_plain_values(tmp_path: Path):
    adata = _bare(["a", "b"])
    adata.obs[_keys.OBS_FIT] = [0.2, 0.9]
    adata.obs[_keys.OBS_FIT_FLAG] = ["poor_fit", ""]
    adata.obs["response"] = ["responder", "non-responder"]
    adata.uns[_keys.UNS_RUNS] = {"estimate": "1.0", "deconvolve": {"method": "nnls", "versions": {"tmescope": "0.1"}}}
    index = write_report(adata, None, tmp_path / "r", static=False)
    html = index.read_text(encoding="utf-8")
    assert "Poor deconvolution fit</b> in 1 sample(s)" in html
    assert "nnls" in html
    assert "tmescope=0.1" in html
    assert "<th>response</th>" in html
    page = (tmp_path / "r" / "samples" / "a.html").read_text(encoding="utf-8")
    assert "Clinical: response" in page
    assert "responder" in page


_PARTS = [
    ("obs", _keys.OBS_SUBTYPE),
    ("obs", _keys.OBS_SUBTYPE_CONFIDENCE),
    ("obs", _keys.OBS_IMMUNE_PHENOTYPE),
    ("obs", _keys.OBS_FIT),
    ("obs", _keys.OBS_FIT_FLAG),
    ("obsm", _keys.OBSM_SUBTYPE_SCALED),
    ("obsm", _keys.OBSM_EMBEDDING),
    ("obsm", _keys.OBSM_FRACTIONS),
    ("obsm", _keys.OBSM_FRACTIONS_LOW),
    ("obsm", _keys.OBSM_ESTIMATE),
    ("uns", _keys.UNS_SUBTYPE),
    ("uns", _keys.UNS_RUNS),
    ("uns", "coverage_ssgsea"),
]


@pytest.mark.parametrize(("where", "key"), _PARTS)
def test_any_part_may_be_absent(tmp_path: Path, profile, where: str, key: str):
    adata, features = profile
    part = adata.copy()
    if where == "obs":
        del part.obs[key]
    else:
        del getattr(part, where)[key]
    index = write_report(part, features, tmp_path / "r", static=(key == _keys.OBSM_FRACTIONS))
    assert len(list((tmp_path / "r" / "samples").glob("*.html"))) == part.n_obs
    html = index.read_text(encoding="utf-8")
    figure_inputs = {
        ("obsm", _keys.OBSM_FRACTIONS),
        ("obsm", _keys.OBSM_SUBTYPE_SCALED),
        ("obsm", _keys.OBSM_EMBEDDING),
        ("obs", _keys.OBS_SUBTYPE),
    }
    assert ("not shown." in html) == ((where, key) in figure_inputs)


def test_feature_rows_of_unknown_samples_and_missing_percentiles(tmp_path: Path, profile):
    adata, features = profile
    extra = features.iloc[:3].assign(sample="not-in-adata")
    table = pd.concat([features.assign(percentile=np.nan), extra], ignore_index=True)
    index = write_report(adata, table, tmp_path / "r", static=False)
    assert not list((tmp_path / "r" / "samples").glob("not-in-adata*"))
    page = (index.parent / "samples" / f"{safe_name(adata.obs_names[4])}.html").read_text(encoding="utf-8")
    assert "No cohort percentiles are stored" in page
