"""`tmescope profile --chunk-size/--checkpoint/--scheduler`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tmescope.cli import main
from tmescope.io import read_features

pytestmark = [pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning")]


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()
    sub = adata[:6]
    table = pd.DataFrame(np.asarray(sub.X).T, index=pd.Index(sub.var_names, name="gene"), columns=sub.obs_names)
    path = tmp_path_factory.mktemp("cohort") / "cohort.parquet"
    table.to_parquet(path)
    return path


def test_chunked_profile_writes_features_and_resumes(cohort_file, tmp_path):
    out = tmp_path / "out"
    args = ["--quiet", "profile", str(cohort_file), "--out", str(out), "--chunk-size", "4", "--n-boot", "5"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    features = read_features(out)
    assert features["sample"].nunique() == 6
    chunks = sorted((out / "chunks").glob("profile-*.pkl"))
    assert len(chunks) == 2
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["params"]["chunk_size"] == 4
    assert prov["params"]["scheduler"] == "in-process"

    stamps = [p.stat().st_mtime_ns for p in chunks]
    chunks[1].unlink()  # as if the run had stopped before the second chunk was saved
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert chunks[0].stat().st_mtime_ns == stamps[0]  # reused, not recomputed
    pd.testing.assert_frame_equal(read_features(out), features, check_exact=True)


def test_chunked_profile_refuses_other_formats_and_clinical(tmp_path, cohort_file):
    tsv = tmp_path / "cohort.tsv"
    pd.read_parquet(cohort_file).to_csv(tsv, sep="\t")
    res = CliRunner().invoke(main, ["profile", str(tsv), "--out", str(tmp_path / "o"), "--chunk-size", "2"])
    assert res.exit_code == 2
    assert "parquet file (genes in rows" in res.output
    clin = tmp_path / "clinical.tsv"
    clin.write_text("sample\tresponse\nPatient105\tR\n")
    res = CliRunner().invoke(
        main, ["profile", str(cohort_file), "--out", str(tmp_path / "o"), "--chunk-size", "2", "--clinical", str(clin)]
    )
    assert res.exit_code == 2
    assert "--clinical is not used with --chunk-size" in res.output


def test_bad_scheduler_is_reported(cohort_file, tmp_path):
    res = CliRunner().invoke(
        main, ["profile", str(cohort_file), "--out", str(tmp_path / "o"), "--scheduler", "local:x"]
    )
    assert res.exit_code == 2
    assert "local:4" in res.output


def test_backed_h5ad_chunks_equal_the_whole_profile(cohort_file, tmp_path):
    import anndata as ad

    from tmescope.io import read_expression
    from tmescope.profile import open_source, profile, profile_chunks

    table = pd.read_parquet(cohort_file)
    h5 = tmp_path / "cohort.h5ad"
    obs, var = pd.DataFrame(index=table.columns), pd.DataFrame(index=table.index)
    ad.AnnData(table.T.to_numpy(), obs=obs, var=var).write_h5ad(h5)
    source = open_source(h5)
    assert source.kind == "h5ad"
    assert source.samples == tuple(table.columns)
    kw = {"n_boot": 5, "seed": 2, "insights": False}
    whole = profile(read_expression(h5), **kw).features
    pd.testing.assert_frame_equal(profile_chunks(source, chunk_size=4, **kw), whole, check_exact=True)


def test_global_scheduler_option_checked(cohort_file, tmp_path):
    res = CliRunner().invoke(main, ["--scheduler", "local:0", "profile", str(cohort_file), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "positive number of workers" in res.output
