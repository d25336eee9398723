"""`tmescope profile`: every bulk TME feature of every sample, placed against a reference cohort."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import CoverageWarning, InputError, InputTypeError
from tmescope._logging import format_items, warn
from tmescope._provenance import Provenance, collect, current
from tmescope._settings import settings
from tmescope.profile._reference import ReferenceCohort, file_sha256, freeze, resolve_reference
from tmescope.subtype._classify import MIN_DE_NOVO_SAMPLES

if TYPE_CHECKING:
    import os

    from anndata import AnnData

#: Signature collections scored for the profile: (collection, feature prefix).
COLLECTIONS: tuple[tuple[str, str], ...] = (
    ("immunotherapy", "immunotherapy"),
    ("tls", "tls"),
    ("caf", "caf_state"),
    ("matrisome", "matrisome"),
    ("metabolic", "metabolic"),
    ("bagaev2021", "tme_signature"),
)
_SSGSEA = "ssGSEA (GSVA, alpha 0.25), unnormalised"
_SSGSEA_UNIT = "enrichment score"
#: Fewest reference genes that must be measured in a sample placed against a reference.
MIN_REFERENCE_GENE_FRACTION = 0.9
#: Fewest genes of a whole-transcriptome profile; targeted panels are scored with ``tmescope signatures score``.
MIN_PROFILE_GENES = 5000
#: Clinical columns kept beside subtypes in a reference cohort (when present).
CLINICAL_COLUMNS = ("response", "recist", "os_time", "os_event", "pfs_time", "pfs_event", "timepoint", "treatment")


class ProfileResult(NamedTuple):
    """What :func:`profile` returns."""

    #: The profiled AnnData (a copy of the input) with every result under its documented key.
    adata: AnnData
    #: Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`).
    features: pd.DataFrame


def _coverage_flags(work: AnnData, key: str, columns: pd.Index) -> pd.DataFrame:
    cov = work.uns.get(_keys.UNS_COVERAGE.format(method=key))
    flags = pd.DataFrame("", index=work.obs_names, columns=columns)
    if isinstance(cov, pd.DataFrame) and "below_floor" in cov:
        low = cov.loc[cov["below_floor"].astype(bool), "set"].astype(str).tolist()
        for col in low:
            if col in flags.columns:
                flags[col] = "low_coverage"
    return flags


def _formula_scores(work: AnnData, lin: np.ndarray) -> pd.DataFrame:
    """Scores defined by a formula rather than a rank statistic: CYT (Rooney 2015) and TIDE CTL level."""
    names = work.var_names
    out = pd.DataFrame(index=work.obs_names)

    def cols(genes: tuple[str, ...]) -> np.ndarray | None:
        idx = names.get_indexer(list(genes))
        return None if (idx < 0).any() else idx

    cyt = cols(("GZMA", "PRF1"))
    # Rooney et al. 2015: geometric mean of GZMA and PRF1 expression (TPM, offset 0.01).
    out["cyt_rooney2015"] = np.sqrt(np.prod(lin[:, cyt] + 0.01, axis=1)) if cyt is not None else np.nan
    ctl = cols(("CD8A", "CD8B", "GZMA", "GZMB", "PRF1"))
    # Jiang et al. 2018 (TIDE): CTL level = mean expression of CD8A, CD8B, GZMA, GZMB, PRF1 (log2(TPM+1) here).
    out["tide_ctl_level_jiang2018"] = np.log2(lin[:, ctl] + 1.0).mean(axis=1) if ctl is not None else np.nan
    missing = [n for n, c in (("CYT (GZMA, PRF1)", cyt), ("TIDE CTL (CD8A, CD8B, GZMA, GZMB, PRF1)", ctl)) if c is None]
    if missing:
        warn(f"Not all genes of {', '.join(missing)} are measured; reported as NaN.", CoverageWarning)
    return out


def _scoring_view(adata: AnnData, reference: ReferenceCohort | None) -> AnnData:
    """Restrict to the reference's genes so that rank statistics are on the same gene universe."""
    if reference is None or not reference.genes:
        return adata
    ref_genes = pd.Index(reference.genes)
    common = ref_genes[ref_genes.isin(adata.var_names)]
    frac = len(common) / len(ref_genes)
    if frac < MIN_REFERENCE_GENE_FRACTION:
        absent = ref_genes[~ref_genes.isin(adata.var_names)]
        msg = (
            f"Only {len(common)} of the {len(ref_genes)} genes of reference {reference.name!r} ({frac:.0%}) are in the "
            f"data (missing {format_items(absent.tolist())}); at least {MIN_REFERENCE_GENE_FRACTION:.0%} are needed "
            "for comparable scores. Use a reference built on the same platform, or build one from your cohort."
        )
        raise InputError(msg)
    if frac < 1.0:
        warn(
            f"{len(ref_genes) - len(common)} of the {len(ref_genes)} reference genes are not measured; scores use the "
            f"{len(common)} shared genes.",
            CoverageWarning,
        )
    extra = int((~adata.var_names.isin(ref_genes)).sum())
    if extra == 0 and frac == 1.0:
        return adata
    return adata[:, adata.var_names.isin(ref_genes)].copy()


