from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy.stats import percentileofscore

import tmescope
from tmescope import _keys
from tmescope.cli import main
from tmescope.datasets import liu2019_melanoma
from tmescope.profile import (
    ReferenceCohort,
    build_reference,
    default_reference,
    load_reference,
    profile,
    run_profile,
)
from tmescope.profile._reference import METADATA_KEY
from tmescope.profile._versions import running_versions
from tmescope.subtype import classify_subtype, score_subtype_signatures

pytestmark = [
    pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning"),
    pytest.mark.filterwarnings("ignore::tmescope.CoverageWarning"),
]


@pytest.fixture(scope="module")
def liu():
    adata, clinical = liu2019_melanoma()
    return adata, clinical


@pytest.fixture(scope="module")
def small_reference(liu, tmp_path_factory) -> Path:
    adata, clinical = liu
    sub = adata[:40].copy()
    ref = build_reference(
        sub,
        name="liu_first40",
        clinical=clinical.iloc[:40],
        tumour_type="metastatic melanoma",
        seed=0,
        n_boot=0,
    )
    path = tmp_path_factory.mktemp("ref") / "liu40.parquet"
    ref.save(path)
    return path


def _tamper(src: Path, dst: Path, **changes) -> Path:
    table = pq.read_table(src)
    meta = dict(table.schema.metadata)
    payload = json.loads(meta[METADATA_KEY])
    payload.update(changes)
    meta[METADATA_KEY] = json.dumps(payload).encode()
    pq.write_table(table.replace_schema_metadata(meta), dst)
    return dst


# --- reference files ---------------------------------------------------------------------------


def test_default_reference_is_labelled_and_current():
    from tmescope.profile._reference import _default_path

    ref = load_reference(_default_path(), check=False)
    assert isinstance(ref, ReferenceCohort)
    assert ref.n_samples == 121
    assert ref.metadata["tumour_type"] == "metastatic melanoma"
    assert "121" in ref.name
    assert sum(ref.metadata["subtype_counts"].values()) == 121
    assert set(ref.labels["subtype"]) == {"IE/F", "IE", "F", "D"}
    versions = running_versions()
    stale = "the shipped default reference is stale: run `.venv/bin/python scripts/build_default_reference.py`"
    assert ref.metadata["signature_library_version"] == versions["signature_library_version"], stale
    assert ref.metadata["gene_table_version"] == versions["gene_table_version"], stale
    assert ref.subtype.scaled.shape == (121, 29)
    assert ref.subtype.scaled.abs().max().max() <= 2.0
    assert "clinical:response" in ref.labels.columns
    assert not [f for f in ref.features.columns if f.startswith("subtype.")]
    assert len(ref.genes) > 15000


def test_save_load_round_trip(small_reference, tmp_path):
    ref = load_reference(small_reference)
    again_path = ref.save(tmp_path / "copy.parquet")
    again = load_reference(again_path)
    pd.testing.assert_frame_equal(ref.features, again.features)
    pd.testing.assert_frame_equal(ref.labels, again.labels)
    pd.testing.assert_frame_equal(ref.subtype.scaled, again.subtype.scaled)
    np.testing.assert_array_equal(ref.subtype.mad, again.subtype.mad)
    assert ref.genes == again.genes
    assert ref.metadata == again.metadata
    # no pickle anywhere: the body is plain parquet columns, the metadata is JSON
    schema = pq.read_schema(again_path)
    json.loads(schema.metadata[METADATA_KEY])
    assert {str(t) for t in schema.types} <= {"string", "double", "large_string"}


