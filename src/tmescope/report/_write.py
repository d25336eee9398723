"""Assemble the HTML report: a cohort overview page and one page per sample."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.resources
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import InputError, InputTypeError, MissingKeyError, TmescopeError
from tmescope._progress import progress
from tmescope._provenance import atomic_dir, output_file, package_version
from tmescope.io import normalize_features
from tmescope.pl import _data, _static
from tmescope.pl import _figures as figs
from tmescope.report import _html as h
from tmescope.report._insights import insights_section

if TYPE_CHECKING:
    from collections.abc import Callable

    import plotly.graph_objects as go
    from anndata import AnnData

logger = logging.getLogger(__name__)

#: Errors that mean "this part of the profile is absent or unusable": the figure is omitted with the reason.
_SKIP = (TmescopeError, KeyError, ValueError, TypeError, IndexError)
#: Subtype confidence below which a sample page shows a flag.
LOW_CONFIDENCE = 0.5
#: Plain-language meaning of the flags analyses write into the feature table.
FLAG_MEANING = {
    "low_coverage": "too few of the genes of this gene set were measured, so its score is less reliable",
    "poor_fit": "the deconvolution did not explain the sample's expression well, so its cell fractions are uncertain",
}
PHENOTYPE_MEANING = {
    "inflamed": "CD8 T-cell signal is high and not held back by stroma",
    "excluded": "CD8 T-cell signal is present but a strong stromal (TGF-β) signal suggests T cells are kept out",
    "desert": "little CD8 T-cell signal",
}
#: Clinical ``obs`` columns (as standardised by :func:`tmescope.io.read_clinical`) shown when present.
CLINICAL_COLUMNS = ("response", "timepoint", "treatment")
_FALSE_WORDS = {"", "ok", "false", "no", "none", "nan", "0", "pass", "good"}


def _truthy_flag(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return bool(np.isfinite(value) and value != 0)
    return str(value).strip().lower() not in _FALSE_WORDS


@dataclass
class _Report:
    """Everything read once from the profile and shared by the pages."""

    adata: AnnData
    features: pd.DataFrame | None
    title: str
    static: bool
    root: Path
    samples: list[str]
    pages: dict[str, str]
    labels: pd.Series | None
    generated: str
    by_sample: dict[str, pd.DataFrame] = field(default_factory=dict)
    nearest: dict[str, pd.DataFrame] = field(default_factory=dict)
    methods_html: str = ""
    frames: tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None] | None = None
    frames_error: str = ""


def _links(rep: _Report, prefix: str) -> dict[str, str]:
    return {s: f"{prefix}{p}" for s, p in rep.pages.items()}


def _check_outdir(outdir: Path) -> None:
    if outdir.exists() and not outdir.is_dir():
        msg = f"Report folder {outdir} exists and is a file; choose a folder path (it is created)."
        raise InputError(msg)
    if outdir.is_dir() and any(outdir.iterdir()) and not (outdir / "index.html").exists():
        msg = (
            f"Report folder {outdir} is not empty and holds no earlier report; it would be replaced as a whole. "
            "Choose a new or empty folder, e.g. `<output>/report`."
        )
        raise InputError(msg)


def _page_names(samples: list[str], root: Path) -> dict[str, str]:
    """File name of each sample page, unique even on case-insensitive file systems (macOS, Windows).

    IDs that differ only in case get a short hash of the original ID appended.
    """
    names: dict[str, str] = {}
    seen: set[str] = set()
    for s in samples:
        name = output_file(root, s, ".html").name
        if name.lower() in seen:
            digest = hashlib.sha256(s.encode("utf-8")).hexdigest()[:8]
            name = output_file(root, f"{Path(name).stem}_{digest}", ".html").name
        seen.add(name.lower())
        names[s] = name
    return names


def _asset(name: str) -> str:
    return importlib.resources.files("tmescope").joinpath("data", "report", name).read_text(encoding="utf-8")


def render_page(*, title: str, body: list[str], nav: str) -> str:
    """HTML of a one-page report (cohort, fidelity, single-cell, spatial) with the shared layout and timestamp."""
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return h.page(title=title, body="\n".join(body), root="", links={}, nav=nav, generated=generated)


def write_single_page(outdir: Path, *, title: str, body: list[str], nav: str) -> Path:
    """Write ``outdir/index.html`` with its assets atomically and return its path."""
    with atomic_dir(outdir) as tmp:
        _write_assets(tmp)
        (tmp / "index.html").write_text(render_page(title=title, body=body, nav=nav), encoding="utf-8")
    return Path(outdir) / "index.html"


def _write_assets(tmp: Path) -> None:
    from plotly.offline import get_plotlyjs

    assets = tmp / "assets"
    assets.mkdir()
    (assets / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    for name in ("report.css", "report.js"):
        (assets / name).write_text(_asset(name), encoding="utf-8")


# --- cohort figures ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Figure:
    name: str
    heading: str
    howto: str
    plot: Callable[[AnnData], go.Figure]
    still: Callable[..., list[Path]]


_COHORT_FIGURES = (
    _Figure(
        "subtype_distribution",
        "TME subtypes in this cohort",
        "Each sample is assigned one of four tumour-microenvironment (TME) subtypes (Bagaev et al., Cancer Cell "
        "2021): <b>IE/F</b> immune-enriched and fibrotic, <b>IE</b> immune-enriched, <b>F</b> fibrotic and "
        "<b>D</b> immune-depleted. Bars count the samples of each subtype.",
        figs.subtype_distribution,
        _static.subtype_distribution,
    ),
    _Figure(
        "composition_bars",
        "Cell-type composition",
        "One bar per sample; the coloured blocks are the estimated fractions of each cell type, adding up to "
        "100%. Samples are grouped by subtype (strip on top). Click a bar to open that sample's page.",
        figs.composition_bars,
        _static.composition_bars,
    ),
    _Figure(
        "signature_heatmap",
        "Functional signatures",
        "Rows are the 29 functional gene signatures that define the subtypes (immune cells, checkpoints, "
        "fibroblasts, matrix, vessels, proliferation), columns are samples placed next to similar samples. "
        "<b>Red</b> means higher than the median (of the reference cohort, or of this cohort when no reference was "
        "used), <b>blue</b> lower. The strip on top shows each sample's subtype.",
        figs.signature_heatmap,
        _static.signature_heatmap,
    ),
    _Figure(
        "embedding",
        "Map of samples",
        "Each dot is a sample, placed so that samples with similar signatures lie close together; colours are "
        "subtypes. Faint dots, when shown, are the reference cases the subtypes were called against. Hover for the "
        "sample name, click to open its page.",
        figs.embedding,
        _static.embedding,
    ),
)


def _cohort_figure(rep: _Report, spec: _Figure, tmp: Path) -> str:
    try:
        fig = spec.plot(rep.adata)
    except _SKIP as err:
        logger.info("report: %s omitted: %s", spec.name, err)
        return h.section(spec.name, spec.heading, h.omitted(spec.heading, str(err)), howto=spec.howto)
    content = h.figure(fig, f"fig-{spec.name}", filename=spec.name)
    if rep.static:
        try:
            files = spec.still(rep.adata, tmp / "figures" / spec.name)
            content += h.downloads((p.suffix[1:].upper(), f"figures/{p.name}") for p in files)
        except _SKIP as err:  # pragma: no cover - the interactive figure succeeded on the same data
            logger.warning("report: static %s not written: %s", spec.name, err)
    return h.section(spec.name, spec.heading, content, howto=spec.howto)


# --- tables --------------------------------------------------------------------------------------------------


def _obs_value(adata: AnnData, key: str, pos: int) -> Any:
    if key not in adata.obs.columns:
        return None
    value = adata.obs[key].iloc[pos]
    return None if pd.isna(value) else value


def _sample_flags(rep: _Report, sample: str, pos: int) -> list[str]:
    flags: list[str] = []
    adata = rep.adata
    label = rep.labels.iloc[pos] if rep.labels is not None else None
    if label == _data.NO_SUBTYPE:
        flags.append("No TME subtype was called for this sample.")
    conf = pd.to_numeric(pd.Series([_obs_value(adata, _keys.OBS_SUBTYPE_CONFIDENCE, pos)]), errors="coerce").iloc[0]
    if np.isfinite(conf) and conf < LOW_CONFIDENCE:
        flags.append(
            f"Low subtype confidence ({conf:.0%}): the nearest cases disagree about the subtype, "
            "so treat it as borderline."
        )
    fit_flag = _obs_value(adata, _keys.OBS_FIT_FLAG, pos)
    if _truthy_flag(fit_flag):
        fit = _obs_value(adata, _keys.OBS_FIT, pos)
        detail = f" (fit {h.fmt(fit)})" if fit is not None else ""
        flags.append(f"Poor deconvolution fit{detail}: the cell-type fractions of this sample are uncertain.")
    rows = rep.by_sample.get(sample)
    if rows is not None and not rows.empty:
        flagged = rows.loc[rows["flag"] != ""]
        if _keys.OBS_FIT_FLAG in adata.obs.columns:
            flagged = flagged.loc[flagged["flag"] != "poor_fit"]  # already said above, once per sample
        for flag, group in flagged.groupby("flag", sort=True):
            names = ", ".join(group["feature"].astype(str).tolist()[:12])
            more = f" and {len(group) - 12} more" if len(group) > 12 else ""
            meaning = FLAG_MEANING.get(str(flag), "")
            flags.append(
                f"<b>{h.e(flag)}</b> on {len(group)} feature(s): {h.e(names)}{more}"
                + (f" — {h.e(meaning)}." if meaning else ".")
            )
    return flags


def _flag_list(flags: list[str], *, none: str) -> str:
    if not flags:
        return f'<p class="noflags">{h.e(none)}</p>'
    # Flags built above escape their own user-derived text; some carry <b> markup.
    return '<ul class="flags">' + "".join(f"<li>{f if '<b>' in f else h.e(f)}</li>" for f in flags) + "</ul>"


def _scalars(info: dict[str, Any]) -> dict[str, Any]:
    """The short, readable entries of a stored parameter dictionary (tables and long arrays left out)."""
    out: dict[str, Any] = {}
    # Sorted: a saved and re-read AnnData (h5ad) returns ``uns`` dictionaries with sorted keys.
    for k, v in sorted(info.items(), key=lambda kv: str(kv[0])):
        if isinstance(v, (str, int, float, bool, np.integer, np.floating, np.bool_)) or v is None:
            out[str(k)] = v
        elif isinstance(v, dict) and len(v) <= 8:
            out[str(k)] = {
                kk: vv
                for kk, vv in sorted(v.items(), key=lambda kv: str(kv[0]))
                if not isinstance(vv, (dict, pd.DataFrame, np.ndarray))
            }
        elif isinstance(v, (list, tuple, np.ndarray)) and len(v) <= 8:
            out[str(k)] = v
    return out


#: ``uns`` entries that are not analyses (shown elsewhere or not parameters).
_NOT_ANALYSES = {_keys.UNS_INPUT, _keys.UNS_RUNS, _keys.UNS_PROFILE}


def _methods(adata: AnnData, features: pd.DataFrame | None) -> str:
    """Methods and versions: what produced the profile, read from what each analysis stored."""
    parts: list[str] = []
    prof = adata.uns.get(_keys.UNS_PROFILE)
    if isinstance(prof, dict) and prof:
        flat = _scalars(prof)
        frame = pd.DataFrame({"setting": list(flat), "value": [h.describe(v) for v in flat.values()]})
        parts.append("<h3>Profile</h3>" + h.table(frame))
    rows: list[dict[str, str]] = []
    runs = adata.uns.get(_keys.UNS_RUNS)
    if isinstance(runs, dict):
        for name, info in runs.items():
            if isinstance(info, dict):
                version = info.get("version", info.get("versions", ""))
                rest = _scalars({k: v for k, v in info.items() if k not in ("method", "version", "versions")})
                params = info.get("params")
                rows.append(
                    {
                        "analysis": str(name),
                        "method": h.describe(info.get("method", "")),
                        "version": h.describe(version),
                        "settings": h.describe(params if isinstance(params, dict) else rest),
                    }
                )
            else:
                rows.append({"analysis": str(name), "method": h.describe(info), "version": "", "settings": ""})
    for name, info in sorted(adata.uns.items(), key=lambda kv: str(kv[0])):
        if name in _NOT_ANALYSES or str(name).startswith("coverage_") or not isinstance(info, dict):
            continue
        flat = _scalars({k: v for k, v in info.items() if k not in ("method", "kind")})
        rows.append(
            {
                "analysis": str(name).replace("_", " "),
                "method": h.describe(info.get("method", info.get("kind", ""))),
                "version": "",
                "settings": h.describe(flat),
            }
        )
    if rows:
        parts.append("<h3>Analyses</h3>" + h.table(pd.DataFrame(rows)))
    if features is not None and not features.empty:
        fam = features.assign(family=features["feature"].map(_data.feature_family))
        summary = pd.DataFrame(
            [
                {
                    "feature family": name,
                    "features": int(group["feature"].nunique()),
                    "method": "; ".join(sorted({m for m in group["method"] if m}))[:300],
                    "unit": "; ".join(sorted({u for u in group["unit"] if u}))[:200],
                }
                for name, group in fam.groupby("family", sort=True)
            ]
        )
        parts.append("<h3>Features</h3>" + h.table(summary, numeric=("features",)))
    if not parts:
        parts.append(
            h.omitted("Methods table", "The profile stores no record of the analyses (`adata.uns` holds none).")
        )
    inp = adata.uns.get(_keys.UNS_INPUT)
    if isinstance(inp, dict) and inp:
        flat = _scalars(inp)
        frame = pd.DataFrame({"input check": list(flat), "result": [h.describe(v) for v in flat.values()]})
        parts.append("<h3>What the readers detected and fixed</h3>" + h.table(frame))
    versions = {
        name: package_version(name) or "–"
        for name in ("tmescope", "numpy", "pandas", "anndata", "plotly", "matplotlib")
    }
    parts.append(
        '<p class="downloads">Report drawn with '
        + ", ".join(f"{h.e(k)} {h.e(v)}" for k, v in versions.items())
        + ".</p>"
    )
    return "\n".join(parts)


def _coverage_table(adata: AnnData) -> pd.DataFrame | None:
    """Gene sets scored with incomplete gene coverage, lowest first, from every stored coverage table."""
    frames = []
    for key in sorted(str(k) for k in adata.uns if str(k).startswith("coverage_")):
        cov = _data.as_table(adata.uns[key])
        if cov is None or cov.empty:
            continue
        cols = {str(c).lower(): c for c in cov.columns}
        frac_col = next((cols[c] for c in cols if c == "coverage" or "frac" in c), None)
        if frac_col is None:
            continue
        names = cov[cols["set"]].astype(str) if "set" in cols else pd.Series(cov.index.astype(str), index=cov.index)
        out = pd.DataFrame(
            {
                "gene set": names.to_numpy(),
                "collection": key.removeprefix("coverage_").removeprefix("scores_"),
                "coverage": pd.to_numeric(cov[frac_col], errors="coerce").to_numpy(),
            }
        )
        for c in ("n_genes", "n_present", "n_found"):
            if c in cols:
                out[c.replace("_", " ")] = cov[cols[c]].to_numpy()
        frames.append(out)
    if not frames:
        return None
    table = pd.concat(frames, ignore_index=True)
    low = table.loc[table["coverage"] < 1].sort_values(["coverage", "gene set"], kind="stable")
    return low.reset_index(drop=True) if not low.empty else None


def _samples_table(rep: _Report) -> str:
    adata = rep.adata
    rows = []
    for pos, s in enumerate(rep.samples):
        label = rep.labels.iloc[pos] if rep.labels is not None else ""
        nflags = len(_sample_flags(rep, s, pos))
        rows.append(
            {
                "sample": f'<a href="samples/{h.e(rep.pages[s])}">{h.e(s)}</a>',
                "TME subtype": h.badge(label, _data.subtype_color(label)) if label else "–",
                "confidence": h.fmt(_obs_value(adata, _keys.OBS_SUBTYPE_CONFIDENCE, pos), percent=True),
                "immune phenotype": h.fmt(_obs_value(adata, _keys.OBS_IMMUNE_PHENOTYPE, pos)),
                "deconvolution fit": h.fmt(_obs_value(adata, _keys.OBS_FIT, pos)),
                **{col: h.fmt(_obs_value(adata, col, pos)) for col in CLINICAL_COLUMNS if col in adata.obs.columns},
                "flags": "⚠ " + str(nflags) if nflags else "",
            }
        )
    frame = pd.DataFrame(rows)
    return h.table(frame, numeric=("confidence", "deconvolution fit"), raw_html=("sample", "TME subtype"), wrap=True)


def _cohort_flags(rep: _Report) -> str:
    items: list[str] = []
    adata = rep.adata
    if _keys.OBS_FIT_FLAG in adata.obs.columns:
        poor = [s for pos, s in enumerate(rep.samples) if _truthy_flag(_obs_value(adata, _keys.OBS_FIT_FLAG, pos))]
        if poor:
            links = ", ".join(f'<a href="samples/{h.e(rep.pages[s])}">{h.e(s)}</a>' for s in poor[:30])
            items.append(
                f"<b>Poor deconvolution fit</b> in {len(poor)} sample(s): {links}{' …' if len(poor) > 30 else ''}"
            )
    if _keys.OBS_SUBTYPE_CONFIDENCE in adata.obs.columns:
        conf = pd.to_numeric(adata.obs[_keys.OBS_SUBTYPE_CONFIDENCE], errors="coerce").to_numpy()
        low = [s for s, c in zip(rep.samples, conf, strict=True) if np.isfinite(c) and c < LOW_CONFIDENCE]
        if low:
            links = ", ".join(f'<a href="samples/{h.e(rep.pages[s])}">{h.e(s)}</a>' for s in low[:30])
            items.append(
                f"<b>Low subtype confidence</b> (below {LOW_CONFIDENCE:.0%}) in {len(low)} sample(s): {links}"
                + (" …" if len(low) > 30 else "")
            )
    if rep.features is not None and not rep.features.empty:
        flagged = rep.features.loc[rep.features["flag"] != ""]
        if _keys.OBS_FIT_FLAG in adata.obs.columns:
            flagged = flagged.loc[flagged["flag"] != "poor_fit"]  # listed above with the samples concerned
        for flag, group in flagged.groupby("flag", sort=True):
            meaning = FLAG_MEANING.get(str(flag), "")
            feats = ", ".join(sorted(group["feature"].astype(str).unique())[:10])
            items.append(
                f"<b>{h.e(flag)}</b>: {group['sample'].nunique()} sample(s), features {h.e(feats)}"
                + (f" — {h.e(meaning)}." if meaning else ".")
            )
    html = _flag_list(items, none="No quality flags in this cohort.")
    cov = _coverage_table(adata)
    if cov is not None:
        html += (
            "<details><summary>Gene sets scored with incomplete gene coverage "
            f"({len(cov)})</summary>{h.table(cov, numeric=[c for c in cov.columns if c not in ('gene set', 'collection')], wrap=True)}"
            "</details>"
        )
    return html


# --- pages ---------------------------------------------------------------------------------------------------


def _index_page(rep: _Report, tmp: Path) -> str:
    adata = rep.adata
    n = adata.n_obs
    toc = (
        '<nav class="toc">'
        + "".join(
            f'<a href="#{a}">{t}</a>'
            for a, t in (
                ("subtype_distribution", "Subtypes"),
                ("composition_bars", "Composition"),
                ("signature_heatmap", "Signatures"),
                ("embedding", "Map of samples"),
                ("samples", "Samples"),
                ("flags", "Quality flags"),
                ("methods", "Methods"),
            )
        )
        + "</nav>"
    )
    sub = adata.uns.get(_keys.UNS_SUBTYPE, {})
    ref = sub.get("reference", "") if isinstance(sub, dict) else ""
    how = (
        f"called against the reference cohort <b>{h.e(ref)}</b>"
        if ref
        else "called within this cohort"
        if isinstance(sub, dict) and sub
        else ""
    )
    lead = f'<p class="lead">{n} sample(s). TME subtypes {how}.</p>' if how else f'<p class="lead">{n} sample(s).</p>'
    body = [f"<h1>{h.e(rep.title)}</h1>", lead, toc]
    body += [_cohort_figure(rep, spec, tmp) for spec in _COHORT_FIGURES]
    body.append(
        h.section(
            "samples",
            "Samples",
            _samples_table(rep) if rep.samples else h.omitted("Sample list", "The profile holds no samples."),
            howto="Open a sample's page for its subtype, composition and every measured feature.",
        )
    )
    body.append(
        h.section(
            "flags",
            "Quality flags",
            _cohort_flags(rep),
            howto="Results to read with care: poor model fit, borderline subtype calls, gene sets with missing genes.",
        )
    )
    body.append(h.section("methods", "Methods and versions", rep.methods_html))
    nav = '<a href="index.html">Cohort overview</a><a href="#samples">Samples</a><a href="#methods">Methods</a>'
    return h.page(
        title=rep.title, body="\n".join(body), root="", links=_links(rep, "samples/"), nav=nav, generated=rep.generated
    )


def _cards(rep: _Report, sample: str, pos: int) -> str:
    adata = rep.adata
    cards = []
    label = rep.labels.iloc[pos] if rep.labels is not None else None
    if label is not None:
        meaning = _data.SUBTYPE_MEANING.get(label, "")
        cards.append(("TME subtype", h.badge(label, _data.subtype_color(label), big=True), h.e(meaning)))
    conf = _obs_value(adata, _keys.OBS_SUBTYPE_CONFIDENCE, pos)
    if conf is not None:
        cards.append(
            ("Subtype confidence", h.fmt(float(conf), percent=True), "share of the nearest cases with the same subtype")
        )
    pheno = _obs_value(adata, _keys.OBS_IMMUNE_PHENOTYPE, pos)
    if pheno is not None:
        cards.append(("Immune phenotype", h.e(pheno), h.e(PHENOTYPE_MEANING.get(str(pheno), "bulk-RNA proxy"))))
    fit = _obs_value(adata, _keys.OBS_FIT, pos)
    if fit is not None:
        poor = _truthy_flag(_obs_value(adata, _keys.OBS_FIT_FLAG, pos))
        cards.append(
            ("Deconvolution fit", h.fmt(fit), "poor: fractions uncertain" if poor else "how well cell types explain it")
        )
    clinical = {c: _obs_value(adata, c, pos) for c in CLINICAL_COLUMNS if c in adata.obs.columns}
    clinical = {c: v for c, v in clinical.items() if v is not None and str(v) != ""}
    if clinical:
        first, *rest = clinical.items()
        cards.append(
            (
                f"Clinical: {first[0]}",
                h.e(first[1]),
                "; ".join(f"{h.e(k)}: {h.e(v)}" for k, v in rest) or "from the clinical table",
            )
        )
    if _keys.OBSM_ESTIMATE in adata.obsm:
        try:
            est = _data.obsm_frame(adata, _keys.OBSM_ESTIMATE, what="ESTIMATE scores", fix="")
            if "purity" in est.columns and np.isfinite(est["purity"].iloc[pos]):
                cards.append(
                    (
                        "Tumour purity",
                        h.fmt(est["purity"].iloc[pos], percent=True),
                        "ESTIMATE (approximate for RNA-seq)",
                    )
                )
        except _SKIP:
            pass
    if not cards:
        return h.omitted("Summary", "The profile stores no subtype, phenotype or fit for this sample.")
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{h.e(k)}</div><div class="v">{v}</div><div class="d">{d}</div></div>'
            for k, v, d in cards
        )
        + "</div>"
    )


def _nearest_section(rep: _Report, sample: str) -> str:
    howto = (
        "The reference cases whose signatures are most similar to this sample; the subtype is the majority "
        "vote of the nearest cases. A smaller distance means more similar."
    )
    if not rep.nearest:
        why = f"`adata.uns[{_keys.UNS_SUBTYPE!r}]['nearest']` is absent; run the subtype call to store it."
        return h.section("nearest", "Nearest reference cases", h.omitted("Nearest cases", why), howto=howto)
    rows = rep.nearest.get(sample)
    if rows is None or rows.empty:
        return h.section(
            "nearest",
            "Nearest reference cases",
            h.omitted("Nearest cases", "The stored table has no rows for this sample."),
            howto=howto,
        )
    lab_col = "label" if "label" in rows.columns else "subtype" if "subtype" in rows.columns else None
    out = pd.DataFrame(
        {
            "rank": rows["rank"].to_numpy() if "rank" in rows else np.arange(1, len(rows) + 1),
            "reference case": rows["neighbour"].astype(str).to_numpy() if "neighbour" in rows else "",
        }
    )
    if lab_col is not None:
        out["subtype"] = [h.badge(v, _data.subtype_color(v)) for v in rows[lab_col].astype(str)]
    if "distance" in rows:
        out["distance"] = pd.to_numeric(rows["distance"], errors="coerce").to_numpy()
    if "source" in rows:
        out["source"] = rows["source"].astype(str).to_numpy()
    content = h.table(out, numeric=("rank", "distance"), raw_html=("subtype",))
    return h.section("nearest", "Nearest reference cases", content, howto=howto)


def _feature_table(rows: pd.DataFrame) -> str:
    show = pd.DataFrame(
        {
            "feature": rows["feature"],
            "value": [h.e(v.label) if v.label else h.e(h.fmt(v.value)) for v in rows.itertuples()],
            "unit": rows["unit"],
            "interval": [
                f"{h.fmt(lo)} – {h.fmt(hi)}" if np.isfinite(lo) and np.isfinite(hi) else ""
                for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "percentile": rows["percentile"].round(0),
            "method": rows["method"],
            "flag": rows["flag"],
        }
    )
    return h.table(show, numeric=("value", "percentile"), raw_html=("value",), wrap=True)


def _sample_page(rep: _Report, sample: str, pos: int, tmp: Path) -> str:
    n = len(rep.samples)
    prev_s, next_s = rep.samples[pos - 1] if pos > 0 else None, rep.samples[pos + 1] if pos + 1 < n else None
    nav = '<a href="../index.html">Cohort overview</a><a href="../index.html#samples">All samples</a>'
    if prev_s is not None:
        nav += f'<a href="{h.e(rep.pages[prev_s])}" rel="prev">‹ {h.e(prev_s)}</a>'
    if next_s is not None:
        nav += f'<a href="{h.e(rep.pages[next_s])}" rel="next">{h.e(next_s)} ›</a>'
    stem = Path(rep.pages[sample]).stem
    body = [
        f"<h1>Sample {h.e(sample)}</h1>",
        f'<p class="lead">Sample {pos + 1} of {n} in <a href="../index.html">{h.e(rep.title)}</a>.</p>',
        _cards(rep, sample, pos),
        h.section(
            "flags",
            "Flags",
            _flag_list(_sample_flags(rep, sample, pos), none="No quality flags for this sample."),
            howto="Things to keep in mind when reading the numbers below.",
        ),
        _nearest_section(rep, sample),
    ]
    if rep.frames is None:
        comp = h.omitted("Composition", rep.frames_error)
    else:
        try:
            comp = h.figure(figs._interval_figure(rep.frames, pos), "fig-composition", filename=f"{stem}_composition")
        except _SKIP as err:
            comp = h.omitted("Composition", str(err))
    body.append(
        h.section(
            "composition",
            "Cell-type composition",
            comp,
            howto="Estimated fraction of each cell type in the sample; the bar around each dot is its interval "
            "(the range the estimate is likely to be in). Wide bars mean uncertain estimates.",
        )
    )
    rows = rep.by_sample.get(sample)
    split = _data.split_ranked(rows) if rows is not None and not rows.empty else None
    if split is None:
        feat = h.omitted("Feature ranking", "The feature table has no rows for this sample.")
    elif split.ranked.empty:
        feat = h.omitted("Feature ranking", "No cohort percentiles are stored for this sample's features.")
    else:
        feat = h.figure(
            figs._percentile_figure(split.ranked, sample=sample), "fig-features", filename=f"{stem}_features"
        )
    if split is not None:
        all_rows = pd.concat([split.ranked, split.unranked], ignore_index=True)
        feat += (
            f"<details><summary>All {len(all_rows)} features as a table</summary>{_feature_table(all_rows)}</details>"
        )
    if rep.static and (split is not None or rep.frames is not None):
        try:
            files = _static.sample_summary(
                rep.frames, split, sample=sample, pos=pos, stem=tmp / "figures" / "samples" / stem
            )
            feat += h.downloads((p.suffix[1:].upper(), f"../figures/samples/{p.name}") for p in files)
        except _SKIP as err:
            logger.info("report: static figure of %s not written: %s", sample, err)
    body.append(
        h.section(
            "features",
            "Every feature against the cohort",
            feat,
            howto="Each line is one measured feature (cell fractions, signature scores, purity …), ranked by its "
            "percentile in the cohort: <b>right of the dotted line</b> means higher than most samples, <b>left</b> "
            "lower. Colours are feature families; open circles and ⚠ mark flagged features.",
        )
    )
    body.append(insights_section(rep.adata, sample))
    body.append(h.section("methods", "Methods and versions", rep.methods_html))
    return h.page(
        title=f"{sample} — {rep.title}",
        body="\n".join(body),
        root="../",
        links=rep.pages,
        nav=nav,
        generated=rep.generated,
    )


def write_report(
    adata: AnnData,
    features: pd.DataFrame | None,
    outdir: str | Path,
    *,
    title: str = "tmescope TME report",
    static: bool = True,
) -> Path:
    """Write the HTML report of a TME profile: a cohort overview and one page per sample.

    The report only reads what the analyses stored; any part that is absent (no embedding, no fractions,
    no percentiles …) is left out with a note saying why. The folder is self-contained and works offline,
    opened from disk: plotly.js is written once to ``assets/`` and shared by every page.

    Parameters
    ----------
    adata
        Profile AnnData (samples in ``obs``) with results under the keys of :mod:`tmescope._keys`.
    features
        Tidy feature table (:data:`tmescope.io.FEATURE_COLUMNS`) of the same samples, or ``None``.
    outdir
        Report folder. It is written under a temporary name and renamed when complete, replacing an earlier
        report there; a non-empty folder that holds no report is refused.
    title
        Title of the cohort page.
    static
        Also write static figures for papers: PNG and SVG of each cohort figure in ``figures/`` and one SVG
        per sample in ``figures/samples/``.

    Returns
    -------
    Path of ``outdir/index.html``. Also writes ``outdir/samples/<sample>.html`` (file-name-safe sample IDs),
    ``outdir/assets/`` and, with ``static=True``, ``outdir/figures/``.

    Examples
    --------
    >>> import tempfile, anndata as ad
    >>> adata = ad.AnnData(obs=pd.DataFrame({"tme_subtype": ["IE", "D"]}, index=["p1", "p/2"]))
    >>> index = write_report(adata, None, Path(tempfile.mkdtemp()) / "report", static=False)
    >>> sorted(p.name for p in (index.parent / "samples").iterdir())[0]
    'p1.html'
    """
    from anndata import AnnData

    if not isinstance(adata, AnnData):
        msg = f"`adata` must be an AnnData (the profile); got {type(adata).__name__}."
        raise InputTypeError(msg)
    if features is not None and not isinstance(features, pd.DataFrame):
        msg = f"`features` must be a DataFrame (the tidy feature table) or None; got {type(features).__name__}."
        raise InputTypeError(msg)
    table = normalize_features(features) if features is not None and len(features.columns) else None
    if not adata.obs_names.is_unique:
        dup = adata.obs_names[adata.obs_names.duplicated()].unique()
        msg = f"Sample IDs must be unique; {len(dup)} are repeated (first: {', '.join(map(str, dup[:5]))})."
        raise InputError(msg)
    outdir = Path(outdir)
    _check_outdir(outdir)
    samples = [str(s) for s in adata.obs_names]
    try:
        labels: pd.Series | None = _data.subtypes(adata)
    except MissingKeyError:
        labels = None
    nearest: dict[str, pd.DataFrame] = {}
    info = adata.uns.get(_keys.UNS_SUBTYPE)
    near = _data.as_table(info.get("nearest")) if isinstance(info, dict) else None
    if near is not None and "sample" in near.columns:
        nearest = {str(k): g.sort_values("rank") if "rank" in g else g for k, g in near.groupby("sample", sort=False)}
    by_sample: dict[str, pd.DataFrame] = {}
    if table is not None:
        by_sample = {str(k): g for k, g in table.groupby("sample", sort=False)}
        unknown = set(by_sample) - set(samples)
        if unknown:
            logger.info("report: %d sample(s) of the feature table are not in adata and are left out", len(unknown))
    with atomic_dir(outdir) as tmp:
        rep = _Report(
            adata=adata,
            features=table,
            title=title,
            static=static,
            root=tmp,
            samples=samples,
            pages=_page_names(samples, tmp / "samples"),
            labels=labels,
            generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            by_sample=by_sample,
            nearest=nearest,
        )
        rep.methods_html = _methods(adata, table)
        try:
            rep.frames = _data.interval_frames(adata)
        except _SKIP as err:
            rep.frames_error = str(err)
        _write_assets(tmp)
        (tmp / "samples").mkdir()
        if static:
            (tmp / "figures" / "samples").mkdir(parents=True)
        (tmp / "index.html").write_text(_index_page(rep, tmp), encoding="utf-8")
        for pos, sample in enumerate(progress(samples, total=len(samples), desc="report pages")):
            html = _sample_page(rep, sample, pos, tmp)
            (tmp / "samples" / rep.pages[sample]).write_text(html, encoding="utf-8")
    return outdir / "index.html"
