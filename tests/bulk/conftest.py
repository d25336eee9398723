"""Fixtures of the bulk tests: golden ESTIMATE inputs and synthetic mixtures of real reference profiles."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from tmescope.bulk import get_reference


def read_gct(path) -> ad.AnnData:
    g = pd.read_csv(path, sep="\t", skiprows=2, index_col=0).drop(columns="Description")
    return ad.AnnData(
        g.T.to_numpy(dtype=np.float64), obs=pd.DataFrame(index=g.columns.astype(str)), var=pd.DataFrame(index=g.index)
    )


def synthetic_mixtures(reference: str, n: int, *, seed: int, noise: float = 0.0, n_filler: int = 500):
    """Mixtures of a shipped reference's real profiles plus tumour-like cells expressing none of its genes.

    Each pure profile is completed with filler genes so that it sums to 1e6 TPM, as a whole-transcriptome profile
    would. Returns the AnnData (declared linear) and the true cell fractions (cell types + other).
    """
    ref = get_reference(reference)
    sig = ref.signature
    rng = np.random.default_rng(seed)
    k = sig.shape[1]
    cells = rng.dirichlet(np.full(k + 1, 0.7), size=n)
    content = np.append(ref.mrna_content[sig.columns].to_numpy(), ref.other_mrna_content)
    mrna = cells * content
    mrna /= mrna.sum(axis=1, keepdims=True)
    filler_share = rng.dirichlet(np.ones(n_filler))
    profiles = np.vstack([sig.to_numpy(), np.outer(filler_share, 1e6 - sig.sum().to_numpy())])
    tumour = np.concatenate([np.zeros(sig.shape[0]), filler_share * 1e6])
    X = mrna[:, :k] @ profiles.T + mrna[:, [k]] * tumour[None, :]
    if noise:
        X = X * rng.lognormal(0.0, noise, size=X.shape)
    from tmescope.bulk._estimate import _universe_table

    # real approved symbols (so the readers keep them), none of them a signature gene
    approved = _universe_table()["approved"]
    filler = [g for g in approved if g not in set(sig.index) and g.isalnum()][:n_filler]
    genes = [*sig.index, *filler]
    adata = ad.AnnData(X, obs=pd.DataFrame(index=[f"mix{i}" for i in range(n)]), var=pd.DataFrame(index=genes))
    adata.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    truth = pd.DataFrame(cells, index=adata.obs_names, columns=[*sig.columns, "other"])
    return adata, truth


@pytest.fixture(scope="session")
def golden_dir(reference_dir):
    return reference_dir / "estimate_golden"