def _label_rows(values: pd.Series, *, feature: str, method: str, confidence: pd.Series | None = None) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "sample": values.index.astype(str),
            "feature": feature,
            "value": np.nan,
            "label": values.astype(str).to_numpy(),
            "unit": "category",
            "method": method,
        }
    )
    if confidence is None:
        return rows
    conf = pd.DataFrame(
        {
            "sample": confidence.index.astype(str),
            "feature": feature.rsplit(".", 1)[0] + ".confidence",
            "value": confidence.to_numpy(dtype=float),
            "label": "",
            "unit": "vote share",
            "method": method,
        }
    )
    return pd.concat([rows, conf], ignore_index=True)


def profile(
    adata: AnnData,
    *,
    clinical: pd.DataFrame | None = None,
    reference: Any = "default",
    seed: int | None = None,
    n_boot: int = 100,
    k: int = 35,
    deconvolution: str = "epic",
    deconvolution_reference: str = "til10",
    insights: bool = True,
) -> ProfileResult:
    """Measure every bulk TME feature of each sample and place it against a reference cohort.

    Steps: signature scores (unnormalised ssGSEA) of the immunotherapy (incl. IFN-γ 6-gene, 18-gene GEP,
    TIDE exclusion sets), TLS, CAF-state, matrisome, metabolic (tyrosine catabolism incl. HPDL, amino-acid
    stress) and the 29 TME-subtype collections; CYT (Rooney 2015) and TIDE CTL level by their formulas;
    ESTIMATE; deconvolution with bootstrap intervals; MCP-counter; TME subtype; immune-phenotype proxy;
    percentile of every feature against the reference.

    Parameters
    ----------
    adata
        Samples x genes as read by :func:`tmescope.io.read_expression` (HGNC symbols, scale recorded).
        It is not modified: the results are in a copy.
    clinical
        Optional clinical table (from :func:`tmescope.io.read_clinical`); matched to samples and stored in ``obs``.
    reference
        ``"default"`` (the shipped cohort, see :func:`default_reference`), a reference file path, a
        :class:`ReferenceCohort`, or ``None`` for a cohort-relative profile (de novo subtypes, no percentiles;
        needs at least 20 samples).
    seed
        Seed of the bootstrap and the community detection; default ``tmescope.settings.seed``.
    n_boot
        Bootstrap replicates of the deconvolution intervals.
    k
        Neighbours of the subtype call.
    deconvolution, deconvolution_reference
        Method and reference of :func:`tmescope.bulk.deconvolve`.
    insights
        Evaluate the therapy-hypothesis knowledge base (:func:`tmescope.insights.add_insights`): ``insight.*``
        features and ``uns["insights"]``. Research hypotheses, not treatment recommendations.

    Returns
    -------
    :class:`ProfileResult` ``(adata, features)``. The AnnData holds ``obsm["scores_<collection>"]``,
    ``obsm["immunotherapy_formulas"]``, ``obsm["estimate"]``, ``obsm["fractions"]`` (+ ``_ci_low``/``_ci_high``),
    ``obsm["mcp_counter"]``, the subtype keys (``obs["tme_subtype"]``, ``obs["tme_subtype_confidence"]``,
    ``obsm["tme_subtype_scaled"]``, ``obsm["X_tme_embedding"]``, ``uns["tme_subtype"]``), the phenotype keys
    (``obs["immune_phenotype"]``, ``obsm["immune_phenotype"]``, ``uns["immune_phenotype"]``) and
    ``uns["tmescope_profile"]`` (reference description, versions, parameters).
    """
    from anndata import AnnData

    from tmescope.bulk import deconvolve, estimate, mcp_counter
    from tmescope.io import as_scale, counts_as_tpm, drop_incomplete_genes, features_from_frame, normalize_features
    from tmescope.scoring import score_signatures
    from tmescope.subtype import classify_subtype, immune_phenotype

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (samples x genes); got {type(adata).__name__}."
        raise InputTypeError(msg)
    if adata.n_obs == 0:
        msg = "`adata` has 0 samples; nothing to profile."
        raise InputError(msg)
    if adata.n_vars < MIN_PROFILE_GENES:
        msg = (
            f"A TME profile needs whole-transcriptome data; these data have {adata.n_vars} genes (a targeted panel?), "
            f"fewer than the {MIN_PROFILE_GENES:,} that deconvolution, ESTIMATE and the subtype signatures rely on. "
            "Score gene sets on a panel with `tmescope signatures score EXPR -o OUT` (Python: "
            "tmescope.scoring.score_signatures), which reports each set's gene coverage."
        )
        raise InputError(msg)
    ref = resolve_reference(reference)
    if ref is None and adata.n_obs < MIN_DE_NOVO_SAMPLES:
        msg = (
            f"A cohort-relative profile (reference=None, CLI --reference none) needs at least {MIN_DE_NOVO_SAMPLES} "
            f"samples for de novo subtypes; got {adata.n_obs}. Place the samples against a reference cohort instead: "
            "reference='default' (CLI --reference default) or a file from `tmescope reference build`."
        )
        raise InputError(msg)
    seed = settings.seed if seed is None else int(seed)
    work = counts_as_tpm(drop_incomplete_genes(adata, method="profile"), method="profile")
    work = work.copy() if work is adata else work
    if clinical is not None:
        _attach_clinical(work, clinical)
    parts: list[pd.DataFrame] = []

    # Gene sets are ranked on the linear (TPM) scale: ranks are those of any log or linear input, and counts are
    # ranked as TPM, as the reference cohort was (ranking raw counts would favour long genes).
    lin = as_scale(work, "linear", method="profile")
    ranked = AnnData(lin, obs=pd.DataFrame(index=work.obs_names), var=pd.DataFrame(index=work.var_names))
    view = _scoring_view(ranked, ref)
    for collection, prefix in COLLECTIONS:
        key = f"scores_{collection}"
        scores = score_signatures(view, sets=collection, method="ssgsea", normalize=False, key_added=key)
        work.obsm[key] = scores
        cov_key = _keys.UNS_COVERAGE.format(method=key)
        work.uns[cov_key] = view.uns[cov_key]
        flags = _coverage_flags(work, key, scores.columns)
        parts.append(features_from_frame(scores, prefix=prefix, unit=_SSGSEA_UNIT, method=_SSGSEA, flag=flags))
    formulas = _formula_scores(work, lin)
    work.obsm[_keys.OBSM_IMMUNOTHERAPY_FORMULAS] = formulas
    parts.append(
        features_from_frame(
            formulas[["cyt_rooney2015"]],
            prefix="immunotherapy",
            unit="TPM",
            method="geometric mean of GZMA, PRF1 (+0.01)",
        )
    )
    parts.append(
        features_from_frame(
            formulas[["tide_ctl_level_jiang2018"]],
            prefix="immunotherapy",
            unit="log2(TPM+1)",
            method="mean of CD8A, CD8B, GZMA, GZMB, PRF1",
        )
    )

    # ESTIMATE ranks genes within each sample, so any monotone scale gives the same scores; it is given the
    # linear values because log2(x + 0.001) data with many zeros can look centred to its input check.
    lin_view = AnnData(
        lin,
        obs=pd.DataFrame(index=work.obs_names),
        var=pd.DataFrame(index=work.var_names),
        uns={_keys.UNS_INPUT: {"scale": "linear", "pseudocount": None, "log_base": None}},
    )
    est = estimate(lin_view)
    est = lin_view.obsm[_keys.OBSM_ESTIMATE] if est is None else est
    work.obsm[_keys.OBSM_ESTIMATE] = est
    work.uns[_keys.OBSM_ESTIMATE] = lin_view.uns.get(_keys.OBSM_ESTIMATE, {})
    parts.append(features_from_frame(est, prefix="estimate", unit="ESTIMATE score", method="ESTIMATE (Yoshihara 2013)"))

    fr = deconvolve(work, method=deconvolution, reference=deconvolution_reference, n_boot=n_boot, seed=seed)
    flag = pd.DataFrame(
        np.repeat(work.obs[_keys.OBS_FIT_FLAG].astype(str).to_numpy()[:, None], fr.shape[1], axis=1),
        index=fr.index,
        columns=fr.columns,
    )
    parts.append(
        features_from_frame(
            fr,
            prefix="composition",
            unit="fraction of cells",
            method=f"{deconvolution}/{deconvolution_reference}, {n_boot} bootstrap",
            ci_low=work.obsm[_keys.OBSM_FRACTIONS_LOW],
            ci_high=work.obsm[_keys.OBSM_FRACTIONS_HIGH],
            flag=flag,
        )
    )
    mcp = mcp_counter(work)
    mcp = work.obsm[_keys.OBSM_MCP] if mcp is None else mcp
    parts.append(
        features_from_frame(mcp, prefix="abundance", unit="mean log2(TPM+1) of markers", method="MCP-counter markers")
    )

    sub_ref = None if ref is None else ref
    classify_subtype(work, reference=sub_ref, k=k, seed=seed)
    if ref is not None:
        _annotate_nearest(work, ref)
    k_used = work.uns[_keys.UNS_SUBTYPE]["k"]
    sub_method = "Bagaev 2021 de novo (Louvain)" if ref is None else f"Bagaev 2021 kNN k={k_used} vs {ref.name}"
    parts.append(
        _label_rows(
            work.obs[_keys.OBS_SUBTYPE],
            feature="subtype.label",
            method=sub_method,
            confidence=work.obs[_keys.OBS_SUBTYPE_CONFIDENCE],
        )
    )
    immune_phenotype(work, reference=sub_ref)
    ph = work.obsm[_keys.OBSM_IMMUNE_PHENOTYPE]
    ph_method = "bulk expression proxy (CD8 vs Pan-F-TBRS)"
    parts.append(_label_rows(work.obs[_keys.OBS_IMMUNE_PHENOTYPE], feature="immune_phenotype.label", method=ph_method))
    parts.append(
        features_from_frame(
            ph[["cd8_signal", "stromal_tgfb_signal"]], prefix="immune_phenotype", unit="log2(TPM+1)", method=ph_method
        )
    )

    features = normalize_features(pd.concat(parts, ignore_index=True))
    if ref is not None:
        features["percentile"] = ref.percentiles(features).to_numpy()
    if insights:
        from tmescope.insights import add_insights

        features = add_insights(work, features=features, reference=ref)
    work.uns[_keys.UNS_PROFILE] = _profile_info(ref, seed=seed, n_boot=n_boot, k=k, method=deconvolution)
    prov = current()
    if prov is not None and ref is not None:
        prov.add_resource("reference_cohort", {"name": ref.name, "path": ref.path, **_ref_versions(ref)})
    return ProfileResult(work, features)


