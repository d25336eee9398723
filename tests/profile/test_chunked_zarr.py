"""Chunked profiling read lazily from AnnData zarr stores: the same table as from the h5ad, X read by row slices."""

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
from tmescope._provenance import sha256_file
from tmescope.cli import main
from tmescope.io import read_expression, read_features
from tmescope.profile import open_source, profile_chunks
from tmescope.profile._chunked import _fingerprint
from tmescope.profile._reference import resolve_reference

pytestmark = [pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning")]

KW = {"n_boot": 5, "seed": 3, "insights": False}


@pytest.fixture(scope="module")
def cohort() -> ad.AnnData:
    """Twelve samples of the bundled Liu et al. 2019 melanoma cohort."""
    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()
    return ad.AnnData(
        np.asarray(adata.X[:12], dtype=np.float32),
        obs=pd.DataFrame(index=adata.obs_names[:12]),
        var=pd.DataFrame(index=adata.var_names),
    )


@pytest.fixture(scope="module")
def h5ad_features(cohort, tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("h5ad") / "cohort.h5ad"
    cohort.write_h5ad(path)
    return profile_chunks(open_source(path), chunk_size=5, **KW)


def _write_store(adata: ad.AnnData, path, *, sparse: bool = False, chunks: tuple[int, int] | None = None):
    if sparse:
        adata = adata.copy()
        adata.X = sp.csr_matrix(adata.X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # anndata's notices of coming zarr defaults
        adata.write_zarr(path, chunks=chunks)
    return path


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_zarr_chunks_give_the_table_of_the_h5ad(cohort, h5ad_features, tmp_path, sparse):
    store = _write_store(cohort, tmp_path / "cohort.zarr", sparse=sparse, chunks=(4, cohort.n_vars))
    source = open_source(store)
    assert source.kind == "zarr"
    assert source.samples == tuple(cohort.obs_names)
    got = profile_chunks(source, chunk_size=5, **KW)
    assert got["sample"].nunique() == 12
    pd.testing.assert_frame_equal(got, h5ad_features, check_exact=True)


def test_open_source_and_reads_touch_only_the_chunks_they_need(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", chunks=(4, cohort.n_vars))
    (store / "X" / "2.0").write_bytes(b"garbage, not a compressed chunk")  # rows 8..11
    source = open_source(store)  # would fail if it decoded X
    assert source.samples == tuple(cohort.obs_names)
    first = source.read(0, 4)
    np.testing.assert_array_equal(first.X, read_expression(_write_store(cohort[:4], tmp_path / "head.zarr")).X)
    assert first.uns["tmescope_input"]["file"] == str(store)
    with pytest.raises(InputError, match="could not be read as AnnData") as info:
        source.read(8, 12)
    assert str(store) in str(info.value)

    (store / "X" / "1.0").unlink()  # rows 4..7: refused before any chunk is profiled
    with pytest.raises(InputError, match=r"is incomplete: 1 chunk file\(s\) of X are missing \(1 item\(s\): X/1.0\)"):
        open_source(store)


def test_csr_reads_check_only_the_chunks_of_their_rows(cohort, tmp_path):
    store = tmp_path / "cohort.zarr"
    x = sp.csr_matrix(cohort.X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ad.AnnData(x, obs=cohort.obs, var=cohort.var).write_zarr(store)
    source = open_source(store)
    # rewrite X/data in small chunks so that each sample's values sit in chunks of their own
    import zarr

    data = zarr.open_array(store / "X" / "data", mode="r")[:]
    for f in (store / "X" / "data").iterdir():
        f.unlink()
    (store / ".zmetadata").unlink()
    arr = zarr.create_array(store / "X" / "data", shape=data.shape, chunks=(1000,), dtype=data.dtype, zarr_format=2)
    arr[:] = data
    start = int(x.indptr[8])
    last_of_first_rows = (int(x.indptr[4]) - 1) // 1000
    first_of_last_rows = start // 1000
    assert last_of_first_rows < first_of_last_rows
    (store / "X" / "data" / str(first_of_last_rows)).unlink()
    assert list(source.read(0, 4).obs_names) == list(cohort.obs_names[:4])
    with pytest.raises(InputError, match=f"X/data/{first_of_last_rows}"):
        source.read(8, 12)


def test_a_changed_store_does_not_resume_old_checkpoints(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr", chunks=(4, cohort.n_vars))
    ref = resolve_reference("default")
    options = {"seed": 3, "n_boot": 5, "k": 35, "insights": False}
    before = _fingerprint(open_source(store), ref, scale="linear", options=options)
    assert _fingerprint(open_source(store), ref, scale="linear", options=options) == before
    chunk = store / "X" / "1.0"
    data = chunk.read_bytes()
    chunk.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # same size, new content
    assert _fingerprint(open_source(store), ref, scale="linear", options=options) != before


def test_cli_profiles_a_zarr_store_in_chunks(cohort, tmp_path):
    store = _write_store(cohort, tmp_path / "cohort.zarr")
    out = tmp_path / "out"
    args = ["--quiet", "profile", str(store), "-o", str(out), "--chunk-size", "5", "--n-boot", "5"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    features = read_features(out)
    assert sorted(features["sample"].unique()) == sorted(cohort.obs_names)
    assert len(list((out / "chunks").glob("profile-*.pkl"))) == 3
    inputs = json.loads((out / "provenance.json").read_text())["inputs"]
    (entry,) = [i for i in inputs if i["role"] == "expression"]
    assert entry["path"] == str(store)
    assert entry["sha256"] == sha256_file(store)
