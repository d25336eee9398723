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
def cohort(liu_table) -> pd.DataFrame:
    return liu_table(12, genes_in_rows=False)


def test_samples_in_rows_equal_genes_in_rows(cohort, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    rows, cols = tmp_path / "rows.parquet", tmp_path / "cols.parquet"
    cohort.to_parquet(rows, row_group_size=4)
    cohort.T.rename_axis("gene").to_parquet(cols)
    # genes in the header: refused as transposed (as the whole-file reader does) until declared
    with pytest.raises(InputError, match="looks transposed"):
        open_source(rows)
    source = open_source(rows, orientation="samples_x_genes")
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
    source = open_source(path, orientation="samples_x_genes")
    with pytest.raises(InputError) as info:
        profile_chunks(source, chunk_size=6, n_boot=5, insights=False, scale="log2(x+0.001)")
    text = str(info.value)
    assert f"'{path}' (samples {cohort.index[6]}..{cohort.index[11]})" in text
    assert "tmescope-chunk-" not in text
    assert cohort.index[7] in text


def test_parquet_without_labels_is_refused_like_the_whole_file_reader(cohort, tmp_path):
    from tmescope.io import read_expression

    path = tmp_path / "nolabels.parquet"
    cohort.reset_index(drop=True).to_parquet(path)
    with pytest.raises(InputError, match="holds numbers, not gene or sample labels") as whole:
        read_expression(path)
    with pytest.raises(InputError, match="holds numbers, not gene or sample labels") as chunked:
        open_source(path)
    assert str(chunked.value) == str(whole.value)


def test_cli_profile_takes_orientation_and_scale(cohort, tmp_path):
    """`tmescope profile --orientation samples_x_genes --scale ...` reads a transposed table, whole or in chunks."""
    import json

    from click.testing import CliRunner

    from tmescope.cli import main
    from tmescope.io import read_features

    path = tmp_path / "rows.tsv"
    cohort.iloc[:6].to_csv(path, sep="\t")
    base = ["--quiet", "profile", str(path), "--n-boot", "5", "--no-report"]
    res = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "refused")])
    assert res.exit_code == 2
    assert "looks transposed" in res.output
    declared = ["--orientation", "samples_x_genes", "--scale", "log2(x+0.001)"]
    res = CliRunner().invoke(main, [*base, *declared, "--out", str(tmp_path / "whole")])
    assert res.exit_code == 0, res.output
    whole = read_features(tmp_path / "whole")
    assert whole["sample"].nunique() == 6
    prov = json.loads((tmp_path / "whole" / "provenance.json").read_text())
    assert prov["params"]["read_options"]["orientation"] == "samples_x_genes"
    assert prov["params"]["read_options"]["scale"] == "log2(x+0.001)"
    pq_path = tmp_path / "rows.parquet"
    cohort.iloc[:6].to_parquet(pq_path, row_group_size=2)
    chunked = ["--quiet", "profile", str(pq_path), "--n-boot", "5", *declared, "--chunk-size", "3"]
    res = CliRunner().invoke(main, [*chunked, "--out", str(tmp_path / "chunked")])
    assert res.exit_code == 0, res.output
    got = read_features(tmp_path / "chunked")
    assert set(got["sample"]) == set(whole["sample"])
