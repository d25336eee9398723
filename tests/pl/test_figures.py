from __future__ import annotations

import xml.etree.ElementTree as ET

import anndata as ad
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tmescope import MissingKeyError, _keys
from tmescope import pl as tpl
from tmescope.pl import _data
from tmescope.pl._svg import sample_svg


def _bare(n: int = 3) -> ad.AnnData:
    return ad.AnnData(obs=pd.DataFrame(index=[f"s{i}" for i in range(n)]))


def test_subtype_distribution_counts_every_sample(small_profile):
    adata, _ = small_profile
    fig = tpl.subtype_distribution(adata)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["IE/F", "IE", "F", "D"]
    assert sum(t.y[0] for t in fig.data) == adata.n_obs
    assert fig.data[1].marker.color == tpl.SUBTYPE_COLORS["IE"]


def test_subtype_distribution_keeps_missing_and_unknown_labels():
    adata = _bare(4)
    adata.obs[_keys.OBS_SUBTYPE] = pd.Categorical(["D", None, "X", "IE"])
    names = [t.name for t in tpl.subtype_distribution(adata).data]
    assert names == ["IE", "D", "X", "not called"]


def test_composition_bars_order_samples_by_subtype(small_profile):
    adata, _ = small_profile
    fig = tpl.composition_bars(adata)
    cells = adata.obsm[_keys.OBSM_FRACTIONS].columns
    bars = [t for t in fig.data if t.legendgroup == "cells"]
    assert len(bars) == len(cells)
    order = list(bars[0].x)
    assert sorted(order) == sorted(adata.obs_names)
    labels = adata.obs[_keys.OBS_SUBTYPE].astype(str).reindex(order).tolist()
    rank = [tpl.SUBTYPE_ORDER.index(s) for s in labels]
    assert rank == sorted(rank)
    # Stacked fractions of each sample add up to what was stored.
    total = np.sum([np.asarray(b.y) for b in bars], axis=0)
    np.testing.assert_allclose(total, adata.obsm[_keys.OBSM_FRACTIONS].loc[order].sum(axis=1))


def test_signature_heatmap_clusters_samples_and_keeps_values(small_profile):
    adata, _ = small_profile
    fig = tpl.signature_heatmap(adata)
    heat = next(t for t in fig.data if isinstance(t, go.Heatmap))
    scaled = adata.obsm[_keys.OBSM_SUBTYPE_SCALED]
    order = list(heat.x)
    assert sorted(order) == sorted(adata.obs_names)
    z = np.asarray(heat.z)
    assert z.shape == (scaled.shape[1], adata.n_obs)
    np.testing.assert_allclose(z[:, 0], scaled.loc[order[0]].to_numpy())
    # Clustering puts samples of the same (strongly separated) subtype next to each other more often than not.
    labels = adata.obs[_keys.OBS_SUBTYPE].astype(str).reindex(order).to_numpy()
    assert (labels[1:] == labels[:-1]).mean() > 0.5


def test_cluster_order_groups_similar_rows():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(0, 0.1, (5, 3)), rng.normal(5, 0.1, (5, 3))])[[0, 5, 1, 6, 2, 7, 3, 8, 4, 9]]
    order = _data.cluster_order(x)
    groups = (x[order, 0] > 2.5).astype(int)
    assert np.count_nonzero(np.diff(groups)) == 1
    big = _data.cluster_order(x, max_n=4)  # principal-axis order above max_n
    assert np.count_nonzero(np.diff((x[big, 0] > 2.5).astype(int))) == 1


def test_embedding_draws_reference_behind_samples(small_profile):
    adata, _ = small_profile
    fig = tpl.embedding(adata)
    ref = [t for t in fig.data if t.legendgroup == "reference"]
    own = [t for t in fig.data if t.legendgroup == "samples"]
    assert ref
    assert own
    assert sum(len(t.customdata) for t in own) == adata.n_obs
    assert fig.data.index(ref[-1]) < fig.data.index(own[0])
    no_ref = tpl.embedding(adata, reference=False)
    assert all(t.legendgroup == "samples" for t in no_ref.data)


