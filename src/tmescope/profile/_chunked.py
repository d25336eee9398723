"""Profile a cohort too large for one machine: chunks of samples, read lazily, placed against a reference.

Against a frozen reference every profile feature of a sample depends only on that sample (ssGSEA ranks within
the sample, deconvolution resamples genes with one seed shared by all samples, subtypes are nearest reference
cases, percentiles are against the reference), so profiling chunk by chunk gives the same table as profiling
the whole cohort at once. Each chunk is read by the process that profiles it (a column subset of a parquet file
with genes in rows, the row groups holding its samples of a parquet file with samples in rows, a row slice of a
backed h5ad, or a row slice of ``X`` in an AnnData zarr store), so no process holds the whole cohort.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tmescope._errors import InputError, TmescopeError
from tmescope._execution import chunk_bounds, map_chunks
from tmescope._logging import warn
from tmescope._provenance import Provenance, collect, current
from tmescope._settings import settings
from tmescope.profile._reference import ReferenceCohort, file_sha256, resolve_reference

if TYPE_CHECKING:
    import os

__all__ = ["ChunkedSource", "open_source", "profile_chunks", "run_profile_chunked"]


@dataclass(frozen=True)
class ChunkedSource:
    """An expression file read one chunk of samples at a time.

    ``kind`` is ``"parquet"`` (genes in rows, one column per sample, gene labels in ``label_column``),
    ``"parquet_rows"`` (samples in rows, one column per gene, sample labels in ``label_column``; a chunk reads only
    the row groups holding its samples), ``"h5ad"`` (samples in ``obs``, read through a backed file) or ``"zarr"`` (an AnnData zarr store folder,
    samples in ``obs``; of ``X`` only the rows of a chunk are read).
    """

    path: Path
    kind: str
    samples: tuple[str, ...]
    label_column: str = ""

    def read(self, lo: int, hi: int, *, scale: str = "auto", **read_options: Any) -> Any:
        """Samples ``lo:hi`` as :func:`tmescope.io.read_expression` would read them (same checks and gene mapping).

        ``read_options`` are further keywords of :func:`tmescope.io.read_expression` (e.g. ``negatives="clip"``).
        """
        from tmescope.io import read_expression

        with tempfile.TemporaryDirectory(prefix="tmescope-chunk-") as tmp:
            part = Path(tmp) / self.path.name
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(self.path, columns=[self.label_column, *self.samples[lo:hi]])
                pq.write_table(table, part)
                orientation = "genes_x_samples"
            elif self.kind == "parquet_rows":
                _write_parquet_rows(self.path, lo, hi, part)
                orientation = "samples_x_genes"
            elif self.kind == "zarr":
                from tmescope.io._zarr import read_zarr_rows

                part = Path(tmp) / f"{self.path.name}.h5ad"
                read_zarr_rows(self.path, lo, hi).write_h5ad(part)
                orientation = "samples_x_genes"
            else:
                import anndata as ad

                backed = ad.read_h5ad(self.path, backed="r")
                try:
                    backed[lo:hi].to_memory().write_h5ad(part)
                finally:
                    backed.file.close()
                orientation = "samples_x_genes"
            prov = current()
            n_inputs = len(prov.inputs) if prov is not None else 0
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    adata = read_expression(part, orientation=orientation, scale=scale, **read_options)
                except TmescopeError as exc:
                    # name the user's file and the chunk's samples, not the temporary chunk file
                    where = f"'{self.path}' (samples {self.samples[lo]}..{self.samples[hi - 1]})"
                    text = str(exc).replace(f"'{part}'", where).replace(str(part), where.strip("'"))
                    if text == str(exc):
                        raise
                    raise type(exc)(text) from exc
            if prov is not None:
                del prov.inputs[n_inputs:]  # the temporary chunk file is no input; callers record the source
            adata.uns["tmescope_input"].update(file=str(self.path), source=str(self.path))
        for w in caught:
            warnings.warn_explicit(
                str(w.message).replace(str(part), str(self.path)), w.category, w.filename, w.lineno, source=None
            )
        return adata


def _write_parquet_rows(path: Path, lo: int, hi: int, out: Path) -> None:
    """Write rows ``lo:hi`` of a parquet file to ``out``, reading only the row groups that hold them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    starts = [0]
    for g in range(pf.metadata.num_row_groups):
        starts.append(starts[-1] + pf.metadata.row_group(g).num_rows)
    groups = [g for g in range(len(starts) - 1) if starts[g] < hi and starts[g + 1] > lo]
    table = pf.read_row_groups(groups) if groups else pa.table({})
    first = starts[groups[0]] if groups else 0
    pq.write_table(table.slice(lo - first, hi - lo), out)


