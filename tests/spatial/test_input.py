from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError, MissingKeyError
from tmescope.spatial import read_spatial


def test_unit_must_be_stated():
    t = pd.DataFrame({"x": [0.0, 1], "y": [0.0, 1], "cell_type": ["A", "B"]})
    with pytest.raises(InputError, match="unit of the coordinates"):
        read_spatial(t)
    with pytest.raises(InputError, match="pixel_size"):
        read_spatial(t, unit="px")
    with pytest.raises(InputError, match="Unknown coordinate unit"):
        read_spatial(t, unit="inch")


def test_pixels_are_converted_to_micrometres():
    t = pd.DataFrame({"x": [0.0, 100], "y": [0.0, 50], "cell_type": ["A", "B"]})
    a = read_spatial(t, unit="px", pixel_size=0.5)
    np.testing.assert_allclose(a.obsm["spatial"], [[0, 0], [50, 25]])
    assert a.uns["tmescope_spatial_input"]["um_per_unit"] == 0.5


def test_slide_column_detected_and_cell_ids_kept(tmp_path):
    t = pd.DataFrame(
        {
            "cell_id": ["c1", "c2", "c3"],
            "x": [0.0, 1, 2],
            "y": [0.0, 1, 2],
            "phenotype": list("ABA"),
            "sample": list("ppq"),
        }
    )
    p = tmp_path / "cells.csv"
    t.to_csv(p, index=False)
    a = read_spatial(p, unit="um")
    assert list(a.obs_names) == ["c1", "c2", "c3"]
    assert list(a.obs["slide"]) == ["p", "p", "q"]
    assert list(a.obs["cell_type"]) == ["A", "B", "A"]


def test_bad_inputs_are_refused_with_names():
    t = pd.DataFrame({"x": [0.0, np.nan], "y": [0.0, 1], "cell_type": ["A", "B"]})
    with pytest.raises(InputError, match="missing or infinite coordinates"):
        read_spatial(t, unit="um")
    with pytest.raises(MissingKeyError, match="cell-type column 'kind'"):
        read_spatial(t.fillna(0), unit="um", cell_type_key="kind")
    with pytest.raises(MissingKeyError, match="No cell-type column"):
        read_spatial(t.fillna(0).drop(columns="cell_type"), unit="um")


def test_anndata_input_with_obsm(lung5):
    a = read_spatial(lung5)  # the unit recorded by the first read is reused
    np.testing.assert_allclose(a.obsm["spatial"], lung5.obsm["spatial"])
    assert a.n_obs == 100_149
    assert a.obs["cell_type"].nunique() == 38


def test_implausible_spacing_warns(rng):
    from tmescope._errors import TmescopeWarning

    t = pd.DataFrame({"x": rng.uniform(0, 10_000, 500), "y": rng.uniform(0, 10_000, 500), "cell_type": "A"})
    with pytest.warns(TmescopeWarning, match="median distance between neighbouring cells"):
        read_spatial(t, unit="px", pixel_size=1e-4)  # pixels taken as 0.1 nm


def test_parquet_table(tmp_path, rng):
    t = pd.DataFrame({"x": rng.uniform(0, 500, 200), "y": rng.uniform(0, 500, 200), "cell_type": "A", "slide": "s"})
    t.loc[:99, "cell_type"] = "B"
    t.to_parquet(tmp_path / "cells.parquet")
    a = read_spatial(tmp_path / "cells.parquet", unit="um")
    assert a.n_obs == 200
    assert sorted(a.obs["cell_type"].cat.categories) == ["A", "B"]


def test_one_dimensional_coordinates_are_refused():
    import anndata as ad

    a = ad.AnnData(np.zeros((3, 2), dtype=np.float32), obs=pd.DataFrame({"cell_type": list("ABA")}, index=list("abc")))
    a.obsm["spatial"] = np.arange(3.0).reshape(3, 1)
    with pytest.raises(InputError, match=r"shape \(3, 1\)"):
        read_spatial(a, unit="um")
    del a.obsm["spatial"]
    with pytest.raises(MissingKeyError, match=r"obsm\['spatial'\] is absent"):
        read_spatial(a, unit="um")
