"""Property tests: random bytes and random tables give a valid AnnData or tmescope's own error, nothing else."""

from __future__ import annotations

import gzip
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmescope._errors import InputError, TmescopeError, TmescopeWarning
from tmescope._keys import UNS_INPUT
from tmescope.io import detect_scale, read_clinical, read_expression

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GENES = ["CD8A", "PTPRC", "GZMB", "PRF1", "NKG7", "CD3E", "MS4A1", "CD68", "NA", "ENSG00000141510.19", "7", "x"]
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(lambda v: f"{v:g}"),
    st.integers(-5, 10_000).map(str),
    st.sampled_from(["", "NA", "#N/A", "-", "1,5", "1e400", " 3 ", "abc", '"4"', "0"]),
)
NUMBERS = st.one_of(
    st.floats(min_value=-20, max_value=1e5, allow_nan=False, width=32).map(lambda v: f"{v:.4g}"),
    st.integers(0, 5000).map(str),
)
NAMES = st.one_of(
    st.sampled_from(GENES),
    st.sampled_from(GENES),
    st.text(alphabet="ABCDEFGHxyz0123456789._-/ \"'", min_size=0, max_size=8),
)
SEPS = st.sampled_from(["\t", "\t", "\t", ",", ";"])
MAGIC = st.sampled_from(
    [
        b"",
        b"\x1f\x8b",
        b"\x89HDF\r\n\x1a\n",
        b"PAR1",
        b"\x80\x04",
        b"\x93NUMPY",
        b"PK\x03\x04",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
    ]
)


def _check(path: Path, **kwargs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TmescopeWarning)
        try:
            adata = read_expression(path, **kwargs)
        except TmescopeError:
            return
    assert adata.n_obs >= 1
    assert adata.n_vars >= 1
    assert adata.X.dtype == np.float32
    assert adata.obs_names.is_unique
    assert adata.var_names.is_unique
    assert adata.uns[UNS_INPUT]["scale"] in {"counts", "linear", "log2", "log_other", "centered"}


@FAST
@given(magic=MAGIC, body=st.binary(max_size=300), name=st.sampled_from(["x.tsv", "x.h5ad", "x.parquet", "x.csv.gz"]))
def test_random_bytes(magic: bytes, body: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(magic + body)
        _check(path)


@st.composite
def tables(draw):
    n_cols = draw(st.integers(1, 5))
    header = draw(st.lists(NAMES, min_size=n_cols, max_size=n_cols))
    n_rows = draw(st.one_of(st.integers(2, 8), st.integers(0, 8)))
    rows = []
    for _ in range(n_rows):
        width = n_cols if draw(st.integers(0, 29)) else draw(st.integers(0, 6))
        numeric = draw(st.integers(0, 4)) > 0
        cells = draw(st.lists(NUMBERS if numeric else CELLS, min_size=width, max_size=width))
        rows.append((draw(NAMES), cells))
    return header, rows


@FAST
@given(
    table=tables(),
    sep=SEPS,
    compress=st.booleans(),
    allow_missing=st.booleans(),
    orientation=st.sampled_from(["auto", "genes_x_samples", "samples_x_genes"]),
)
def test_random_tables(table, sep, compress, allow_missing, orientation) -> None:
    header, rows = table
    lines = [sep.join(["gene", *header])] + [sep.join([g, *cells]) for g, cells in rows]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.tsv"
        path.write_bytes(gzip.compress(data) if compress else data)
        _check(path, allow_missing=allow_missing, orientation=orientation)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32), min_size=4, max_size=60),
    n_samples=st.integers(1, 4),
)
def test_detect_scale_never_crashes(values, n_samples) -> None:
    x = np.asarray(values[: len(values) // n_samples * n_samples], dtype=np.float64).reshape(n_samples, -1)
    try:
        report = detect_scale(x)
    except TmescopeError:
        return
    assert report.scale in {"counts", "linear", "log2", "log_other", "centered"}


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3", "tcga.ab.0001", "TCGA-AB-0001-01A", ""]),
            st.sampled_from(["12", "-1", "", "abc", "3.5", "inf"]),
            st.sampled_from(["1", "0", "yes", "dead", "", "maybe"]),
            st.sampled_from(["CR", "PR", "SD", "PD", "R", "NR", "", "NE", "??"]),
        ),
        min_size=0,
        max_size=5,
    )
)
def test_random_clinical(rows) -> None:
    text = "sample_id\tos_time\tos_event\tbest_response\n" + "".join("\t".join(r) + "\n" for r in rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.tsv"
        path.write_text(text, encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TmescopeWarning)
            try:
                frame = read_clinical(path)
            except TmescopeError:
                return
    assert frame["sample_id"].is_unique
    assert set(frame["recist"].dropna()) <= {"CR", "PR", "SD", "PD"}


@settings(max_examples=60, deadline=None)
@given(
    table=tables(),
    as_h5ad=st.booleans(),
    index=st.booleans(),
)
def test_random_parquet_and_h5ad(table, as_h5ad, index) -> None:
    import anndata as ad
    import pandas as pd

    header, rows = table
    width = len(header)
    rows = [(g, cells) for g, cells in rows if len(cells) == width]
    frame = pd.DataFrame([cells for _, cells in rows], columns=[f"c{i}_{h}" for i, h in enumerate(header)])
    frame.insert(0, "gene", [g for g, _ in rows])
    numeric = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    with tempfile.TemporaryDirectory() as d:
        if as_h5ad:
            path = Path(d) / "t.h5ad"
            x = numeric.to_numpy(dtype=np.float32).T
            obs = pd.DataFrame(index=pd.Index([str(c) for c in numeric.columns]))
            var = pd.DataFrame(index=pd.Index([str(g) for g in frame["gene"]]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ad.AnnData(x, obs=obs, var=var).write_h5ad(path)
        else:
            path = Path(d) / "t.parquet"
            out = frame.set_index("gene") if index else frame
            out.to_parquet(path)
        _check(path, allow_missing=True)


def test_lone_quote_is_refused(tmp_path):
    """Found by the random-bytes test: a file holding only a quote character."""
    path = tmp_path / "x.tsv"
    path.write_text('"')
    with pytest.raises(InputError, match="contains no table"):
        read_expression(path)
