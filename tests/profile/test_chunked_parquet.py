"""Chunked profiling of parquet files with samples in rows: only the row groups of a chunk are read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError
from tmescope.profile import open_source, profile_chunks

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning"),
]


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()
    return pd.DataFrame(
        np.asarray(adata.X[:12]), index=pd.Index(adata.obs_names[:12], name="sample"), columns=adata.var_names
    )


def test_samples_in_rows_equal_genes_in_rows(cohort, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    rows, cols = tmp_path / "rows.parquet", tmp_path / "cols.parquet"
    cohort.to_parquet(rows, row_group_size=4)
    cohort.T.rename_axis("gene").to_parquet(cols)
    source = open_source(rows)
    assert source.kind == "parquet_rows"
    assert source.samples == tuple(cohort.index)
    assert open_source(cols).kind == "parquet"
    read: list[list[int]] = []
    original = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, *args, **kwargs):
        read.append(list(row_groups))
        return original(self, row_groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    by_rows = profile_chunks(source, chunk_size=5, n_boot=5, seed=0, insights=False, scale="log2(x+0.001)")
    # chunks of rows 0-4, 5-9 and 10-11 in groups of 4 rows: never the whole file at once
    assert read == [[0, 1], [1, 2], [2]]
    monkeypatch.undo()
    by_cols = profile_chunks(open_source(cols), chunk_size=5, n_boot=5, seed=0, insights=False, scale="log2(x+0.001)")
    pd.testing.assert_frame_equal(by_rows, by_cols, check_exact=True)
    assert by_rows["sample"].nunique() == 12


def test_bad_chunk_names_the_file_and_its_samples(cohort, tmp_path):
    bad = cohort.copy()
    bad.iloc[7] = np.nan
    path = tmp_path / "bad.parquet"
    bad.to_parquet(path, row_group_size=4)
    with pytest.raises(InputError) as info:
        profile_chunks(open_source(path), chunk_size=6, n_boot=5, insights=False, scale="log2(x+0.001)")
    text = str(info.value)
    assert f"'{path}' (samples {cohort.index[6]}..{cohort.index[11]})" in text
    assert "tmescope-chunk-" not in text
    assert cohort.index[7] in text
