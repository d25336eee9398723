"""AnnData zarr stores (folders written by ``AnnData.write_zarr``) as expression input."""

from __future__ import annotations

import json
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner

from tmescope._errors import InputError
from tmescope._provenance import Provenance, collect, path_bytes, sha256_file
from tmescope.cli import main
from tmescope.io import read_expression
from tmescope.io._zarr import sniff_store

pytestmark = [pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning")]


@pytest.fixture(scope="module")
def cohort() -> ad.AnnData:
    """Twelve samples of the bundled Liu et al. 2019 melanoma cohort, with one obs annotation."""
    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()
    sub = ad.AnnData(
        np.asarray(adata.X[:12], dtype=np.float32),
        obs=pd.DataFrame({"site": ["skin", "lymph node", "lung"] * 4}, index=adata.obs_names[:12]),
        var=pd.DataFrame(index=adata.var_names),
    )
    return sub


@pytest.fixture(scope="module")
def h5ad_path(cohort, tmp_path_factory):
    path = tmp_path_factory.mktemp("h5ad") / "cohort.h5ad"
    cohort.write_h5ad(path)
    return path


def _write_store(adata: ad.AnnData, path, *, layout: str, chunks: tuple[int, int] | None = None):
    """Write ``adata`` as a zarr store: format 2 dense or CSR (anndata's default), or format 3 dense."""
    if layout == "csr":
        adata = adata.copy()
        adata.X = sp.csr_matrix(adata.X)
    with ad.settings.override(zarr_write_format=3 if layout == "dense_v3" else 2), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # anndata's notices of coming zarr defaults
        adata.write_zarr(path, chunks=chunks)
    return path


@pytest.mark.parametrize("layout", ["dense", "csr", "dense_v3"])
def test_zarr_store_reads_exactly_like_the_h5ad_of_the_same_data(cohort, h5ad_path, tmp_path, layout):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout=layout)
    prov = Provenance("test")
    with collect(prov):
        got = read_expression(store)
    want = read_expression(h5ad_path)
    assert got.uns["tmescope_input"]["format"] == "zarr"
    assert got.uns["tmescope_input"]["orientation"] == "samples_x_genes"
    assert got.uns["tmescope_input"]["orientation_evidence"].startswith("zarr (AnnData keeps samples in obs)")
    for key in ("scale", "pseudocount", "scale_evidence", "id_type"):
        assert got.uns["tmescope_input"][key] == want.uns["tmescope_input"][key]
    mapping = {k: v for k, v in got.uns["tmescope_input"]["gene_mapping"].items() if k != "source"}
    assert mapping == {k: v for k, v in want.uns["tmescope_input"]["gene_mapping"].items() if k != "source"}
    assert list(got.obs_names) == list(want.obs_names) == list(cohort.obs_names)
    assert list(got.var_names) == list(want.var_names)
    pd.testing.assert_frame_equal(got.obs, want.obs)
    pd.testing.assert_frame_equal(got.var, want.var)
    assert list(got.obs["site"]) == list(cohort.obs["site"])
    np.testing.assert_array_equal(got.X, want.X)
    assert got.X.dtype == want.X.dtype == np.float32
    # the store is recorded as one input: its total size and the digest of all its files
    (entry,) = prov.inputs
    assert entry["bytes"] == path_bytes(store) > 0
    assert entry["sha256"] == got.uns["tmescope_input"]["sha256"] == sha256_file(store)


def test_store_digest_changes_with_any_chunk(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout="dense", chunks=(4, cohort.n_vars))
    before = sha256_file(store)
    chunk = store / "X" / "1.0"
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 0xFF
    chunk.write_bytes(bytes(data))
    assert sha256_file(store) != before


def test_folder_that_is_not_an_anndata_store_is_refused(cohort, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "expr.tsv").write_text("gene\tS1\nCD8A\t1\n")
    with pytest.raises(InputError, match="is a folder, not a file, and not an AnnData zarr store") as info:
        read_expression(folder)
    message = str(info.value)
    assert str(folder) in message
    assert "expr.tsv" in message  # what was found
    assert "adata.write_zarr('cohort.zarr')" in message  # how to write one

    import zarr

    plain = tmp_path / "plain.zarr"
    zarr.open_group(plain, mode="w").create_array("values", shape=(3, 3), dtype="f4")
    with pytest.raises(InputError, match="without AnnData encoding, not an AnnData zarr store") as info:
        read_expression(plain)
    assert str(plain) in str(info.value)

    cut = _write_store(cohort, tmp_path / "cut.zarr", layout="dense")
    (cut / ".zgroup").unlink()
    with pytest.raises(InputError, match="is incomplete: it has AnnData attributes"):
        read_expression(cut)

    array = tmp_path / "array.zarr"
    zarr.open_array(array, mode="w", shape=(3, 3), dtype="f4")
    with pytest.raises(InputError, match=r"is a zarr array without AnnData encoding"):
        sniff_store(array)


def test_file_named_zarr_is_refused(tmp_path):
    path = tmp_path / "cohort.zarr"
    path.write_text("gene\tS1\nCD8A\t1\nPTPRC\t2\n")
    with pytest.raises(InputError, match="named like a zarr store but is a file"):
        read_expression(path)


@pytest.mark.parametrize(("layout", "chunk"), [("dense", "X/1.0"), ("dense_v3", "X/c/2/0"), ("csr", "X/data/0")])
def test_store_with_a_missing_x_chunk_is_refused(cohort, tmp_path, layout, chunk):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout=layout, chunks=(4, cohort.n_vars))
    assert read_expression(store).n_obs == 12
    (store / chunk).unlink()
    with pytest.raises(InputError, match="is incomplete: 1 chunk file") as info:
        read_expression(store)
    assert str(store) in str(info.value)
    assert chunk in str(info.value)


def test_store_without_x_metadata_or_with_damaged_chunk_is_refused(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout="dense", chunks=(4, cohort.n_vars))
    (store / "X" / "0.0").write_bytes(b"not a compressed chunk")
    with pytest.raises(InputError, match="could not be read as AnnData") as info:
        read_expression(store)
    assert str(store) in str(info.value)
    (store / "X" / ".zarray").unlink()
    (store / "X" / ".zattrs").unlink()
    with pytest.raises(InputError, match="has no expression matrix in X") as info:
        read_expression(store)
    assert str(store) in str(info.value)


def test_store_above_the_memory_budget_is_not_loaded(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout="csr")
    with pytest.raises(InputError, match="above the memory budget"):
        read_expression(store, max_bytes=1000)


def test_inspect_reads_a_zarr_store(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout="dense")
    res = CliRunner().invoke(main, ["inspect", str(store), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["format"] == "zarr"
    assert summary["n_samples"] == 12
    assert summary["sha256"] == sha256_file(store)
    res = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert res.exit_code == 2
    assert "not an AnnData zarr store" in res.output


def test_composition_and_reference_build_take_a_zarr_store(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", layout="dense")
    res = CliRunner().invoke(main, ["composition", str(store), "--out", str(tmp_path / "comp"), "--n-boot", "0"])
    assert res.exit_code == 0, res.output
    from tmescope.io import read_features

    features = read_features(tmp_path / "comp")
    assert set(features["sample"]) == set(cohort.obs_names)
    assert features["feature"].str.startswith("composition.").any()
    from tmescope.datasets import liu2019_melanoma

    bigger, _ = liu2019_melanoma()
    store = _write_store(bigger[:24].copy(), tmp_path / "bigger.zarr", layout="dense")
    args = ["reference", "build", str(store), "--out", str(tmp_path / "ref.parquet"), "--n-boot", "5"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ref.parquet").is_file()
