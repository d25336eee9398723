"""Write tests/data/cohort/liu2019_features_subset.tsv: a few profile features of the bundled Liu 2019 cohort.

Usage: ``.venv/bin/python scripts/cohort_test_data.py``. Profiles :func:`tmescope.datasets.liu2019_melanoma`
against the shipped reference (seed 0, 20 bootstrap replicates) and keeps the features listed below, so that the
cohort tests run on real values without profiling.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from tmescope.datasets import liu2019_melanoma
from tmescope.profile import profile

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "cohort" / "liu2019_features_subset.tsv"
KEEP = (
    "immunotherapy.cyt_rooney2015",
    "immunotherapy.gep_18gene_ayers2017",
    "immunotherapy.ifng_6gene_ayers2017",
    "immunotherapy.pan_f_tbrs_mariathasan2018",
    "tme_signature.emt_signature",
    "tme_signature.caf",
    "composition.cd8_t",
    "estimate.purity",
    "estimate.immune_score",
    "subtype.label",
    "immune_phenotype.label",
)


def main() -> None:
    """Profile and subset."""
    adata, clinical = liu2019_melanoma()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = profile(adata, clinical=clinical, seed=0, n_boot=20)
    sub = res.features[res.features["feature"].isin(KEEP)]
    sub.to_csv(OUT, sep="\t", index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