def _annotate_nearest(work: AnnData, ref: ReferenceCohort) -> None:
    """Add each nearest reference case's immune phenotype and clinical columns (response, survival) to the table."""
    info = work.uns[_keys.UNS_SUBTYPE]
    nearest = info["nearest"]
    extra = ref.labels.drop(columns=["subtype"], errors="ignore")
    extra = extra.rename(columns=lambda c: c.removeprefix("clinical:"))
    extra = extra.reindex(nearest["neighbour"].astype(str).to_numpy()).reset_index(drop=True)
    extra = extra.loc[:, [c for c in extra.columns if c not in nearest.columns]].fillna("").astype(str)
    info["nearest"] = pd.concat([nearest.reset_index(drop=True), extra], axis=1)


def _ref_versions(ref: ReferenceCohort) -> dict[str, Any]:
    keys = ("tumour_type", "n_samples", "signature_library_version", "gene_table_version", "tmescope_version")
    return {k: ref.metadata.get(k, "") for k in keys}


def _profile_info(ref: ReferenceCohort | None, *, seed: int, n_boot: int, k: int, method: str) -> dict[str, Any]:
    from tmescope.profile._versions import running_versions

    info: dict[str, Any] = {
        "reference": ref.name if ref is not None else "",
        "reference_description": ref.describe() if ref is not None else "cohort-relative (no reference)",
        "seed": seed,
        "n_boot": n_boot,
        "k": k,
        "deconvolution": method,
        **running_versions(),
    }
    if ref is not None:
        info["reference_meta"] = {k2: str(v) for k2, v in _ref_versions(ref).items()}
    return info


