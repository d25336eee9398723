"""The single-cell report: written from an analysed AnnData, and loaded in headless Chromium without errors."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pytest

from tmescope import sc as tsc
from tmescope._errors import MissingKeyError
from tmescope.report._sc import write_sc_report

if TYPE_CHECKING:
    from pathlib import Path

NORMAL = ["Oligodendrocytes (non-malignant)", "Microglia/Macrophage"]


@pytest.fixture(scope="module")
def analysed(reference_dir: Path) -> ad.AnnData:
    """The 184 oligodendroglioma cells, annotated, state-scored, CNV-called and embedded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # old-format h5ad, gene-symbol fixes, coverage of a brain tumour
        raw = ad.read_h5ad(reference_dir / "infercnvpy_oligodendroglioma" / "oligodendroglioma.h5ad")
        raw.obs["patient"] = ["p1" if i % 2 else "p2" for i in range(raw.n_obs)]
        cells = tsc.prepare_cells(raw, sample_key="patient")
        tsc.annotate_compartments(cells, seed=0)
        tsc.score_states(cells)
    tsc.infer_cnv(cells, reference_key="cell_type", reference_categories=NORMAL)
    tsc.call_malignant(cells)
    tsc.embed_cells(cells, seed=0)
    return cells


@pytest.fixture(scope="module")
def sc_report(analysed: ad.AnnData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sc_report(analysed, tmp_path_factory.mktemp("screport") / "report")


def test_report_has_every_section(sc_report: Path, analysed: ad.AnnData) -> None:
    html = sc_report.read_text("utf-8")
    for anchor in ("umap", "composition", "states", "cnv"):
        assert f'<section id="{anchor}">' in html
    for div in ("umap-compartment", "umap-cnv", "umap-states", "composition-bars", "states-heat", "cnv-heat"):
        assert f'id="{div}"' in html
    assert (sc_report.parent / "assets" / "plotly.min.js").is_file()
    assert np.isfinite(analysed.obsm["X_umap"]).all()


def test_missing_results_are_omitted_with_a_note(analysed: ad.AnnData, tmp_path: Path) -> None:
    bare = analysed.copy()
    for key in ("X_umap", "X_cnv", "sc_states"):
        del bare.obsm[key]
    del bare.obs["cnv_call"]
    del bare.uns["sc_states"]
    html = write_sc_report(bare, tmp_path / "report").read_text("utf-8")
    assert "UMAP not shown" in html
    assert "State heatmap not shown" in html
    assert '<section id="cnv">' not in html
    bare.obs = bare.obs.drop(columns="compartment")
    with pytest.raises(MissingKeyError, match="annotate_compartments"):
        write_sc_report(bare, tmp_path / "other")


def test_embedding_subsample_and_seed(analysed: ad.AnnData) -> None:
    a = analysed.copy()
    del a.obsm["X_umap"]
    b = a.copy()
    tsc.embed_cells(a, max_cells=100, seed=3)
    tsc.embed_cells(b, max_cells=100, seed=3)
    assert int(np.isfinite(a.obsm["X_umap"][:, 0]).sum()) == 100
    np.testing.assert_array_equal(a.obsm["X_umap"], b.obsm["X_umap"])


@pytest.mark.needs("chromium")
def test_sc_report_renders_in_chromium(browser, open_page, sc_report: Path, artifacts: Path) -> None:
    info = open_page(browser, sc_report)
    assert info["errors"] == []
    assert info["figures"] == 6
    assert info["rendered"] == info["figures"]
    # the state map's drop-down recolours the cells
    n_buttons = browser.execute_script(
        "return document.getElementById('umap-states').layout.updatemenus[0].buttons.length"
    )
    assert n_buttons >= 2
    browser.set_window_size(1280, 3200)
    try:
        out = artifacts / "sc_report.png"
        browser.save_screenshot(str(out))
    finally:
        browser.set_window_size(1280, 1000)
    assert out.stat().st_size > 10_000