def test_composition_intervals_sorted_with_bounds(small_profile):
    adata, _ = small_profile
    sample = adata.obs_names[5]
    fig = tpl.composition_intervals(adata, sample=sample)
    x = np.asarray(fig.data[0].x)
    assert np.all(np.diff(x) >= 0)
    low = adata.obsm[_keys.OBSM_FRACTIONS_LOW].loc[sample]
    assert np.isclose(np.asarray(fig.data[0].customdata)[:, 0].sum(), low.sum())
    partial = adata.copy()
    del partial.obsm[_keys.OBSM_FRACTIONS_HIGH]
    fig = tpl.composition_intervals(partial, sample=sample)
    assert "no intervals stored" in fig.layout.title.text


def test_feature_percentiles_ranked_and_flagged(small_profile):
    _, features = small_profile
    sample = features["sample"].iloc[0]
    fig = tpl.feature_percentiles(features, sample=sample)
    rows = features.loc[(features["sample"] == sample) & features["percentile"].notna()]
    dots = [t for t in fig.data if t.mode == "markers"]
    assert sum(len(t.x) for t in dots) == len(rows)
    axis = list(fig.layout.yaxis.categoryarray)[::-1]
    by_label = {lab: p for t in dots for lab, p in zip(t.y, t.x, strict=True)}
    assert [by_label[lab] for lab in axis] == sorted(by_label.values(), reverse=True)
    assert any(lab.endswith("⚠") for lab in axis)


@pytest.mark.parametrize(
    ("func", "key", "words"),
    [
        (tpl.composition_bars, _keys.OBSM_FRACTIONS, "deconvolve"),
        (tpl.signature_heatmap, _keys.OBSM_SUBTYPE_SCALED, "classify_subtype"),
        (tpl.embedding, _keys.OBSM_EMBEDDING, "classify_subtype"),
        (tpl.subtype_distribution, _keys.OBS_SUBTYPE, "classify_subtype"),
    ],
)
def test_missing_input_names_key_and_fix(func, key, words):
    with pytest.raises(MissingKeyError, match=key) as err:
        func(_bare())
    assert words in str(err.value)


def test_fix_functions_named_in_messages_exist():
    import importlib

    for module, name in (("tmescope.subtype", "classify_subtype"), ("tmescope.bulk", "deconvolve")):
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            pytest.skip(f"{module}.{name} is not there yet")
        assert callable(getattr(mod, name))


def test_feature_percentiles_without_rows_or_percentiles():
    table = pd.DataFrame({"sample": ["a"], "feature": ["composition.b"], "value": [0.1], "percentile": [np.nan]})
    with pytest.raises(MissingKeyError, match="percentile"):
        tpl.feature_percentiles(table, sample="a")
    with pytest.raises(MissingKeyError, match="no rows for sample 'zz'"):
        tpl.feature_percentiles(table, sample="zz")


def test_ndarray_embedding_and_missing_coordinates():
    adata = _bare(3)
    adata.obsm[_keys.OBSM_EMBEDDING] = np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.5]])
    fig = tpl.embedding(adata)
    assert sum(len(t.x) for t in fig.data) == 2
    adata.obsm[_keys.OBSM_EMBEDDING] = np.full((3, 2), np.nan)
    with pytest.raises(MissingKeyError, match="missing coordinates"):
        tpl.embedding(adata)


def test_sample_svg_is_valid_and_escapes_text(small_profile):
    _, features = small_profile
    rows = _data.sample_features(features, features["sample"].iloc[0])
    svg = sample_svg(
        "<b>&x",
        cells=["B.cells", "Other"],
        values=np.array([0.3, 0.7]),
        low=np.array([0.2, 0.6]),
        high=np.array([0.4, 0.8]),
        ranked=rows.ranked,
    )
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Sample <b>&x" in texts
    assert len(root.findall("{http://www.w3.org/2000/svg}circle")) >= len(rows.ranked) + 2