def _attach_clinical(work: AnnData, clinical: pd.DataFrame) -> None:
    from tmescope.io import match_samples

    if not isinstance(clinical, pd.DataFrame):
        msg = f"`clinical` must be a DataFrame from tmescope.io.read_clinical; got {type(clinical).__name__}."
        raise InputTypeError(msg)
    table, _ = match_samples(work.obs_names, clinical)
    table = table.reindex(work.obs_names)
    for col in table.columns:
        if col in work.obs.columns:
            continue
        values = table[col]
        work.obs[col] = (
            values.astype(float)
            if pd.api.types.is_numeric_dtype(values)
            else values.astype(str).replace({"nan": "", "None": ""})
        )


def build_reference(
    adata: AnnData,
    *,
    name: str,
    clinical: pd.DataFrame | None = None,
    description: str = "",
    tumour_type: str = "",
    seed: int | None = None,
    n_boot: int = 100,
    k: int = 35,
    source_sha256: str = "",
) -> ReferenceCohort:
    """Freeze a cohort into a :class:`ReferenceCohort`: feature distributions, de novo TME subtypes, composition.

    The cohort is profiled without a reference (:func:`profile` with ``reference=None``): its 29 signature
    scores are median/MAD-scaled within the cohort and clustered de novo into IE/F, IE, F and D; every other
    feature's distribution is kept for percentiles. Save it with :meth:`ReferenceCohort.save`.

    Parameters
    ----------
    adata
        Samples x genes (at least 20 samples; a few hundred of one tumour type is better).
    name
        Short reference name, e.g. ``"tcga_skcm"``.
    clinical
        Optional clinical table; response and survival columns are kept beside each reference case.
    description, tumour_type
        Free text stored in the metadata and shown in reports.
    seed, n_boot, k
        As in :func:`profile`.
    source_sha256
        Checksum of the expression file, recorded in the metadata.

    Returns
    -------
    :class:`ReferenceCohort`.
    """
    result = profile(adata, clinical=clinical, reference=None, seed=seed, n_boot=n_boot, k=k, insights=False)
    kept = tuple(c for c in CLINICAL_COLUMNS if clinical is not None and c in result.adata.obs.columns)
    return freeze(
        result.adata,
        result.features,
        name=name,
        description=description,
        tumour_type=tumour_type,
        clinical_columns=kept,
        source_sha256=source_sha256,
    )


