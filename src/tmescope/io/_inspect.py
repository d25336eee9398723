"""What the reader detected about a file, as a JSON-friendly summary (used by ``tmescope inspect``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmescope._errors import TmescopeWarning
from tmescope._keys import UNS_INPUT

if TYPE_CHECKING:
    import os

    from anndata import AnnData

_ORIENTATION_TEXT = {"genes_x_samples": "genes × samples", "samples_x_genes": "samples × genes"}
_SCALE_TEXT = {
    "counts": "raw counts",
    "linear": "linear (TPM/FPKM-like)",
    "log2": "log2",
    "log_other": "log, base other than 2",
    "centered": "centred / z-scored",
}
_ID_TEXT = {
    "symbol": "HGNC symbols",
    "ensembl": "Ensembl gene IDs",
    "entrez": "Entrez gene IDs",
    "mixed": "mixed identifier types",
}


def summarize(adata: AnnData, *, warnings_seen: list[str] | None = None) -> dict[str, Any]:
    """Summary of ``adata.uns["tmescope_input"]`` and the data shape, for printing or JSON.

    Parameters
    ----------
    adata
        An object returned by :func:`tmescope.io.read_expression`.
    warnings_seen
        Warning messages raised while reading.

    Returns
    -------
    dict
        ``file``, ``sha256``, ``format``, ``n_samples``, ``n_genes``, ``samples`` (first 10), ``orientation``,
        ``scale``, ``pseudocount``, ``log_base``, ``scale_evidence``, ``scale_source``, ``id_type``,
        ``gene_mapping`` (counts), ``fixes`` (messages) and ``warnings``.
    """
    info = dict(adata.uns.get(UNS_INPUT, {}))
    mapping = info.get("gene_mapping") or {}
    return {
        "file": info.get("file"),
        "sha256": info.get("sha256"),
        "format": info.get("format"),
        "n_samples": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        "samples": [str(s) for s in adata.obs_names[:10]],
        "orientation": info.get("orientation"),
        "orientation_evidence": info.get("orientation_evidence"),
        "scale": info.get("scale"),
        "pseudocount": info.get("pseudocount"),
        "log_base": info.get("log_base"),
        "scale_evidence": info.get("scale_evidence"),
        "scale_source": info.get("scale_source"),
        "library_sizes": info.get("library_sizes"),
        "id_type": info.get("id_type"),
        "id_type_fractions": info.get("id_type_fractions"),
        "gene_mapping": {
            "n_query": mapping.get("n_query"),
            "n_mapped": mapping.get("n_mapped"),
            "n_symbols": mapping.get("n_symbols"),
            "counts": mapping.get("counts"),
        },
        "fixes": [f.get("message", f.get("step")) for f in info.get("fixes", [])],
        "warnings": list(warnings_seen or []),
    }


def inspect_expression(path: str | os.PathLike[str], **kwargs: Any) -> tuple[AnnData, dict[str, Any]]:
    """Read ``path`` with :func:`tmescope.io.read_expression`, recording every warning; return data and summary."""
    from tmescope.io._read import read_expression

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TmescopeWarning)
        adata = read_expression(Path(path), **kwargs)
    seen = [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, TmescopeWarning)]
    return adata, summarize(adata, warnings_seen=seen)


def inspect_clinical(path: str | os.PathLike[str], sample_ids: Any) -> dict[str, Any]:
    """Read a clinical table, match it to ``sample_ids`` and summarise both, recording every warning."""
    from tmescope.io._clinical import match_samples, read_clinical

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TmescopeWarning)
        clinical = read_clinical(Path(path))
        _, report = match_samples(list(sample_ids), clinical)
    seen = [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, TmescopeWarning)]
    counts = {col: clinical[col].value_counts(dropna=False).rename(str).to_dict() for col in ("response", "recist")}
    return {
        "file": str(path),
        "n_rows": len(clinical),
        "columns_used": clinical.attrs.get("columns_used", {}),
        "os_events": int(clinical["os_event"].sum()),
        "os_known": int(clinical["os_time"].notna().sum()),
        "pfs_events": int(clinical["pfs_event"].sum()),
        "pfs_known": int(clinical["pfs_time"].notna().sum()),
        **counts,
        "match": {k: report[k] for k in ("n_samples", "n_clinical", "n_matched", "matched_by")}
        | {
            "unmatched_samples": report["unmatched_samples"][:10],
            "unmatched_clinical": report["unmatched_clinical"][:10],
        },
        "warnings": seen,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable text of :func:`summarize` output."""
    lines = [f"File:         {summary['file']}", f"SHA-256:      {summary['sha256']}"]
    lines.append(f"Format:       {summary['format']}")
    orient = _ORIENTATION_TEXT.get(str(summary["orientation"]), str(summary["orientation"]))
    lines.append(f"Orientation:  {orient} ({summary['orientation_evidence']})")
    samples = ", ".join(summary["samples"]) + (", …" if summary["n_samples"] > len(summary["samples"]) else "")
    lines.append(f"Samples:      {summary['n_samples']} ({samples})")
    scale = _SCALE_TEXT.get(str(summary["scale"]), str(summary["scale"]))
    if summary["scale"] == "linear":
        scale = "linear TPM/FPKM-like"
    if summary["scale"] in ("log2", "log_other") and summary["pseudocount"] is not None:
        scale += f", pseudocount {summary['pseudocount']:g}"
    lines.append(f"Scale:        {scale} [{summary['scale_source']}] ({summary['scale_evidence']})")
    if summary.get("library_sizes"):
        ls = summary["library_sizes"]
        lines.append(
            f"Library size: {ls['min']:,.0f} – {ls['max']:,.0f} (median {ls['median']:,.0f}); methods that need TPM "
            "convert with the shipped gene lengths"
        )
    fractions = summary.get("id_type_fractions") or {}
    frac = ", ".join(f"{k} {100 * v:.1f}%" for k, v in fractions.items())
    lines.append(f"Gene IDs:     {_ID_TEXT.get(str(summary['id_type']), summary['id_type'])} ({frac})")
    gm = summary["gene_mapping"]
    if gm.get("counts"):
        parts = ", ".join(f"{k} {v}" for k, v in gm["counts"].items() if v)
        lines.append(
            f"Gene mapping: {gm['n_query']} identifiers -> {gm['n_mapped']} mapped -> {summary['n_genes']} genes ({parts})"
        )
    else:
        lines.append(f"Genes:        {summary['n_genes']} (not harmonised)")
    lines.append(f"Warnings:     {len(summary['warnings'])}")
    lines.extend(f"  - {w}" for w in summary["warnings"])
    clin = summary.get("clinical")
    if clin:
        used = ", ".join(f"{k} <- {v}" for k, v in clin["columns_used"].items() if v)
        m = clin["match"]
        lines += [
            f"Clinical:     {clin['file']} ({clin['n_rows']} rows; {used})",
            f"Outcomes:     response {clin['response']}; RECIST {clin['recist']}; OS {clin['os_events']} events "
            f"of {clin['os_known']} known; PFS {clin['pfs_events']} events of {clin['pfs_known']} known",
            f"Matching:     {m['n_matched']} of {m['n_samples']} samples matched ({m['matched_by']}); "
            f"{len(m['unmatched_clinical'])} clinical row(s) unmatched",
            f"Warnings:     {len(clin['warnings'])}",
        ]
        lines.extend(f"  - {w}" for w in clin["warnings"])
    return "\n".join(lines)