def test_percentiles_match_scipy(small_reference):
    ref = load_reference(small_reference)
    feature = "estimate.immune_score"
    values = ref.features[feature].dropna().to_numpy()
    rows = pd.DataFrame({"feature": feature, "value": [values.min() - 1, float(np.median(values)), values[3], np.nan]})
    pct = ref.percentiles(rows)
    expected = [percentileofscore(values, v, kind="mean") for v in rows["value"].iloc[:3]]
    np.testing.assert_allclose(pct.iloc[:3], expected)
    assert np.isnan(pct.iloc[3])
    other = ref.percentiles(pd.DataFrame({"feature": ["not.a_feature"], "value": [1.0]}))
    assert other.isna().all()
    # a reference case is compared with the other cases only
    case = ref.features.index[0]
    own = ref.features.loc[case, feature]
    mine = ref.percentiles(pd.DataFrame({"sample": [case], "feature": [feature], "value": [own]}))
    rest = ref.features[feature].drop(case).dropna().to_numpy()
    assert mine.iloc[0] == pytest.approx(percentileofscore(rest, own, kind="mean"))


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("signature_library_version", "1999.1.0", "signature library version"),
        ("gene_table_version", "HGNC 2001-01-01 / GENCODE 1", "gene table version"),
    ],
)
def test_version_mismatch_is_refused(small_reference, tmp_path, key, value, words):
    bad = _tamper(small_reference, tmp_path / "old.parquet", **{key: value})
    with pytest.raises(tmescope.ReferenceMismatchError, match=words) as err:
        load_reference(bad)
    text = str(err.value)
    assert value in text
    assert running_versions()[key] in text
    assert "tmescope reference build" in text
    assert isinstance(err.value, ValueError)
    # inspection without the check still works
    assert load_reference(bad, check=False).name == "liu_first40"
    # and the CLI says so in one line, exit status 2
    runner = CliRunner()
    res = runner.invoke(main, ["reference", "info", str(bad)])
    assert res.exit_code == 2
    assert "Error: Reference cohort 'liu_first40'" in res.output


def test_not_a_reference_is_refused(tmp_path):
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1.0]}).to_parquet(plain)
    with pytest.raises(tmescope.InputError, match="not a tmescope reference cohort"):
        load_reference(plain)
    text = tmp_path / "x.parquet"
    text.write_text("hello")
    with pytest.raises(tmescope.InputError, match="not a parquet reference"):
        load_reference(text)
    with pytest.raises(tmescope.InputError, match="tmescope reference build"):
        load_reference(tmp_path / "missing.parquet")


def test_newer_format_is_refused(small_reference, tmp_path):
    bad = _tamper(small_reference, tmp_path / "future.parquet", format_version=99)
    with pytest.raises(tmescope.ReferenceMismatchError, match="Upgrade tmescope"):
        load_reference(bad)


# --- reference-mode calls ------------------------------------------------------------------------


def test_reference_mode_reproduces_frozen_labels(liu):
    """Placing each reference sample against the others (leave-one-out) mostly gives back its de novo subtype."""
    adata, _ = liu
    ref = default_reference()
    view = adata.copy()
    score_subtype_signatures(view, reference=ref)
    table = classify_subtype(view, reference=ref)
    agree = (table["subtype"].astype(str) == ref.labels["subtype"].reindex(view.obs_names)).mean()
    assert agree >= 0.6
    assert view.uns[_keys.UNS_SUBTYPE]["k"] == 10
    assert view.uns[_keys.UNS_SUBTYPE]["n_in_reference"] == 121
    nearest = view.uns[_keys.UNS_SUBTYPE]["nearest"]
    assert not (nearest["neighbour"] == nearest["sample"]).any()
    # under another name the same profile is found at distance 0
    renamed = view.copy()
    renamed.obs_names = [f"new_{s}" for s in view.obs_names]
    classify_subtype(renamed, reference=ref)
    first = renamed.uns[_keys.UNS_SUBTYPE]["nearest"].query("rank == 1")
    assert (first["neighbour"] == first["sample"].str.removeprefix("new_")).mean() > 0.95
    assert first["distance"].max() < 1e-3