def write_profile(
    adata: AnnData,
    outdir: str | os.PathLike[str],
    *,
    clinical: pd.DataFrame | None = None,
    reference: Any = "default",
    seed: int | None = None,
    n_boot: int = 100,
    k: int = 35,
    title: str | None = None,
    report: bool = True,
    insights: bool = True,
) -> list[Path]:
    """Profile an AnnData and write ``profile.h5ad``, ``features.parquet``/``.tsv`` and ``report/`` into ``outdir``.

    Every file is written under a temporary name and renamed when complete. ``provenance.json`` is left to the
    caller (see :func:`run_profile`), which owns the provenance record; the reference used is added to the active
    record.

    Parameters
    ----------
    adata
        Samples x genes, as read by :func:`tmescope.io.read_expression`.
    outdir
        Output folder (created if needed).
    clinical, reference, seed, n_boot, k
        As in :func:`profile`.
    title
        Report title.
    report
        Write the HTML report.
    insights
        As in :func:`profile`.

    Returns
    -------
    The paths written.
    """
    from tmescope.io import write_features, write_h5ad
    from tmescope.profile._versions import running_versions

    outdir = Path(outdir)
    ref = resolve_reference(reference)
    prov = current()
    if prov is not None:
        prov.add_resource("versions", running_versions())
        if ref is not None and ref.path:
            prov.add_resource("reference_file_sha256", file_sha256(ref.path))
    result = profile(adata, clinical=clinical, reference=ref, seed=seed, n_boot=n_boot, k=k, insights=insights)
    outdir.mkdir(parents=True, exist_ok=True)
    written = [write_h5ad(result.adata, outdir / "profile.h5ad"), *write_features(result.features, outdir)]
    if report:
        from tmescope.report import write_report

        written.append(write_report(result.adata, result.features, outdir / "report", title=title or "TME profile"))
    return written


