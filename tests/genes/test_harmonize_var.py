"""harmonize_var: dense vs sparse, duplicate rules against a pandas oracle, obs order, keys written."""

from __future__ import annotations

import json
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tmescope._errors import InputError, InputTypeError
from tmescope.genes import DUPLICATE_RULES, harmonize_var
from tmescope.genes._var import aggregate_columns

from .conftest import make_adata

IDS = ["CD8A", "PTPRC", "cd8a", "CD8", "GZMB", "NOV", "PTPRC", "FOOBAR1", "PRF1 "]
# CD8A: CD8A, cd8a, CD8 (previous symbol); PTPRC twice; NOV ambiguous; FOOBAR1 unmapped.
TARGET = ["CD8A", "PTPRC", "CD8A", "CD8A", "GZMB", None, "PTPRC", None, "PRF1"]


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def oracle(x: np.ndarray, rule: str) -> pd.DataFrame:
    """Slow, obvious aggregation with pandas."""
    df = pd.DataFrame(x, columns=range(len(IDS)))
    keep = [i for i, t in enumerate(TARGET) if t is not None]
    names = [TARGET[i] for i in keep]
    df = df[keep]
    df.columns = names
    order = list(dict.fromkeys(names))
    if rule == "mean":
        out = df.T.groupby(level=0, sort=False).mean().T
    elif rule == "sum":
        out = df.T.groupby(level=0, sort=False).sum().T
    elif rule == "first":
        out = df.T.groupby(level=0, sort=False).first().T
    else:
        cols = {}
        for g in order:
            block = df.loc[:, [c == g for c in df.columns]]
            cols[g] = block.iloc[:, int(np.argmax(block.mean(axis=0).to_numpy()))]
        out = pd.DataFrame(cols)
    return out[order]


@pytest.fixture
def counts(rng: np.random.Generator) -> np.ndarray:
    x = rng.poisson(5, size=(6, len(IDS))).astype(np.float64)
    x[rng.random(x.shape) < 0.4] = 0.0
    return x


@pytest.mark.parametrize("rule", list(DUPLICATE_RULES))
@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
def test_rules_match_oracle_dense_and_sparse(counts: np.ndarray, rule: str, fmt: str):
    x = counts if fmt == "dense" else getattr(sparse, f"{fmt}_matrix")(counts)
    obs_names = [f"P{i}" for i in (5, 3, 1, 0, 2, 4)]
    a = make_adata(IDS, x, obs_names=obs_names)
    a.layers["raw"] = x.copy()
    out = quiet(harmonize_var, a, duplicates=rule, copy=True)
    exp = oracle(counts, rule)
    assert list(out.var_names) == list(exp.columns)
    assert list(out.obs_names) == obs_names
    got = out.X.toarray() if sparse.issparse(out.X) else np.asarray(out.X)
    np.testing.assert_allclose(got, exp.to_numpy())
    lay = out.layers["raw"]
    np.testing.assert_allclose(lay.toarray() if sparse.issparse(lay) else lay, exp.to_numpy())
    assert sparse.issparse(out.X) == (fmt != "dense")
    assert out.var.loc["CD8A", "original_ids"] == "CD8A|cd8a|CD8"
    assert out.var.loc["PRF1", "original_ids"] == "PRF1 "


def test_in_place_and_uns(counts: np.ndarray):
    a = make_adata(IDS, counts)
    a.uns["tmescope_input"] = {"scale": "linear"}
    assert quiet(harmonize_var, a) is None
    assert list(a.var_names) == ["CD8A", "PTPRC", "GZMB", "PRF1"]
    assert a.var_names.is_unique
    info = a.uns["tmescope_input"]
    assert info["scale"] == "linear"
    gm = info["gene_mapping"]
    assert gm["duplicates"] == "mean"
    assert gm["n_dropped"] == 2
    assert gm["n_aggregated"] == 2
    assert gm["counts"]["ambiguous"] == 1
    assert gm["counts"]["unmapped"] == 1
    json.dumps(gm)


def test_uns_created_and_written_to_h5ad(tmp_path, counts: np.ndarray):
    a = make_adata(["CD8A", "PTPRC", "GZMB"], counts[:, :3])
    harmonize_var(a)
    assert "gene_mapping" in a.uns["tmescope_input"]
    path = tmp_path / "x.h5ad"
    a.write_h5ad(path)
    b = ad.read_h5ad(path)
    assert int(b.uns["tmescope_input"]["gene_mapping"]["counts"]["approved"]) == 3


def test_keep_unmapped(counts: np.ndarray):
    a = make_adata(IDS, counts)
    out = quiet(harmonize_var, a, drop_unmapped=False, copy=True)
    assert list(out.var_names) == ["CD8A", "PTPRC", "GZMB", "NOV", "FOOBAR1", "PRF1"]


def test_sum_keeps_integer_counts():
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    a = make_adata(["CD8A", "CD8A", "GZMB"], x)
    out = quiet(harmonize_var, a, duplicates="sum", copy=True)
    assert out.X.dtype == np.int64
    np.testing.assert_array_equal(out.X, [[3, 3], [9, 6]])


def test_max_mean_ties_keep_first():
    x = np.array([[1.0, 2.0, 5.0], [3.0, 2.0, 5.0]])
    out = quiet(harmonize_var, make_adata(["CD8A", "cd8a", "GZMB"], x), duplicates="max_mean", copy=True)
    np.testing.assert_array_equal(np.asarray(out.X)[:, 0], [1.0, 3.0])
    assert out.var.loc["CD8A", "original_ids"] == "CD8A|cd8a"


def test_bad_arguments(counts: np.ndarray):
    a = make_adata(["CD8A", "PTPRC", "GZMB"], counts[:, :3])
    with pytest.raises(InputError, match="duplicates must be one of"):
        harmonize_var(a, duplicates="median")
    with pytest.raises(InputTypeError, match="AnnData"):
        harmonize_var(pd.DataFrame(counts))  # type: ignore[arg-type]


def test_nothing_maps_is_an_error(counts: np.ndarray):
    a = make_adata(["S1x", "FOOBAR1", "FOOBAR2"], counts[:, :3])
    with pytest.raises(InputError, match="None of the 3 gene identifiers") as exc:
        quiet(harmonize_var, a)
    assert "FOOBAR1" in str(exc.value)


def test_aggregate_columns_kernel_sparse_equals_dense(rng: np.random.Generator):
    x = rng.random((5, 8))
    codes = np.array([0, 1, 0, 2, 1, 3, 3, 0])
    for rule in DUPLICATE_RULES:
        dense = aggregate_columns(x, codes, 4, rule)
        sp = aggregate_columns(sparse.csr_matrix(x), codes, 4, rule)
        np.testing.assert_allclose(sp.toarray(), dense)
