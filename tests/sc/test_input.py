"""Single-cell input: counts vs log-normalised vs scaled, counts layers, declared scales, barcodes, samples."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tmescope._errors import AutoFixWarning, InputError, InputTypeError, MissingKeyError, ScaleError
from tmescope._provenance import Provenance, collect
from tmescope.sc import detect_cell_scale, prepare_cells, read_cells


def _one_sample(cells: ad.AnnData) -> ad.AnnData:
    return cells[cells.obs["patient"] == "p1"].copy()


def _lognorm(X: sparse.csr_matrix, target: float = 1e4) -> sparse.csr_matrix:
    totals = np.asarray(X.sum(axis=1)).ravel()
    out = sparse.csr_matrix(sparse.diags(target / totals) @ X)
    out.data = np.log1p(out.data)
    return out


def test_counts_in_x_are_kept_and_normalised(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    w = prepare_cells(a)
    info = w.uns["tmescope_input"]
    assert info["scale"] == "counts"
    assert info["matrix"] == "adata.X"
    assert info["counts_available"]
    np.testing.assert_array_equal(w.layers["counts"].toarray(), a.X.toarray())
    back = np.expm1(w.X.toarray()).sum(axis=1)
    np.testing.assert_allclose(back, 1e4, rtol=1e-4)
    assert w.obs["sample"].astype(str).unique().tolist() == ["sample"]


def test_raw_and_normalised_input_give_the_same_values(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    from_counts = prepare_cells(a)
    b = a.copy()
    b.X = _lognorm(sparse.csr_matrix(a.X))
    from_log = prepare_cells(b)
    info = from_log.uns["tmescope_input"]
    assert info["scale"] == "log_other"
    assert info["log_base"] == pytest.approx(np.e)
    assert info["target_sum"] == pytest.approx(1e4, rel=1e-3)
    assert "counts" not in from_log.layers
    np.testing.assert_allclose(from_log.X.toarray(), from_counts.X.toarray(), atol=1e-4)


def test_log2_input_is_converted_to_natural_log(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    ref = prepare_cells(a)
    b = a.copy()
    lg = _lognorm(sparse.csr_matrix(a.X))
    lg.data = np.log2(np.expm1(lg.data) + 1.0)
    b.X = lg
    w = prepare_cells(b)
    assert w.uns["tmescope_input"]["scale"] == "log2"
    np.testing.assert_allclose(w.X.toarray(), ref.X.toarray(), atol=1e-3)


def test_counts_layer_preferred_over_log_x(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    a.layers["counts"] = a.X.copy()
    a.X = _lognorm(sparse.csr_matrix(a.X))
    with pytest.warns(AutoFixWarning, match=r"raw counts taken from adata.layers\['counts'\]"):
        w = prepare_cells(a)
    assert w.uns["tmescope_input"]["matrix"] == "adata.layers['counts']"
    assert "counts" in w.layers


def test_scaled_x_falls_back_to_raw(pbmc_raw: ad.AnnData) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # gene-symbol warnings of the real file come too
        w = prepare_cells(pbmc_raw)
    fixes = [str(c.message) for c in caught if issubclass(c.category, AutoFixWarning)]
    assert any("centred/scaled values" in m and "used adata.raw.X" in m for m in fixes)
    info = w.uns["tmescope_input"]
    assert info["matrix"] == "adata.raw.X"
    assert info["scale_source"] == "uncertain"  # a gene subset: totals are not constant
    assert w.n_obs == 700
    assert float(w.X.max()) == pytest.approx(float(pbmc_raw.raw.X.max()), rel=1e-6)


def test_scaled_x_without_raw_is_refused(pbmc_raw: ad.AnnData) -> None:
    a = ad.AnnData(np.asarray(pbmc_raw.X), var=pd.DataFrame(index=pbmc_raw.var_names))
    with pytest.raises(ScaleError, match=r"centred/scaled values .* no raw counts were found"):
        prepare_cells(a)


def test_linear_values_get_log1p(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    lin = _lognorm(sparse.csr_matrix(a.X), target=1e6)
    lin.data = np.expm1(lin.data)
    a.X = lin
    assert detect_cell_scale(a.X).scale == "log_other" or detect_cell_scale(a.X).scale == "linear"
    with pytest.warns(AutoFixWarning, match="applied log1p"):
        w = prepare_cells(a, scale="linear")
    np.testing.assert_allclose(w.X.toarray(), np.log1p(lin.toarray()), rtol=1e-5)


def test_negative_values_among_counts_are_refused(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    X = a.X.toarray()
    X[0, 0] = -1.0
    a.X = X
    with pytest.raises(ScaleError, match="negative value"):
        prepare_cells(a)


def test_barcode_collisions_are_prefixed(cells: ad.AnnData) -> None:
    assert not cells.obs_names.is_unique
    with pytest.warns(AutoFixWarning, match="prefixed with its sample"):
        w = prepare_cells(cells, sample_key="patient")
    assert w.obs_names.is_unique
    assert w.obs_names[0] == "p1_AAAC00000-1"
    assert w.obs_names[-1].startswith("p2_")
    assert w.uns["tmescope_input"]["sample_key"] == "patient"


def test_repeated_barcodes_within_a_sample_are_refused(cells: ad.AnnData) -> None:
    with pytest.raises(InputError, match=r"repeat within one sample .* sample_key="):
        prepare_cells(cells)


def test_missing_sample_key_names_the_columns(cells: ad.AnnData) -> None:
    with pytest.raises(MissingKeyError, match=r"'donor' not in adata.obs \(columns: patient, truth\)"):
        prepare_cells(cells, sample_key="donor")


def test_wrong_type_and_missing_layer() -> None:
    with pytest.raises(InputTypeError, match="must be an AnnData"):
        prepare_cells(np.ones((2, 2)))  # type: ignore[arg-type]
    a = ad.AnnData(np.ones((3, 2), dtype=np.float32), var=pd.DataFrame(index=["CD3E", "LYZ"]))
    with pytest.raises(MissingKeyError, match=r"Layer 'counts' not in adata\.layers"):
        prepare_cells(a, layer="counts")


def test_read_cells_records_input(tmp_path, cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    path = tmp_path / "cells.h5ad"
    a.write_h5ad(path)
    prov = Provenance("test")
    with collect(prov):
        w = read_cells(path)
    assert w.uns["tmescope_input"]["file"] == str(path)
    assert prov.inputs[0]["sha256"] == w.uns["tmescope_input"]["sha256"]
    with pytest.raises(InputError, match="No file at"):
        read_cells(tmp_path / "absent.h5ad")


def test_counts_in_raw_are_used(cells: ad.AnnData) -> None:
    a = _one_sample(cells)
    a.raw = a.copy()  # the scanpy habit: keep the counts in .raw, then normalise X
    a.X = _lognorm(sparse.csr_matrix(a.X))
    with pytest.warns(AutoFixWarning, match=r"raw counts taken from adata\.raw\.X"):
        w = prepare_cells(a)
    assert w.uns["tmescope_input"]["matrix"] == "adata.raw.X"
    np.testing.assert_array_equal(w.layers["counts"].toarray(), a.raw.X.toarray())


def test_damaged_and_oversized_files_are_refused(tmp_path, cells: ad.AnnData) -> None:
    empty = tmp_path / "empty.h5ad"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)"):
        read_cells(empty)
    renamed = tmp_path / "table.h5ad"
    renamed.write_text("gene\tS1\nCD8A\t1\n")
    with pytest.raises(InputError, match="is not an HDF5/h5ad file"):
        read_cells(renamed)
    good = tmp_path / "cells.h5ad"
    _one_sample(cells).write_h5ad(good)
    cut = tmp_path / "cut.h5ad"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="incomplete or corrupt"):
        read_cells(cut)
    with pytest.raises(InputError, match="above the budget"):
        read_cells(good, max_bytes=1000)