def run_profile(
    expr_path: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    clinical: str | os.PathLike[str] | None = None,
    reference: Any = "default",
    seed: int | None = None,
    n_boot: int = 100,
    k: int = 35,
    title: str | None = None,
    report: bool = True,
    insights: bool = True,
    read_options: dict[str, Any] | None = None,
) -> Path:
    """Read an expression file, profile it and write every output into ``outdir``.

    Writes ``profile.h5ad``, ``features.parquet``, ``features.tsv``, ``report/`` (``index.html`` and one page
    per sample) and ``provenance.json`` (inputs' SHA-256, parameters, seed, versions, reference, automatic
    fixes). Each file is written under a temporary name and renamed when complete.

    Parameters
    ----------
    expr_path
        Expression matrix (any format :func:`tmescope.io.read_expression` reads).
    outdir
        Output folder (created if needed).
    clinical
        Optional clinical file (:func:`tmescope.io.read_clinical`).
    reference, seed, n_boot, k
        As in :func:`profile`.
    title
        Report title.
    report
        Write the HTML report.
    insights
        As in :func:`profile`.
    read_options
        Keywords of :func:`tmescope.io.read_expression` (e.g. ``{"orientation": "samples_x_genes", "scale":
        "log2(x+1)", "allow_missing": True}``); with ``allow_missing`` genes missing in some sample are left out
        (:func:`tmescope.io.drop_incomplete_genes`).

    Returns
    -------
    The output folder.
    """
    from tmescope.io import read_clinical, read_expression

    outdir = Path(outdir)
    expr_path = Path(expr_path)
    seed = settings.seed if seed is None else int(seed)
    ref_label = reference if isinstance(reference, str | Path) or reference is None else getattr(reference, "name", "")
    prov = Provenance(
        "profile",
        params={
            "reference": str(ref_label),
            "n_boot": n_boot,
            "k": k,
            "clinical": str(clinical or ""),
            "read_options": dict(read_options or {}),
        },
        seed=seed,
    )
    with collect(prov):
        _check_outdir(outdir, [expr_path] + ([Path(clinical)] if clinical else []))
        adata = read_expression(expr_path, **(read_options or {}))
        prov.add_input(expr_path, role="expression")
        clin = None
        if clinical is not None:
            clin = read_clinical(clinical)
            prov.add_input(clinical, role="clinical")
        write_profile(
            adata,
            outdir,
            clinical=clin,
            reference=reference,
            seed=seed,
            n_boot=n_boot,
            k=k,
            title=title or f"TME profile of {expr_path.name}",
            report=report,
            insights=insights,
        )
    prov.write(outdir)
    return outdir


def _check_outdir(outdir: Path, inputs: list[Path]) -> None:
    out = outdir.resolve()
    for p in inputs:
        rp = p.resolve()
        if rp.parent == out and rp.name in {"profile.h5ad", "features.parquet", "features.tsv", "provenance.json"}:
            msg = f"Output folder {outdir} would overwrite the input {p}; choose another output folder."
            raise InputError(msg)
