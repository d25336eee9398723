"""The body of ``tmescope demo``: one function, extended as analyses are added."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tmescope._provenance import Provenance, atomic_path, collect

if TYPE_CHECKING:
    import os


def run_demo(outdir: str | os.PathLike[str]) -> list[Path]:
    """Load the bundled Liu et al. 2019 cohort, profile it (:func:`tmescope.profile.write_profile`) and write the report.

    Parameters
    ----------
    outdir
        Output folder (created if needed).

    Returns
    -------
    list of pathlib.Path
        The files written: the profile outputs (``profile.h5ad``, ``features.parquet``, ``features.tsv``,
        ``report/index.html``), the cohort analysis (``cohort/``: association tables and
        ``cohort/report/index.html``, see :func:`tmescope.cohort.write_cohort`), ``inspection.json``,
        ``clinical_summary.json`` and ``provenance.json``.
    """
    from tmescope._settings import settings
    from tmescope.datasets import liu2019_melanoma
    from tmescope.genes import snapshot
    from tmescope.io._inspect import summarize

    out = Path(outdir)
    prov = Provenance("demo", params={"dataset": "liu2019_melanoma"}, seed=settings.seed)
    with collect(prov):
        adata, clinical = liu2019_melanoma()
        prov.inputs.append(
            {
                "role": "expression",
                "path": adata.uns["tmescope_input"]["file"],
                "sha256": adata.uns["tmescope_input"]["sha256"],
            }
        )
        prov.add_resource("genes", snapshot())
        summary = summarize(adata)
        clinical_summary = {
            "n_samples": len(clinical),
            "response": clinical["response"].value_counts(dropna=False).rename(str).to_dict(),
            "recist": clinical["recist"].value_counts(dropna=False).rename(str).to_dict(),
            "os_events": int(clinical["os_event"].sum()),
            "pfs_events": int(clinical["pfs_event"].sum()),
            "timepoint": clinical["timepoint"].value_counts(dropna=False).rename(str).to_dict(),
            "columns_used": clinical.attrs.get("columns_used", {}),
        }
        # The main job: profile every sample against the shipped reference and write the HTML report.
        from tmescope.profile import write_profile

        profiled = write_profile(
            adata, out, clinical=clinical, title="TME profiles: Liu et al. 2019 melanoma, anti-PD-1 (n = 121)"
        )
        # Cohort analysis of the same profile against the outcomes: association tables, forest plots, Kaplan–Meier
        # and ROC curves, the cross-validated response model (cohort/report/index.html).
        from tmescope.cohort import analyze_cohort, write_cohort
        from tmescope.io import read_features

        cohort_result = analyze_cohort(read_features(out), clinical=clinical, predict=True, seed=settings.seed)
        cohort_files = write_cohort(
            cohort_result, out / "cohort", title="Cohort analysis: Liu et al. 2019 melanoma, anti-PD-1 (n = 121)"
        )
    written = list(profiled) + cohort_files
    for name, content in (("inspection.json", summary), ("clinical_summary.json", clinical_summary)):
        path = out / name
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(content, indent=2, default=str) + "\n", encoding="utf-8")
        written.append(path)
    written.append(prov.write(out))
    return written
