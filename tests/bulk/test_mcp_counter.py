from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope._errors import CoverageWarning, InputError, ScaleError
from tmescope.bulk import mcp_counter
from tmescope.bulk._mcp import POPULATIONS, _markers

LINEAR = {"scale": "linear", "pseudocount": None, "log_base": None}


def _all_markers() -> list[str]:
    return sorted({g for gs in _markers().values() for g in gs})


def test_markers_shipped_and_complete():
    m = _markers()
    assert set(m) == set(POPULATIONS.values())
    assert len(m["cd8_t_cells"]) == 1
    assert sum(len(v) for v in m.values()) == 111


def test_score_is_mean_log2_of_markers(rng):
    genes = [*_all_markers(), "OTHER1", "OTHER2"]
    X = rng.gamma(1.0, 20.0, size=(5, len(genes)))
    adata = ad.AnnData(X, var=pd.DataFrame(index=genes))
    adata.uns["tmescope_input"] = dict(LINEAR)
    got = mcp_counter(adata)
    fib = adata.var_names.get_indexer(pd.Index(_markers()["fibroblasts"]))
    np.testing.assert_allclose(got["fibroblasts"], np.log2(X[:, fib] + 1).mean(axis=1))
    assert adata.obsm["mcp_counter"].equals(got)
    assert list(got.columns) == list(POPULATIONS.values())
    # arbitrary units: scaling one sample's library changes its scores but keeps the per-population order
    assert adata.uns["mcp_counter"]["coverage"]["t_cells"] == "16/16"


def test_declared_log2p1_used_as_is(rng):
    genes = _all_markers()
    L = rng.uniform(0, 10, size=(3, len(genes)))
    adata = ad.AnnData(L, var=pd.DataFrame(index=genes))
    adata.uns["tmescope_input"] = {"scale": "log2", "pseudocount": 1.0, "log_base": 2.0}
    got = mcp_counter(adata)
    b = adata.var_names.get_indexer(pd.Index(_markers()["b_lineage"]))
    np.testing.assert_allclose(got["b_lineage"], L[:, b].mean(axis=1))


def test_low_coverage_population_is_nan_with_warning(rng):
    genes = [g for g in _all_markers() if g not in _markers()["neutrophils"][:10]]
    adata = ad.AnnData(rng.gamma(1.0, 5.0, size=(2, len(genes))), var=pd.DataFrame(index=genes))
    adata.uns["tmescope_input"] = dict(LINEAR)
    with pytest.warns(CoverageWarning, match="neutrophils \\(5/15\\)"):
        got = mcp_counter(adata)
    assert got["neutrophils"].isna().all()
    assert got["t_cells"].notna().all()


def test_refusals():
    adata = ad.AnnData(np.ones((1, 3)), var=pd.DataFrame(index=["X1", "X2", "X3"]))
    adata.uns["tmescope_input"] = dict(LINEAR)
    with pytest.raises(InputError, match="HGNC"):
        mcp_counter(adata)
    genes = _all_markers()
    z = ad.AnnData(np.random.default_rng(0).normal(size=(4, len(genes))), var=pd.DataFrame(index=genes))
    z.uns["tmescope_input"] = {"scale": "centered", "pseudocount": None, "log_base": None}
    with pytest.raises(ScaleError):
        mcp_counter(z)
