"""CNV inference and malignant calls: kernel properties, errors, and agreement with expert labels."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope import sc as tsc
from tmescope._errors import InputError, MissingKeyError
from tmescope.sc import _cnv

if TYPE_CHECKING:
    from pathlib import Path

NORMAL = ["Oligodendrocytes (non-malignant)", "Microglia/Macrophage"]


@pytest.fixture(scope="module")
def oligo(reference_dir: Path) -> ad.AnnData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an old-format h5ad; prepare_cells warns that X is linear
        raw = ad.read_h5ad(reference_dir / "infercnvpy_oligodendroglioma" / "oligodendroglioma.h5ad")
        return tsc.prepare_cells(raw)


def _toy(n_gain: int = 20) -> ad.AnnData:
    pos = tsc.gene_positions()
    genes = pos.index[pos["chrom"].isin(["chr1", "chr2"])][:400]
    rng = np.random.default_rng(0)
    x = rng.poisson(2.0, size=(60, 400)).astype(np.float32)
    x[:n_gain, :200] *= 3
    obs = pd.DataFrame({"kind": ["tumour"] * 30 + ["normal"] * 30}, index=[f"c{i}" for i in range(60)])
    cells = ad.AnnData(np.log1p(x), obs=obs)
    cells.var_names = list(genes)
    return cells


def test_gene_positions_table() -> None:
    pos = tsc.gene_positions()
    assert pos.index.is_unique
    assert len(pos) > 39_000
    assert set(pos["chrom"].astype(str)) == set(tsc.CHROMOSOMES)
    assert (pos["end"] >= pos["start"]).all()
    # GENCODE 48 (GRCh38) coordinates of two well-known genes
    assert pos.loc["TP53", "chrom"] == "chr17"
    assert 7_660_000 < pos.loc["TP53", "start"] < 7_680_000
    assert pos.loc["EGFR", "chrom"] == "chr7"
    assert 55_000_000 < pos.loc["EGFR", "start"] < 55_100_000


def test_running_mean_matches_convolution() -> None:
    x = np.random.default_rng(1).normal(size=(3, 57)).astype(np.float32)
    got = _cnv._running_mean(x, 10, 3)
    want = np.stack([np.convolve(row, np.ones(10) / 10, mode="valid")[::3] for row in x])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert _cnv._running_mean(x[:, :4], 10, 3).shape == (3, 1)  # a chromosome shorter than the window


def test_gain_is_found_where_planted() -> None:
    cells = _toy()
    tsc.infer_cnv(cells, reference_key="kind", reference_categories="normal", window=50)
    cnv = cells.obsm["X_cnv"]
    chrom = cells.uns["cnv"]["window_chrom"]
    assert cnv.shape == (60, len(chrom))
    calls = tsc.call_malignant(cells)
    assert calls.loc["malignant", "n_cells"] == 20
    assert (cells.obs["cnv_call"].iloc[:20] == "malignant").all()
    assert (cells.obs["cnv_call"].iloc[30:] == "reference").all()
    # the gained genes are the first 200 of chr1: those windows are positive in the gained cells
    first_chr1 = cnv[:20, chrom == "chr1"][:, :5]
    assert (first_chr1.mean(axis=0) > 0).all()


def test_chunking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _toy(), _toy()
    tsc.infer_cnv(a, reference_key="kind", reference_categories=["normal"], window=50)
    monkeypatch.setattr(_cnv, "_CHUNK", 7)
    tsc.infer_cnv(b, reference_key="kind", reference_categories=["normal"], window=50)
    np.testing.assert_array_equal(a.obsm["X_cnv"], b.obsm["X_cnv"])
    np.testing.assert_array_equal(a.uns["cnv"]["reference_cv_scores"], b.uns["cnv"]["reference_cv_scores"])


def test_errors_name_the_fix() -> None:
    cells = _toy()
    with pytest.raises(MissingKeyError, match=r"not in adata\.obs"):
        tsc.infer_cnv(cells, reference_key="nope", reference_categories=["normal"])
    with pytest.raises(InputError, match="None of the reference categories"):
        tsc.infer_cnv(cells, reference_key="kind", reference_categories=["stroma"])
    with pytest.raises(MissingKeyError, match=r"tmescope\.sc\.infer_cnv"):
        tsc.call_malignant(cells)
    assert hasattr(tsc, "infer_cnv")
    bad = cells.copy()
    bad.var_names = [f"gene{i}" for i in range(bad.n_vars)]
    with pytest.raises(InputError, match="genomic position"):
        tsc.infer_cnv(bad, reference_key="kind", reference_categories=["normal"])


def test_oligodendroglioma_full_reference(oligo: ad.AnnData) -> None:
    cells = oligo.copy()
    tsc.infer_cnv(cells, reference_key="cell_type", reference_categories=NORMAL)
    tsc.call_malignant(cells)
    truth = cells.obs["cell_type"].astype(str).str.startswith("malignant").to_numpy()
    pred = cells.obs["cnv_call"].to_numpy() == "malignant"
    assert cells.uns["cnv"]["n_genes"] > 9000
    assert (pred & truth).sum() / pred.sum() == 1.0
    assert (pred & truth).sum() / truth.sum() == 1.0
    # malignant cells score well above the cross-fitted normal scores
    assert cells.obs.loc[truth, "cnv_score"].median() > 3 * cells.uns["cnv"]["threshold"]
    # the defining lesion of oligodendroglioma, the 1p/19q co-deletion: losses on chr1p and chr19q
    cnv = cells.obsm["X_cnv"]
    chrom = np.asarray(cells.uns["cnv"]["window_chrom"]).astype(str)
    chr1, chr19 = np.flatnonzero(chrom == "chr1"), np.flatnonzero(chrom == "chr19")
    p1, q19 = chr1[: len(chr1) // 2], chr19[len(chr19) // 2 :]
    assert cnv[truth][:, p1].mean() < -0.2
    assert cnv[truth][:, q19].mean() < -0.1
    assert abs(cnv[~truth][:, p1].mean()) < 0.02
    assert cnv[truth][:, chr1[len(chr1) // 2 :]].mean() > -0.05  # 1q is kept


@pytest.mark.parametrize("split", [0, 1, 2])
def test_oligodendroglioma_held_out_normals(oligo: ad.AnnData, split: int) -> None:
    """Half of each normal type as reference; the other normal cells must mostly come out normal."""
    cells = oligo.copy()
    ct = cells.obs["cell_type"].astype(str).to_numpy()
    group = ct.astype(object)
    rng = np.random.default_rng(split)
    for t in NORMAL:
        idx = np.flatnonzero(ct == t)
        group[np.setdiff1d(idx, rng.choice(idx, size=len(idx) // 2, replace=False))] = "held_out"
    cells.obs["cnv_group"] = group
    tsc.infer_cnv(cells, reference_key="cnv_group", reference_categories=NORMAL)
    called = ~np.isin(group, NORMAL)
    truth = np.char.startswith(ct[called].astype(str), "malignant")
    # default margin 1.0: every malignant cell found, a few held-out normal cells called malignant
    tsc.call_malignant(cells)
    pred = cells.obs["cnv_call"].to_numpy()[called] == "malignant"
    tp = (pred & truth).sum()
    assert tp / truth.sum() >= 0.99  # recall
    assert tp / pred.sum() >= 0.96  # precision
    assert (pred & ~truth).sum() <= 5  # of 22 held-out normal cells
    # margin 1.5: no held-out normal cell called malignant, recall still high
    tsc.call_malignant(cells, margin=1.5)
    pred = cells.obs["cnv_call"].to_numpy()[called] == "malignant"
    assert (pred & ~truth).sum() == 0
    assert (pred & truth).sum() / truth.sum() >= 0.97


def test_profile_cells_calls_malignant_cells(oligo: ad.AnnData) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage of a brain tumour against the marker table
        res = tsc.profile_cells(
            oligo, cnv_reference=NORMAL, cnv_reference_key="cell_type", states=False, signatures=False, seed=0
        )
    calls = res.cells.obs["cnv_call"].astype(str)
    assert (calls == "malignant").sum() == 142
    rows = res.features.set_index("feature")
    assert rows.loc["cnv.malignant_fraction", "value"] == pytest.approx(142 / 184)
    assert rows.loc["cnv.malignant_fraction", "ci_low"] < 142 / 184 < rows.loc["cnv.malignant_fraction", "ci_high"]
    assert rows.loc["cnv.mean_score", "value"] > 0


def test_cli_cnv_reference_and_report(reference_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tmescope.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shipped file is an old-format h5ad: write it again
        raw = ad.read_h5ad(reference_dir / "infercnvpy_oligodendroglioma" / "oligodendroglioma.h5ad")
    src = tmp_path / "oligo.h5ad"
    raw.write_h5ad(src)
    out = tmp_path / "out"
    args = ["--quiet", "sc", str(src), "-o", str(out), "--no-states", "--no-signatures"]
    args += ["--cnv-reference-key", "cell_type", "--cnv-reference", ",".join(NORMAL)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    back = ad.read_h5ad(out / "cells.h5ad")
    assert (back.obs["cnv_call"].astype(str) == "malignant").sum() == 142
    assert back.obsm["X_cnv"].shape[0] == 184
    html = (out / "report" / "index.html").read_text("utf-8")
    assert 'id="cnv-heat"' in html
    assert 'id="umap-compartment"' in html
    bad = CliRunner().invoke(main, ["sc", str(src), "-o", str(tmp_path / "o2"), "--cnv-reference", "astrocyte"])
    assert bad.exit_code == 2
    assert "None of the reference categories" in bad.output