def test_profile_single_patient_against_default(liu):
    adata, _ = liu
    one = adata[[5]].copy()
    result = profile(one, seed=0, n_boot=20)
    feats = result.features
    assert list(feats.columns) == list(tmescope.io.FEATURE_COLUMNS)
    assert set(feats["sample"]) == {one.obs_names[0]}
    families = set(feats["feature"].str.split(".").str[0])
    assert {
        "immunotherapy",
        "tls",
        "caf_state",
        "matrisome",
        "metabolic",
        "tme_signature",
        "estimate",
        "composition",
        "abundance",
        "subtype",
        "immune_phenotype",
    } <= families
    for name in (
        "immunotherapy.cyt_rooney2015",
        "immunotherapy.ifng_6gene_ayers2017",
        "immunotherapy.gep_18gene_ayers2017",
        "immunotherapy.tide_ctl_level_jiang2018",
        "metabolic.tyrosine_catabolism_hpdl_nazemi2024",
        "metabolic.isr_atf4_targets_harding2003",
    ):
        assert name in set(feats["feature"]), name
    numeric = feats[(feats["label"] == "") & feats["value"].notna()]
    assert numeric["percentile"].notna().mean() > 0.95
    assert numeric["percentile"].dropna().between(0, 100).all()
    assert feats.loc[feats["feature"] == "subtype.confidence", "percentile"].isna().all()
    comp = feats[feats["feature"].str.startswith("composition.")]
    assert (comp["ci_low"] <= comp["value"] + 1e-9).all()
    assert (comp["ci_high"] >= comp["value"] - 1e-9).all()
    label = feats.loc[feats["feature"] == "subtype.label", "label"].iloc[0]
    assert label in {"IE/F", "IE", "F", "D"}
    a = result.adata
    assert a.obs[_keys.OBS_SUBTYPE].iloc[0] == label
    assert a.uns[_keys.UNS_PROFILE]["reference"] == "liu2019_melanoma_n121"
    nearest = a.uns[_keys.UNS_SUBTYPE]["nearest"]
    assert len(nearest) == 10
    # the nearest cases carry their immune phenotype and clinical outcome from the reference
    assert {"immune_phenotype", "response", "os_time"} <= set(nearest.columns)
    assert set(nearest["response"]) <= {"R", "NR", ""}
    assert a.obs[_keys.OBS_IMMUNE_PHENOTYPE].iloc[0] in {"inflamed", "excluded", "desert"}
    assert _keys.OBS_SUBTYPE not in one.obs  # input untouched


def test_profile_is_deterministic(liu, small_reference):
    adata, _ = liu
    few = adata[40:43].copy()
    ref = load_reference(small_reference)
    f1 = profile(few, reference=ref, seed=3, n_boot=10).features
    f2 = profile(few, reference=ref, seed=3, n_boot=10).features
    pd.testing.assert_frame_equal(f1, f2)


def test_profile_does_not_depend_on_n_jobs(liu, small_reference):
    adata, _ = liu
    few = adata[50:52].copy()
    ref = load_reference(small_reference)
    old = tmescope.settings.n_jobs
    try:
        tmescope.settings.n_jobs = 1
        f1 = profile(few, reference=ref, seed=0, n_boot=10).features
        tmescope.settings.n_jobs = 2
        f2 = profile(few, reference=ref, seed=0, n_boot=10).features
    finally:
        tmescope.settings.n_jobs = old
    pd.testing.assert_frame_equal(f1, f2)


def test_reference_calls_do_not_depend_on_sample_order(liu):
    adata, _ = liu
    ref = default_reference()
    view = adata[:30, adata.var_names.isin(ref.genes)].copy()
    score_subtype_signatures(view)
    order = np.random.default_rng(0).permutation(view.n_obs)
    shuffled = view[order].copy()
    a = classify_subtype(view, reference=ref)
    b = classify_subtype(shuffled, reference=ref)
    pd.testing.assert_frame_equal(a, b.loc[a.index])