def open_source(path: str | os.PathLike[str], *, orientation: str = "auto") -> ChunkedSource:
    """Describe an expression file for chunked reading without loading its values.

    Parquet files hold genes in rows and one column per sample, or samples in rows and one column per gene, with
    the row labels in the pandas index or the first column; only the label column is read here. ``orientation``
    (``"auto"``, ``"genes_x_samples"`` or ``"samples_x_genes"``) is decided as by
    :func:`tmescope.io.read_expression`: auto-detected genes in rows are read as such, a table that looks
    transposed is refused until ``orientation="samples_x_genes"`` is declared. h5ad files and AnnData zarr stores (folders written by ``AnnData.write_zarr``) samples in ``obs``.
    For a zarr store only the sample names are read, and the chunk files of ``X`` are checked to exist.
    """
    from tmescope.io._read import ORIENTATIONS, orient_axes
    from tmescope.io._sniff import read_head, sniff
    from tmescope.io._zarr import check_x_chunks, sniff_store, zarr_obs_names

    if orientation not in ORIENTATIONS:
        msg = f"orientation must be one of {', '.join(map(repr, ORIENTATIONS))}; received {orientation!r}."
        raise InputError(msg)
    path = Path(path)
    if path.is_dir() and sniff_store(path).format == "zarr":
        check_x_chunks(path)
        return ChunkedSource(path, "zarr", zarr_obs_names(path))
    if not path.is_file():
        msg = f"Expression file {path} does not exist."
        raise InputError(msg)
    fmt = sniff(path, read_head(path)).format
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        meta = schema.pandas_metadata or {}
        index_cols = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
        label = index_cols[0] if index_cols else schema.names[0]
        kind = schema.field(label).type
        if not index_cols and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            msg = (
                f"File '{path}': the first column '{label}' holds numbers, not gene or sample labels. Save the "
                "table with its labels as the index (DataFrame.to_parquet keeps the index) or as the first column."
            )
            raise InputError(msg)
        names = [n for n in schema.names if n != label]
        labels = [str(v) for v in pq.read_table(path, columns=[label]).column(0).to_pylist()]
        decided, _, _ = orient_axes(labels, names, orientation=orientation, path=path)
        if decided == "samples_x_genes":
            return ChunkedSource(path, "parquet_rows", tuple(labels), label)
        return ChunkedSource(path, "parquet", tuple(names), label)
    if fmt == "h5ad":
        import anndata as ad

        backed = ad.read_h5ad(path, backed="r")
        try:
            samples = tuple(str(s) for s in backed.obs_names)
        finally:
            backed.file.close()
        return ChunkedSource(path, "h5ad", samples)
    msg = (
        f"Chunked profiling reads {path} one chunk of samples at a time, which needs a parquet file (genes in rows "
        f"or in columns), an h5ad file or an AnnData zarr store; received {fmt}. Convert it once, e.g. "
        "`tmescope.io.read_expression(path).write_h5ad('cohort.h5ad')` (or .write_zarr('cohort.zarr')), or "
        "profile it without --chunk-size."
    )
    raise InputError(msg)


def _declared_scale(info: dict[str, Any]) -> str:
    """The scale detected on the first chunk, as a declaration every chunk is then read with."""
    scale, pc, base = info.get("scale"), info.get("pseudocount"), info.get("log_base")
    if scale == "log2":
        return f"log2(x+{pc:g})" if pc is not None else "log2"
    if scale == "log_other":
        fn = "log10" if base == 10.0 else "ln"
        return f"{fn}(x+{pc:g})" if pc is not None else fn
    return str(scale)


def _profile_chunk(
    bounds: tuple[int, int],
    *,
    source: ChunkedSource,
    scale: str,
    options: dict[str, Any],
    read_options: dict[str, Any],
) -> tuple[pd.DataFrame, list[tuple[type[Warning], str]], list[dict[str, Any]]]:
    """Read and profile one chunk; returns its features, the warnings raised and the automatic fixes recorded."""
    from tmescope.profile._profile import profile

    prov = Provenance("profile chunk")
    with warnings.catch_warnings(record=True) as caught, collect(prov):
        warnings.simplefilter("always")
        adata = source.read(*bounds, scale=scale, **read_options)
        result = profile(adata, **options)
    seen: list[tuple[type[Warning], str]] = []
    for w in caught:
        item = (w.category, str(w.message))
        if item not in seen:
            seen.append(item)
    return result.features, seen, prov.fixes


