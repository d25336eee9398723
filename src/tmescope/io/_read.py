"""Bulk expression reader: one AnnData (samples × genes) from TSV/CSV/TXT (plain or gzip), parquet, h5ad or zarr."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tmescope._errors import InputError, InputTypeError
from tmescope._keys import UNS_INPUT
from tmescope._logging import autofix, format_items, warn
from tmescope._provenance import Provenance, collect, current, path_bytes, record_fix
from tmescope.io._scale import DeclaredScale, detect_scale, is_uncertain, parse_scale
from tmescope.io._sniff import decode_text, human_bytes, memory_budget, read_bytes, read_head, sniff
from tmescope.io._table import parse_table, to_numeric
from tmescope.io._zarr import read_zarr_store, sniff_store, zarr_shape

if TYPE_CHECKING:
    from anndata import AnnData

ORIENTATIONS = ("auto", "genes_x_samples", "samples_x_genes")
DUPLICATES = ("auto", "mean", "sum", "max_mean", "first")
NEGATIVES = ("error", "clip")
#: Fraction of recognised gene identifiers above which an axis is taken to hold genes.
GENE_AXIS_HIT = 0.5
#: Parsing text takes about this many bytes of memory per byte of text (Python strings per cell).
TEXT_MEMORY_FACTOR = 8


def _sha256(path: Path) -> str:
    if path.is_dir():  # a zarr store: digest of its files' relative paths and digests
        from tmescope._provenance import sha256_file

        return sha256_file(path)
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _id_hit_rate(ids: list[str]) -> tuple[float, float]:
    """Fractions of labels that are (approved symbols or Ensembl/Entrez IDs, any known gene identifier)."""
    from tmescope.genes import approved_symbols, detect_id_type

    if not ids:
        return 0.0, 0.0
    report = detect_id_type(ids)
    approved = approved_symbols()
    n_approved = sum(1 for i in ids if i.strip() in approved)
    strong = (
        n_approved / len(ids) + float(report.fractions.get("ensembl", 0.0)) + float(report.fractions.get("entrez", 0.0))
    )
    return min(strong, 1.0), 1.0 - float(report.fractions.get("unknown", 1.0))


class _Parsed:
    """Row labels, column labels and values of a table before orientation is decided."""

    def __init__(
        self, row_labels: list[str], col_labels: list[str], values: np.ndarray, describe: Any, sep: str = ""
    ) -> None:
        self.sep = sep
        self.row_labels = row_labels
        self.col_labels = col_labels
        self.values = values
        self.describe = describe


def orient_axes(rows: list[str], cols: list[str], *, orientation: str, path: Path) -> tuple[str, str, dict[str, float]]:
    """Decide which axis holds genes; returns (orientation, evidence, hit rates)."""
    strong_r, hit_r = _id_hit_rate(rows)
    strong_c, hit_c = _id_hit_rate(cols)
    if max(strong_r, strong_c) >= 0.3:
        # Sample names such as S1 or T2 can be gene aliases; approved symbols and gene IDs decide first.
        hit_r, hit_c = strong_r, strong_c
    rates = {"rows": round(hit_r, 4), "columns": round(hit_c, 4)}
    evidence = (
        f"{100 * hit_r:.0f}% of the {len(rows)} row labels and {100 * hit_c:.0f}% of the {len(cols)} column "
        "labels are gene identifiers"
    )
    if orientation != "auto":
        return orientation, f"declared; {evidence}", rates
    if hit_r >= GENE_AXIS_HIT and hit_r >= hit_c:
        return "genes_x_samples", evidence, rates
    if hit_c >= GENE_AXIS_HIT and hit_c > hit_r:
        msg = (
            f"File '{path}' looks transposed: genes are in the header, samples in the rows ({evidence}). "
            "tmescope reads genes in rows by default. Transpose? Pass orientation='samples_x_genes' "
            "(CLI --orientation samples_x_genes) to read it as samples × genes."
        )
        raise InputError(msg)
    if len(rows) >= len(cols):
        warn(
            f"File '{path}': could not tell which axis holds genes ({evidence}); assumed genes in rows, "
            "samples in columns. Check the gene identifiers, or pass orientation= to say so.",
        )
        return "genes_x_samples", f"assumed (more rows than columns); {evidence}", rates
    msg = (
        f"File '{path}': cannot tell which axis holds genes ({evidence}). Pass orientation='genes_x_samples' "
        "or 'samples_x_genes' (CLI --orientation), and check that gene identifiers are HGNC symbols, Ensembl "
        "or Entrez IDs of human genes."
    )
    raise InputError(msg)


def _parse_text(path: Path, *, compression: str | None, sep: str | None, budget: int, allow_missing: bool) -> _Parsed:
    raw = read_bytes(path, compression=compression, max_bytes=budget // TEXT_MEMORY_FACTOR)
    decoded = decode_text(raw, path)
    del raw
    if decoded.fixes:
        autofix("io.decode", f"File '{path}': " + "; ".join(decoded.fixes), [])
    table = parse_table(decoded.text, path, sep=sep)
    for fix in table.fixes:
        autofix("io.header", f"File '{path}': {fix}", [])
    header, labels, lines = table.header, table.row_labels, table.lines

    def describe(i: int, j: int) -> str:
        return f"line {lines[i]}, row '{labels[i]}', column '{header[j + 1]}'"

    numeric = to_numeric(table.cells, path=path, describe=describe, allow_missing=allow_missing, columns=header[1:])
    if numeric.n_missing:
        autofix(
            "io.missing_values",
            f"File '{path}': read {numeric.n_missing} missing cell(s) as NaN (allow_missing=True)",
            numeric.missing_cells,
        )
    return _Parsed(labels, header[1:], numeric.values, describe, table.sep)


def _check_budget(path: Path, shape: tuple[int, ...], itemsize: int, budget: int) -> None:
    # The reader works on a float64 copy whatever the stored type.
    need = float(np.prod(np.asarray(shape, dtype=np.float64))) * max(itemsize, 8)
    if need > budget:
        dims = " × ".join(f"{s:,}" for s in shape)
        msg = (
            f"File '{path}' declares a {dims} matrix ({human_bytes(need)} in memory), above the memory budget of "
            f"{human_bytes(budget)}; it was not loaded. Pass a larger max_bytes (CLI --max-bytes) if the machine "
            "has the memory, or subset the file first."
        )
        raise InputError(msg)


def _parse_parquet(path: Path, *, budget: int, allow_missing: bool) -> _Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowException, OSError) as exc:
        msg = f"File '{path}' is not a readable parquet file ({exc}); it may be truncated. Write it again."
        raise InputError(msg) from None
    _check_budget(path, (meta.num_rows, meta.num_columns), 8, budget)
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        msg = f"File '{path}' could not be read as a table ({exc}). Write it again with DataFrame.to_parquet."
        raise InputError(msg) from None
    if not isinstance(frame.index, pd.RangeIndex):
        labels = [str(x) for x in frame.index]
        body = frame
    else:
        if frame.shape[1] < 2:
            msg = (
                f"File '{path}' has {frame.shape[1]} column(s); expected a label column and at least one value column."
            )
            raise InputError(msg)
        first = frame.columns[0]
        if pd.api.types.is_numeric_dtype(frame[first]) and not pd.api.types.is_bool_dtype(frame[first]):
            msg = (
                f"File '{path}': the first column '{first}' holds numbers, not gene or sample labels. Save the "
                "table with its labels as the index (DataFrame.to_parquet keeps the index) or as the first column."
            )
            raise InputError(msg)
        labels = [str(x) for x in frame[first]]
        body = frame.iloc[:, 1:]
    cols = [str(c) for c in body.columns]
    lines = np.arange(len(labels))

    def describe(i: int, j: int) -> str:
        return f"row {lines[i] + 1} '{labels[i]}', column '{cols[j]}'"

    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in body.dtypes):
        cells: np.ndarray = body.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        cells = body.astype(object).to_numpy()
    numeric = to_numeric(cells, path=path, describe=describe, allow_missing=allow_missing, columns=cols)
    if numeric.n_missing:
        autofix(
            "io.missing_values",
            f"File '{path}': read {numeric.n_missing} missing cell(s) as NaN (allow_missing=True)",
            numeric.missing_cells,
        )
    return _Parsed(labels, cols, numeric.values, describe)


def _h5ad_shape(path: Path) -> tuple[tuple[int, ...], int]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "X" not in f:
                return (0, 0), 4
            x = f["X"]
            if isinstance(x, h5py.Dataset):
                return tuple(int(s) for s in x.shape), int(x.dtype.itemsize)
            shape = x.attrs.get("shape", x.attrs.get("h5sparse_shape"))
            data = x.get("data")
            itemsize = int(data.dtype.itemsize) if isinstance(data, h5py.Dataset) else 4
            nnz = int(data.shape[0]) if isinstance(data, h5py.Dataset) else 0
            if shape is None:
                return (nnz,), itemsize
            # Sparse input is densified for bulk analyses; budget the dense size.
            return tuple(int(s) for s in shape), itemsize
    except (OSError, KeyError, ValueError) as exc:
        msg = (
            f"File '{path}' is an incomplete or corrupt HDF5/h5ad file ({exc}); it was probably cut short while "
            "copying or writing. Copy it again or write it again with AnnData.write_h5ad."
        )
        raise InputError(msg) from None


def _read_h5ad(path: Path, *, budget: int) -> AnnData:
    import anndata as ad

    shape, itemsize = _h5ad_shape(path)
    _check_budget(path, shape, itemsize, budget)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            adata = ad.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many types for damaged files
        msg = (
            f"File '{path}' could not be read as h5ad ({type(exc).__name__}: {exc}). It may be incomplete, written "
            "by an incompatible tool, or not an AnnData file. Write it again with AnnData.write_h5ad."
        )
        raise InputError(msg) from None
    if adata.X is None:
        msg = f"File '{path}' has no expression matrix in X. Store samples × genes values in X."
        raise InputError(msg)
    return adata


def _read_zarr(path: Path, *, budget: int) -> AnnData:
    shape, itemsize = zarr_shape(path)
    _check_budget(path, shape, itemsize, budget)
    adata = read_zarr_store(path)
    if adata.X is None:
        msg = f"Zarr store '{path}' has no expression matrix in X. Store samples × genes values in X."
        raise InputError(msg)
    return adata


def _check_labels(names: list[str], *, what: str, path: Path) -> list[str]:
    stripped = [n.strip() for n in names]
    changed = [n for n, s in zip(names, stripped, strict=True) if n != s]
    if changed:
        autofix(
            f"io.trim_{what}_names", f"File '{path}': removed spaces around {what} names", [repr(c) for c in changed]
        )
    empty = [i for i, s in enumerate(stripped) if not s]
    if empty:
        msg = f"File '{path}': {len(empty)} {what} name(s) are empty (position(s) {', '.join(str(i + 1) for i in empty[:5])}). Name every {what}."
        raise InputError(msg)
    counts = pd.Index(stripped).value_counts()
    dups = counts[counts > 1]
    if len(dups):
        items = [f"{name} (×{n})" for name, n in dups.items()]
        msg = (
            f"File '{path}': duplicated {what} names, {format_items(items)}. Each {what} must be named once; "
            f"rename or remove the repeats (tmescope does not rename them to {stripped[0]}.1 silently)."
        )
        raise InputError(msg)
    return stripped


def _resolve_duplicates(duplicates: str, scale: str) -> str:
    if duplicates != "auto":
        return duplicates
    return "sum" if scale == "counts" else "mean"


def read_expression(
    path: str | os.PathLike[str],
    *,
    orientation: str = "auto",
    scale: str = "auto",
    id_type: str = "auto",
    duplicates: str = "auto",
    sep: str | None = None,
    allow_missing: bool = False,
    harmonize: bool = True,
    max_bytes: int | None = None,
    negatives: str = "error",
) -> AnnData:
    r"""Read a bulk expression matrix into AnnData (samples in ``obs``, genes in ``var``).

    The format is told by the file's first bytes, not its extension: delimited text (tab or comma; plain or
    gzip), parquet or h5ad; a folder is read as an AnnData zarr store (written by ``AnnData.write_zarr``, told by
    its zarr metadata and AnnData encoding). Pickle-based files are refused. The reader detects which axis holds genes, the value
    scale (see :func:`tmescope.io.detect_scale`) and the gene identifier type, maps genes to approved HGNC
    symbols, and reports every automatic fix as a warning and in provenance. Values are kept as given.

    Parameters
    ----------
    path
        The expression file, or the folder of an AnnData zarr store.
    orientation
        ``"auto"`` (genes in rows expected; a table with genes in the header is refused with a hint),
        ``"genes_x_samples"`` or ``"samples_x_genes"``. For h5ad and zarr, ``obs`` are samples;
        ``"genes_x_samples"`` transposes them.
    scale
        ``"auto"`` (detect) or a declared scale: ``"counts"``, ``"linear"`` (TPM/FPKM/CPM), ``"log2(x+1)"``,
        ``"log2(x+0.001)"`` (any pseudocount), ``"ln(x+1)"``, ``"log10(x+1)"``, ``"centered"``.
    id_type
        ``"auto"``, ``"symbol"``, ``"ensembl"`` or ``"entrez"``; recorded, and checked against the detected type.
    duplicates
        How genes that map to the same symbol are combined: ``"auto"`` (``"sum"`` for raw counts, else
        ``"mean"``), ``"mean"``, ``"sum"``, ``"max_mean"`` or ``"first"``.
    sep
        Field separator of text files; ``None`` chooses tab or comma from the header line.
    allow_missing
        Read ``NA``, ``#N/A``, ``-`` and empty cells as NaN (listed in a warning) instead of refusing them.
    harmonize
        Map gene identifiers to approved HGNC symbols with :func:`tmescope.genes.harmonize_var`.
    max_bytes
        Budget for the decompressed text and for the matrix in memory; default half the memory, at most 16 GiB.
    negatives
        ``"error"`` refuses negative values on a scale that cannot have them; ``"clip"`` sets them to 0 (warned).

    Returns
    -------
    anndata.AnnData
        ``X`` float32 samples × genes, values as given; ``uns["tmescope_input"]`` with ``file``, ``sha256``,
        ``format``, ``orientation``, ``scale``, ``pseudocount``, ``log_base``, ``scale_evidence``,
        ``scale_source`` (``declared``, ``detected`` or ``uncertain``), ``id_type``, ``gene_mapping`` and ``fixes``.

    Raises
    ------
    InputError
        Unreadable, ambiguous or inconsistent input; the message names the file, line, sample or gene.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "expr.tsv"
    >>> _ = p.write_text("gene\tS1\tS2\nCD8A\t12.5\t3.0\nPTPRC\t80.1\t40.2\nGZMB\t5.5\t0.0\n")
    >>> a = read_expression(p)
    >>> a.shape, a.uns["tmescope_input"]["orientation"], a.uns["tmescope_input"]["scale"]
    ((2, 3), 'genes_x_samples', 'linear')
    """
    from anndata import AnnData

    if not isinstance(path, str | os.PathLike):
        msg = f"path must be a file path (str or pathlib.Path); received {type(path).__name__}."
        raise InputTypeError(msg)
    for name, value, allowed in (
        ("orientation", orientation, ORIENTATIONS),
        ("duplicates", duplicates, DUPLICATES),
        ("negatives", negatives, NEGATIVES),
        ("id_type", id_type, ("auto", "symbol", "ensembl", "entrez")),
    ):
        if value not in allowed:
            msg = f"{name} must be one of {', '.join(map(repr, allowed))}; received {value!r}."
            raise InputError(msg)
    declared: DeclaredScale | None = None if scale == "auto" else parse_scale(scale)
    if max_bytes is not None and (not isinstance(max_bytes, int | np.integer) or max_bytes <= 0):
        msg = f"max_bytes must be a positive integer (bytes); received {max_bytes!r}."
        raise InputError(msg)
    budget = int(max_bytes) if max_bytes is not None else memory_budget()
    path = Path(path)
    outer = current()
    local = Provenance("read_expression")
    with collect(local):
        adata = _read(
            path,
            AnnData=AnnData,
            orientation=orientation,
            declared=declared,
            id_type=id_type,
            duplicates=duplicates,
            sep=sep,
            allow_missing=allow_missing,
            harmonize=harmonize,
            budget=budget,
            negatives=negatives,
        )
    info = adata.uns[UNS_INPUT]
    info["fixes"] = [dict(f) for f in local.fixes]
    if outer is not None:
        for fix in local.fixes:
            record_fix(fix)
        outer.inputs.append(
            {"role": "expression", "path": str(path), "bytes": path_bytes(path), "sha256": info["sha256"]}
        )
        if harmonize:
            from tmescope.genes import snapshot

            outer.add_resource("genes", snapshot())
    return adata


def _read(
    path: Path,
    *,
    AnnData: Any,  # the class, imported lazily
    orientation: str,
    declared: DeclaredScale | None,
    id_type: str,
    duplicates: str,
    sep: str | None,
    allow_missing: bool,
    harmonize: bool,
    budget: int,
    negatives: str,
) -> AnnData:
    sniffed = sniff_store(path) if path.is_dir() else sniff(path, read_head(path))
    fmt = sniffed.format
    orient_evidence = ""
    rates: dict[str, float] = {}
    obs_annotations: pd.DataFrame | None = None
    if fmt in ("h5ad", "zarr"):
        adata = _read_h5ad(path, budget=budget) if fmt == "h5ad" else _read_zarr(path, budget=budget)
        samples = [str(s) for s in adata.obs_names]
        genes = [str(g) for g in adata.var_names]
        X = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
        X = np.asarray(X, dtype=np.float64)
        hit_var = _id_hit_rate(genes)[0]
        hit_obs = _id_hit_rate(samples)[0]
        rates = {"var": round(hit_var, 4), "obs": round(hit_obs, 4)}
        if orientation == "auto" and hit_obs >= GENE_AXIS_HIT and hit_obs > hit_var:
            msg = (
                f"File '{path}': obs_names look like genes ({100 * hit_obs:.0f}% known gene identifiers) and "
                f"var_names do not ({100 * hit_var:.0f}%). Transpose? AnnData keeps samples in obs: write "
                f"adata.T.write_{fmt}(...), or pass orientation='genes_x_samples' to have tmescope transpose it."
            )
            raise InputError(msg)
        if orientation == "genes_x_samples":
            X = X.T
            samples, genes = genes, samples
            orient = "genes_x_samples"
        else:
            orient = "samples_x_genes"
            obs_annotations = adata.obs.copy()
        samples = _check_labels(samples, what="sample", path=path)
        orient_evidence = (
            f"{fmt} (AnnData keeps samples in obs); {100 * rates['var']:.0f}% of var_names are gene identifiers"
        )
        bad = ~np.isfinite(X)
        if bad.any():
            r, c = np.nonzero(bad)
            cells = [f"sample '{samples[i]}', gene '{genes[j]}': {X[i, j]}" for i, j in zip(r[:5], c[:5], strict=False)]
            if not allow_missing or np.isinf(X[bad]).any():
                msg = (
                    f"File '{path}': {int(bad.sum())} value(s) are not finite numbers ({'; '.join(cells)}). Fill "
                    "them, or pass allow_missing=True to keep NaN as missing."
                )
                raise InputError(msg)
            autofix("io.missing_values", f"File '{path}': kept {int(bad.sum())} NaN value(s) as missing", cells)
    else:
        if fmt == "parquet":
            parsed = _parse_parquet(path, budget=budget, allow_missing=allow_missing)
        else:
            parsed = _parse_text(
                path, compression=sniffed.compression, sep=sep, budget=budget, allow_missing=allow_missing
            )
            fmt = {"\t": "tsv", ",": "csv"}.get(parsed.sep, "txt")
            if sniffed.compression:
                fmt += ".gz"
        rows, cols = parsed.row_labels, parsed.col_labels
        orient, orient_evidence, rates = orient_axes(rows, cols, orientation=orientation, path=path)
        if orient == "genes_x_samples":
            genes, samples, X = rows, cols, parsed.values.T
        else:
            samples, genes, X = rows, cols, parsed.values
        samples = _check_labels(samples, what="sample", path=path)
    n_samples, n_genes = X.shape
    if n_samples == 0 or n_genes == 0:
        msg = f"File '{path}' holds {n_genes} gene(s) × {n_samples} sample(s); expected at least 2 genes and 1 sample."
        raise InputError(msg)
    if n_genes < 2:
        msg = (
            f"File '{path}' holds a single gene ('{genes[0]}'); tmescope needs a matrix of many genes (a transcriptome "
            "or a gene panel) to detect the scale and score signatures."
        )
        raise InputError(msg)

    finite = np.isfinite(X)
    if declared is not None:
        scale_name = declared.scale
        pc = declared.pseudocount
        base = declared.log_base
        if scale_name in ("log2", "log_other") and pc is None:
            vmin = float(X[finite].min()) if finite.any() else 0.0
            pc = 1.0 if vmin >= 0 else float(base**vmin) if base is not None else None  # type: ignore[operator]
        evidence = f"declared as {declared.scale}"
        source = "declared"
    else:
        report = detect_scale(X)
        scale_name, pc, evidence = report.scale, report.pseudocount, report.evidence
        base = 2.0 if scale_name == "log2" else None
        source = "uncertain" if is_uncertain(report) else "detected"
    may_be_negative = scale_name == "centered" or (scale_name in ("log2", "log_other") and (pc is None or pc < 1))
    if not may_be_negative:
        neg = finite & (X < 0)
        if neg.any():
            r, c = np.nonzero(neg)
            cells = [f"sample '{samples[i]}', gene '{genes[j]}' = {X[i, j]:.4g}" for i, j in zip(r, c, strict=False)]
            if negatives == "clip":
                X = np.where(neg, 0.0, X)
                autofix(
                    "io.clip_negative",
                    f"File '{path}': set {len(cells)} negative value(s) to 0 (negatives='clip'; scale {scale_name})",
                    cells,
                )
            else:
                msg = (
                    f"File '{path}': {len(cells)} value(s) are negative on a {scale_name} scale that cannot have "
                    f"negative values (smallest {float(X[neg].min()):.4g}; {format_items(cells)}). Batch-corrected "
                    "data? Pass negatives='clip' (CLI --clip-negative) to set them to 0, or give the uncorrected matrix."
                )
                raise InputError(msg)
    if n_samples > 0:
        with np.errstate(invalid="ignore"):
            const = [samples[i] for i in range(n_samples) if finite[i].any() and np.nanmax(X[i]) == np.nanmin(X[i])]
        if const:
            warn(
                f"File '{path}': {format_items(const)} have the same value for every gene (all zero or constant); "
                "rank- and z-score-based methods will refuse or drop them."
            )

    var = pd.DataFrame(index=pd.Index(genes, dtype=object))
    obs = pd.DataFrame(index=pd.Index(samples, dtype=object))
    if obs_annotations is not None and obs_annotations.shape[1]:
        obs = obs_annotations.set_axis(obs.index, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicated var names are aggregated just below
        adata = AnnData(X=X.astype(np.float32), obs=obs, var=var)
    info: dict[str, Any] = {
        "file": str(path),
        "source": str(path),
        "sha256": _sha256(path),
        "format": fmt,
        "orientation": orient,
        "orientation_evidence": orient_evidence,
        "gene_id_hit_rates": rates,
        "scale": scale_name,
        "pseudocount": pc,
        "log_base": base,
        "scale_evidence": evidence,
        "scale_source": source,
        "id_type": id_type,
        "gene_mapping": None,
        "fixes": [],
    }
    if scale_name == "counts":
        sizes = np.nansum(X, axis=1)
        info["library_sizes"] = {
            "min": float(sizes.min()),
            "median": float(np.median(sizes)),
            "max": float(sizes.max()),
        }
    adata.uns[UNS_INPUT] = info
    from tmescope.genes import detect_id_type

    detected = detect_id_type(genes)
    info["id_type"] = detected.kind if id_type == "auto" else id_type
    info["id_type_detected"] = detected.kind
    info["id_type_fractions"] = {k: round(float(v), 4) for k, v in detected.fractions.items()}
    if id_type != "auto" and detected.kind not in ("unknown", "mixed", id_type):
        warn(f"File '{path}': id_type={id_type!r} was declared but the gene identifiers look like {detected.kind} IDs.")
    if harmonize:
        from tmescope.genes import harmonize_var

        harmonize_var(adata, duplicates=_resolve_duplicates(duplicates, scale_name))
        if adata.X is not None and adata.X.dtype != np.float32:
            adata.X = np.asarray(adata.X, dtype=np.float32)
        if adata.n_vars == 0:
            msg = (
                f"File '{path}': none of the {n_genes} gene identifiers maps to an approved human gene symbol "
                f"(first: {', '.join(genes[:5])}). Check that rows are human genes (HGNC symbols, Ensembl or Entrez IDs)."
            )
            raise InputError(msg)
    elif not adata.var_names.is_unique:
        dups = adata.var_names[adata.var_names.duplicated()].unique().tolist()
        msg = (
            f"File '{path}': duplicated gene identifiers ({format_items(dups)}). Pass harmonize=True to aggregate "
            "them by a stated rule, or make them unique."
        )
        raise InputError(msg)
    return adata


def drop_incomplete_genes(adata: AnnData, *, method: str) -> AnnData:
    """Leave out genes with a missing value in any sample, as a reported automatic fix (kernel of the bulk runs).

    Missing values are read only when opted in (``read_expression(..., allow_missing=True)``, CLI
    ``--allow-missing``); rank- and deconvolution-based methods need complete profiles, so a gene missing in
    some sample is dropped for every sample (the comparison between samples stays fair).

    Returns
    -------
    ``adata`` itself when every value is finite, else a copy without the incomplete genes.

    Examples
    --------
    >>> import anndata as ad
    >>> a = ad.AnnData(np.array([[1.0, np.nan, 3], [4, 5, 6]], dtype=np.float32))
    >>> a.var_names = ["CD8A", "GZMA", "PRF1"]
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     list(drop_incomplete_genes(a, method="demo").var_names)
    ['CD8A', 'PRF1']
    """
    X = adata.X
    values = X.data if sp.issparse(X) else np.asarray(X)
    if np.isfinite(values).all():
        return adata
    dense = X.toarray() if sp.issparse(X) else np.asarray(X)
    bad = ~np.isfinite(dense).all(axis=0)
    if bad.all():
        msg = f"{method}: every gene has a missing value in some sample; fill the missing values first."
        raise InputError(msg)
    genes = [str(g) for g in adata.var_names[bad]]
    autofix(
        "genes.drop_missing",
        f"{method}: left out {len(genes)} gene(s) with a missing value in some sample (read with allow_missing; "
        "every sample is analysed on the same complete genes)",
        genes,
    )
    return adata[:, ~bad].copy()
