"""`tmescope insights`: evaluate the knowledge base on a profile folder and write the results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tmescope._errors import InputError
from tmescope._provenance import Provenance, atomic_path, collect
from tmescope._settings import settings

if TYPE_CHECKING:
    import os


def run_insights(
    profile_dir: str | os.PathLike[str],
    outdir: str | os.PathLike[str],
    *,
    rules: list[str | os.PathLike[str]] | None = None,
    builtin: bool = True,
    report: bool = False,
) -> Path:
    """Evaluate the insights knowledge base on the feature table of a profile folder.

    Writes into ``outdir``: ``features.parquet``/``features.tsv`` (the ``insight.*`` rows), ``insights.tsv``
    (one row per sample and rule: state, the evidence that decided it, citations), ``insight_clauses.tsv`` (every
    clause with the feature value, interval, percentile and threshold), ``rules.tsv`` (the rules used) and
    ``provenance.json``; with ``report=True`` also ``report/`` (the profile's HTML report with the insights
    section, which needs ``profile.h5ad`` in ``profile_dir``). Every file is written atomically.

    Parameters
    ----------
    profile_dir
        Output folder of ``tmescope profile`` (or any folder with a ``features.parquet``), or the table itself.
    outdir
        Output folder (created if needed); must differ from ``profile_dir``.
    rules
        Extra JSON rules files, added to the built-in knowledge base.
    builtin
        Include the built-in knowledge base.
    report
        Also write the HTML report.

    Returns
    -------
    The output folder.
    """
    from tmescope.insights._evaluate import add_insights, evaluate_insights
    from tmescope.insights._rules import load_rules
    from tmescope.io import read_features, write_features

    src = Path(profile_dir)
    outdir = Path(outdir)
    table_path = src / "features.parquet" if src.is_dir() else src
    if outdir.resolve() == (src.resolve() if src.is_dir() else src.resolve().parent):
        msg = f"Output folder {outdir} is the profile folder; choose another folder so the profile is not overwritten."
        raise InputError(msg)
    prov = Provenance(
        "insights",
        params={"rules": [str(r) for r in rules or []], "builtin": builtin, "report": report},
        seed=settings.seed,
    )
    with collect(prov):
        kb = load_rules(rules, builtin=builtin)
        prov.add_resource("knowledge_base", {"name": kb.name, "version": kb.version, "n_rules": len(kb)})
        for r in rules or []:
            prov.add_input(r, role="rules")
        features = read_features(table_path)
        prov.add_input(table_path, role="features")
        res = evaluate_insights(features, rules=kb)
        outdir.mkdir(parents=True, exist_ok=True)
        write_features(res.features, outdir)
        for name, frame in (
            ("insights.tsv", res.evaluations),
            ("insight_clauses.tsv", res.clauses),
            ("rules.tsv", kb.to_frame()),
        ):
            with atomic_path(outdir / name) as tmp:
                frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        if report:
            h5 = src / "profile.h5ad" if src.is_dir() else src.parent / "profile.h5ad"
            if not h5.exists():
                msg = (
                    f"No profile.h5ad next to {table_path}; the report needs the profile folder of `tmescope profile`."
                )
                raise InputError(msg)
            import anndata as ad

            from tmescope.report import write_report

            adata = ad.read_h5ad(h5)
            prov.add_input(h5, role="profile")
            full = add_insights(adata, features=features, rules=kb)
            write_report(adata, full, outdir / "report", title=f"TME profile of {src.name} with insights", static=False)
    prov.write(outdir)
    return outdir