def test_profile_refuses_too_few_genes(liu):
    adata, _ = liu
    few_genes = adata[:2, :5000].copy()
    with pytest.raises(tmescope.InputError, match="genes of reference"):
        profile(few_genes, n_boot=0)


def test_cohort_relative_profile_needs_enough_samples(liu):
    adata, _ = liu
    with pytest.raises(tmescope.InputError, match="at least 20 samples"):
        profile(adata[:5].copy(), reference=None, n_boot=0)


# --- end to end ----------------------------------------------------------------------------------


def _write_tsv(adata, path: Path) -> Path:
    frame = pd.DataFrame(adata.X.T, index=adata.var_names, columns=adata.obs_names)
    frame.index.name = "gene"
    frame.to_csv(path, sep="\t", float_format="%.3f")
    return path


@pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning")
def test_run_profile_writes_every_output(liu, tmp_path):
    adata, clinical = liu
    expr = _write_tsv(adata[:3], tmp_path / "three.tsv")
    clin = tmp_path / "clin.tsv"
    clinical.iloc[:3][["sample_id", "response", "os_time", "os_event"]].to_csv(clin, sep="\t", index=False)
    out = run_profile(expr, tmp_path / "out", clinical=clin, n_boot=10, seed=1)
    for name in ("profile.h5ad", "features.parquet", "features.tsv", "provenance.json", "report/index.html"):
        assert (out / name).exists(), name
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 1
    assert {i["role"] for i in prov["inputs"]} == {"expression", "clinical"}
    assert prov["resources"]["reference_cohort"]["name"] == "liu2019_melanoma_n121"
    assert prov["resources"]["versions"]["signature_library_version"]
    feats = tmescope.io.read_features(out)
    assert feats["sample"].nunique() == 3
    import anndata as ad

    back = ad.read_h5ad(out / "profile.h5ad")
    assert back.obs["response"].tolist() == clinical["response"].iloc[:3].fillna("").tolist()
    assert list(back.uns[_keys.UNS_SUBTYPE]["nearest"].columns)[:3] == ["sample", "rank", "neighbour"]
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


@pytest.mark.filterwarnings("ignore::tmescope.TmescopeWarning")
def test_cli_build_reference_then_profile_against_it(liu, tmp_path):
    adata, _ = liu
    cohort = _write_tsv(adata[:30], tmp_path / "cohort.tsv")
    patient = _write_tsv(adata[[100]], tmp_path / "patient.tsv")
    runner = CliRunner()
    ref = tmp_path / "my_ref.parquet"
    res = runner.invoke(
        main,
        ["--quiet", "reference", "build", str(cohort), "-o", str(ref), "--tumour-type", "melanoma", "--n-boot", "0"],
    )
    assert res.exit_code == 0, res.output
    assert "my_ref: 30 samples, melanoma" in res.output
    res = runner.invoke(main, ["reference", "info", str(ref)])
    assert res.exit_code == 0, res.output
    assert "Compatible with this tmescope." in res.output
    out = tmp_path / "out"
    res = runner.invoke(
        main,
        ["--quiet", "profile", str(patient), "--reference", str(ref), "-o", str(out), "--no-report", "--n-boot", "5"],
    )
    assert res.exit_code == 0, res.output
    feats = tmescope.io.read_features(out)
    assert feats.loc[feats["feature"] == "subtype.label", "method"].iloc[0].endswith("vs my_ref")
    # a reference from another library version is refused by the main command too
    bad = _tamper(ref, tmp_path / "bad.parquet", signature_library_version="0.0.1")
    res = runner.invoke(main, ["profile", str(patient), "--reference", str(bad), "-o", str(tmp_path / "o2")])
    assert res.exit_code == 2
    assert "signature library version" in res.output
    assert not (tmp_path / "o2" / "features.parquet").exists()
    shutil.rmtree(out)
