from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError, MissingKeyError
from tmescope.bulk import Reference, build_reference, deconvolve, get_reference


@pytest.fixture(scope="module")
def crc(reference_dir):
    folder = reference_dir / "crc_scrna_pseudobulk_lee2020_iobr"
    counts = pd.read_csv(folder / "pseudobulk_counts.tsv.gz", sep="\t", index_col=0)
    samples = pd.read_csv(folder / "pseudobulk_samples.tsv", sep="\t", index_col=0)
    samples = samples.loc[counts.columns]
    return ad.AnnData(counts.T.to_numpy(np.float64), obs=samples, var=pd.DataFrame(index=counts.index))


def _lineage_level(adata: ad.AnnData) -> ad.AnnData:
    keep = adata.obs["cell_type"].isin(
        ["CD8Tcells", "CD4Tcells", "CD19CD20B", "IgGPlasma", "SPP1", "Myofibroblasts", "StalklikeECs", "NKcells"]
    )
    return adata[keep.to_numpy()].copy()


def test_leave_patients_out_recovers_mixtures(crc):
    data = _lineage_level(crc)
    patients = sorted(data.obs["patient"].unique())
    test_p = patients[::4]
    train = data[~data.obs["patient"].isin(test_p).to_numpy()].copy()
    test = data[data.obs["patient"].isin(test_p).to_numpy()].copy()
    ref = build_reference(train, groupby="cell_type", sample_key="patient", n_markers=40)
    assert sorted(ref.cell_types) == sorted(data.obs["cell_type"].unique())
    assert ref.variance is not None
    # mixtures of held-out patients' profiles (CPM) with known mRNA proportions
    rng = np.random.default_rng(0)
    rows = []
    truth = []
    for p in test_p:
        sub = test[test.obs["patient"] == p]
        prof = sub.X / sub.X.sum(axis=1, keepdims=True) * 1e6
        for _ in range(3):
            w = rng.dirichlet(np.ones(sub.n_obs))
            rows.append(w @ prof)
            truth.append(pd.Series(w, index=sub.obs["cell_type"].to_numpy()))
    mix = ad.AnnData(np.vstack(rows), var=pd.DataFrame(index=data.var_names))
    mix.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    got = deconvolve(mix, reference=ref, n_boot=0)
    t = pd.DataFrame(truth).reindex(columns=ref.cell_types).fillna(0.0).to_numpy()
    est = got[ref.cell_types].to_numpy()
    r = np.corrcoef(est.ravel(), t.ravel())[0, 1]
    assert r > 0.9, r  # about 0.94 with 40 markers per type
    assert np.sqrt(np.mean((est - t) ** 2)) < 0.08


def test_single_cell_counts_give_mrna_content(rng):
    genes = [f"G{i}" for i in range(100)]
    X = rng.poisson(0.5, size=(90, 100)).astype(float)
    X[:30, :10] += rng.poisson(20, size=(30, 10))
    X[30:60, 10:20] += rng.poisson(60, size=(30, 10))  # bigger cells
    X[60:, 20:30] += rng.poisson(20, size=(30, 10))
    obs = pd.DataFrame({"ct": ["a"] * 30 + ["b"] * 30 + ["c"] * 30}, index=[f"c{i}" for i in range(90)])
    ref = build_reference(ad.AnnData(X, obs=obs, var=pd.DataFrame(index=genes)), groupby="ct", n_markers=10)
    assert ref.mrna_content["b"] > 2 * ref.mrna_content["a"]
    assert set(ref.signature.index) >= {f"G{i}" for i in range(30)} - set()  # markers found


def test_build_reference_errors():
    adata = ad.AnnData(np.ones((4, 5)), obs=pd.DataFrame({"ct": list("aabb")}, index=list("wxyz")))
    with pytest.raises(MissingKeyError, match="nope"):
        build_reference(adata, groupby="nope")
    neg = adata.copy()
    neg.X = -neg.X
    with pytest.raises(InputError, match="non-negative"):
        build_reference(neg, groupby="ct")
    one = ad.AnnData(np.ones((2, 5)), obs=pd.DataFrame({"ct": ["a", "a"]}, index=["u", "v"]))
    with pytest.raises(InputError, match="at least 2"):
        build_reference(one, groupby="ct")


def test_reference_validation():
    sig = pd.DataFrame({"a": [1.0, 0.0, 2.0], "b": [0.0, 1.0, 2.0]}, index=["g1", "g2", "g3"])
    with pytest.raises(InputError, match="mRNA content"):
        Reference(name="x", signature=sig, mrna_content=pd.Series({"a": 1.0}), other_mrna_content=1.0)
    with pytest.raises(InputError, match="non-negative"):
        Reference(name="x", signature=-sig, mrna_content=pd.Series({"a": 1.0, "b": 1.0}), other_mrna_content=1.0)
    assert get_reference(get_reference("til10")) is get_reference("til10")