def _refuse_missing(read_options: dict[str, Any]) -> None:
    if read_options.get("allow_missing"):
        msg = (
            "Missing values (allow_missing, CLI --allow-missing) are not read in chunked profiling: the genes left out "
            "for missing values must be the same for every sample, which needs the whole cohort at once. Fill the "
            "missing values, or profile without --chunk-size."
        )
        raise InputError(msg)


def profile_chunks(
    source: ChunkedSource,
    *,
    reference: Any = "default",
    chunk_size: int = 500,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    scale: str = "auto",
    read_options: dict[str, Any] | None = None,
    seed: int | None = None,
    n_boot: int = 100,
    k: int = 35,
    insights: bool = True,
) -> pd.DataFrame:
    """Profile every sample of ``source`` chunk by chunk against a reference; the same table for any chunk size.

    Chunks run through :func:`tmescope._execution.map_chunks`: in-process, or on ``tmescope.settings.client``.

    Parameters
    ----------
    source
        From :func:`open_source`.
    reference
        As in :func:`tmescope.profile.profile`, but not ``None``: de novo subtypes need the whole cohort at once.
    chunk_size
        Samples per chunk (at least 2; a trailing single sample joins the chunk before it). A worker's peak memory grows with ``chunk_size × n_genes`` (see docs/cluster.md).
    checkpoint_dir
        Folder for finished chunks; a re-run with the same inputs and options resumes from them.
    scale
        Declared scale of the values, or ``"auto"``: detected once on the first chunk and declared for all.
    read_options
        Further keywords of :func:`tmescope.io.read_expression` for every chunk (e.g. ``negatives="clip"``);
        ``allow_missing`` is refused: the genes left out for missing values must be the same for every sample.
    seed, n_boot, k, insights
        As in :func:`tmescope.profile.profile`.

    Returns
    -------
    The feature table (:data:`tmescope.io.FEATURE_COLUMNS`), samples in file order.
    """
    ref = resolve_reference(reference)
    if ref is None:
        msg = (
            "Chunked profiling places each sample against a reference cohort; reference=None (de novo subtypes) "
            "needs the whole cohort at once. Use reference='default' or a file from `tmescope reference build`, or "
            "profile without --chunk-size."
        )
        raise InputError(msg)
    read_options = dict(read_options or {})
    for name, where in (("orientation", "open_source(path, orientation=...)"), ("scale", "scale=")):
        if name in read_options:
            msg = f"Pass {name!r} through {where}, not in read_options."
            raise InputError(msg)
    _refuse_missing(read_options)
    seed = settings.seed if seed is None else int(seed)
    if int(chunk_size) < 2:
        msg = f"`chunk_size` must be at least 2 samples; received {chunk_size}."
        raise InputError(msg)
    bounds = chunk_bounds(len(source.samples), chunk_size)
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        # A one-sample matrix takes other numpy summation paths than a taller one of the same layout (row means of
        # column-major data); a trailing single sample joins the chunk before it so every chunk has 2+ samples.
        bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]
    if scale == "auto" and bounds:
        lo, hi = bounds[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the first chunk is read again, with its warnings, below
            first = source.read(lo, min(hi, lo + 50), **read_options)
        scale = _declared_scale(first.uns["tmescope_input"])
    options = {"reference": ref, "seed": seed, "n_boot": int(n_boot), "k": int(k), "insights": bool(insights)}
    func = partial(_profile_chunk, source=source, scale=scale, options=options, read_options=read_options)
    key = "profile-" + _fingerprint(source, ref, scale=scale, options={**options, "read_options": read_options})
    ids = [f"samples {source.samples[lo]}..{source.samples[hi - 1]}" for lo, hi in bounds]
    parts = map_chunks(func, bounds, ids=ids, key=key, checkpoint_dir=checkpoint_dir, desc="profile chunks")
    issued: set[tuple[type[Warning], str]] = set()
    prov = current()
    for _, warned, fixes in parts:
        for category, text in warned:
            if (category, text) not in issued:
                issued.add((category, text))
                warn(text, category)
        if prov is not None:
            for fix in fixes:
                if fix not in prov.fixes:
                    prov.fixes.append(fix)
    frames = [p[0] for p in parts]
    if not frames:
        return pd.DataFrame()
    # the whole-cohort table's order (tmescope.io.normalize_features): by sample, then feature
    return pd.concat(frames, ignore_index=True).sort_values(["sample", "feature"], kind="stable", ignore_index=True)


def _fingerprint(source: ChunkedSource, ref: ReferenceCohort, *, scale: str, options: dict[str, Any]) -> str:
    """Ties checkpoints to the input file, the reference and every option that changes a result.

    A zarr store is a folder: its number of files, total size and newest file time stand for the file's stat, so
    rewriting, adding or removing any chunk gives another fingerprint.
    """
    if source.path.is_dir():
        from tmescope.io._zarr import store_signature

        stamp: dict[str, int] = store_signature(source.path)
    else:
        stat = source.path.stat()
        stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    text = json.dumps(
        {
            "file": str(source.path.resolve()),
            **stamp,
            "reference": ref.name,
            "reference_file": file_sha256(ref.path) if ref.path else "",
            "scale": scale,
            **{k: v for k, v in options.items() if k != "reference"},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_profile_chunked(
    expr_path: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    reference: Any = "default",
    chunk_size: int = 500,
    checkpoint: bool = True,
    read_options: dict[str, Any] | None = None,
    seed: int | None = None,
    n_boot: int = 100,
    k: int = 35,
    insights: bool = True,
    report: bool = True,
    title: str | None = None,
) -> Path:
    """Profile a large cohort chunk by chunk; write ``features.parquet``/``.tsv``, ``provenance.json`` and a report.

    Finished chunks are kept in ``outdir/chunks/`` (with ``checkpoint=True``), so a run that stopped (a crash, a
    lost node, a failed chunk) resumes where it was. The whole-cohort AnnData and the per-sample HTML report are
    not written in this mode; profile a subset with :func:`tmescope.profile.run_profile` for those. The report is
    one cohort summary page drawn from the feature table (:func:`tmescope.report.write_summary_report`).

    Parameters
    ----------
    expr_path
        Parquet (genes in rows, one column per sample) or h5ad expression file, or an AnnData zarr store.
    outdir
        Output folder (created if needed).
    reference, chunk_size, seed, n_boot, k, insights
        As in :func:`profile_chunks`.
    checkpoint
        Keep finished chunks in ``outdir/chunks/`` and reuse them.
    read_options
        Keywords of :func:`tmescope.io.read_expression`: ``orientation`` goes to :func:`open_source`, ``scale``
        and the others to :func:`profile_chunks`.
    report, title
        Write ``outdir/report/index.html`` (the cohort summary), and its title.

    Returns
    -------
    The output folder.
    """
    from tmescope.io import write_features
    from tmescope.profile._versions import running_versions

    outdir = Path(outdir)
    seed = settings.seed if seed is None else int(seed)
    ref_label = reference if isinstance(reference, str | Path) or reference is None else getattr(reference, "name", "")
    client = settings.client
    prov = Provenance(
        "profile",
        params={
            "reference": str(ref_label),
            "n_boot": n_boot,
            "k": k,
            "chunk_size": int(chunk_size),
            "read_options": dict(read_options or {}),
            "scheduler": "in-process" if client is None else str(getattr(client.scheduler, "address", client)),
        },
        seed=seed,
    )
    with collect(prov):
        rest = dict(read_options or {})
        _refuse_missing(rest)
        source = open_source(expr_path, orientation=rest.pop("orientation", "auto"))
        scale = rest.pop("scale", "auto")
        prov.add_input(expr_path, role="expression")
        prov.add_resource("versions", running_versions())
        features = profile_chunks(
            source,
            reference=reference,
            chunk_size=chunk_size,
            checkpoint_dir=outdir / "chunks" if checkpoint else None,
            scale=scale,
            read_options=rest,
            seed=seed,
            n_boot=n_boot,
            k=k,
            insights=insights,
        )
        outdir.mkdir(parents=True, exist_ok=True)
        write_features(features, outdir)
    prov.write(outdir)
    if report:
        from tmescope.report import write_summary_report

        info = {"reference": ref_label, "chunk size": int(chunk_size), "scheduler": prov.params["scheduler"]}
        name = Path(expr_path).name
        write_summary_report(features, outdir / "report", title=title or f"TME profile of {name}", info=info)
    return outdir
