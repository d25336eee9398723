"""Raw counts are profiled as the TPM they stand for: the same scores and subtypes as their TPM."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]


def test_counts_give_the_profile_of_their_tpm(tmp_path):
    from tmescope.datasets import liu2019_melanoma
    from tmescope.genes._tables import _lengths
    from tmescope.io import as_scale, read_expression
    from tmescope.profile import profile

    adata, _ = liu2019_melanoma()
    sub = adata[:12]
    lengths = _lengths().reindex(sub.var_names)
    keep = lengths.notna().to_numpy()
    tpm = np.clip(2.0 ** np.asarray(sub.X[:, keep], dtype=float) - 0.001, 0.0, None)
    counts = np.round(tpm * lengths[keep].to_numpy()[None, :] / 1000.0 * 20.0)
    path = tmp_path / "counts.tsv"
    pd.DataFrame(counts.T, index=sub.var_names[keep], columns=sub.obs_names).to_csv(path, sep="\t", index_label="gene")
    from_counts = read_expression(path)
    assert from_counts.uns["tmescope_input"]["scale"] == "counts"
    as_tpm = ad.AnnData(
        as_scale(from_counts, "linear", method="test"),
        obs=pd.DataFrame(index=from_counts.obs_names),
        var=pd.DataFrame(index=from_counts.var_names),
    )
    as_tpm.uns["tmescope_input"] = {"scale": "linear"}
    a = profile(from_counts, n_boot=0).features.set_index(["sample", "feature"])
    b = profile(as_tpm, n_boot=0).features.set_index(["sample", "feature"]).loc[a.index]
    signatures = a.index.get_level_values("feature").str.startswith(("tme_signature.", "immunotherapy.", "tls."))
    assert signatures.sum() > 12 * 30
    np.testing.assert_allclose(a.loc[signatures, "value"], b.loc[signatures, "value"], rtol=1e-5)
    labels = a.index.get_level_values("feature") == "subtype.label"
    assert a.loc[labels, "label"].tolist() == b.loc[labels, "label"].tolist()


def test_counts_of_genes_without_a_length_are_left_out_once(tmp_path):
    """Genes without a shipped length have no TPM: left out once for the run (reported), not NaN in every step."""
    from tmescope._provenance import Provenance, collect
    from tmescope.datasets import liu2019_melanoma
    from tmescope.genes._tables import _lengths
    from tmescope.io import read_expression
    from tmescope.profile import profile

    adata, _ = liu2019_melanoma()
    sub = adata[:8]
    lengths = _lengths().reindex(sub.var_names)
    no_length = sorted(str(g) for g in sub.var_names[lengths.isna().to_numpy()])
    assert no_length  # the bundled cohort has genes the shipped table has no length for
    tpm = np.clip(2.0 ** np.asarray(sub.X, dtype=float) - 0.001, 0.0, None)
    counts = np.round(tpm * lengths.fillna(2000.0).to_numpy()[None, :] / 1000.0 * 20.0)
    path = tmp_path / "counts.tsv"
    pd.DataFrame(counts.T, index=sub.var_names, columns=sub.obs_names).to_csv(path, sep="\t", index_label="gene")
    prov = Provenance("test")
    with collect(prov):
        result = profile(read_expression(path), n_boot=0)
    dropped = [f for f in prov.fixes if f["step"] == "genes.drop_no_length"]
    assert len(dropped) == 1
    assert sorted(dropped[0]["items"]) == no_length
    assert [f["step"] for f in prov.fixes].count("scale.counts_to_tpm") == 1  # converted once for the run
    features = result.features
    assert features.loc[features["feature"] == "subtype.label", "label"].notna().all()
    assert np.isfinite(features.loc[features["feature"] == "estimate.immune_score", "value"]).all()
