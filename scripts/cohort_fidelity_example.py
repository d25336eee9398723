"""Fidelity example for docs/cohort.md: real non-tumour and tumour profiles scored against the Liu 2019 cohort.

Usage: ``.venv/bin/python scripts/cohort_fidelity_example.py [PROFILES]`` after ``scripts/cohort_icb_profile.py``
(default ``/tmp/tmescope_icb``). "Models": 9 PBMC samples (Finotello 2019, a sample with immune cells only) and
4 melanoma lymph-node metastases (Racle 2017), both from ``../shared/reference``, plus 10 Liu 2019 tumours held out
of the patient set. Prints the mean fidelity and the deficits of each and writes ``docs/cohort_icb/fidelity.tsv``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

from tmescope.cohort import model_fidelity
from tmescope.io import read_expression, read_features
from tmescope.profile import profile

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"


def main(profiles: Path) -> None:
    """Profile the two small reference sets and score them."""
    parts = []
    for path in (
        REF / "kassandra" / "finotello2019_GSE107572_PBMC_expression_TPM.tsv",
        REF / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv",
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = read_expression(path)
            parts.append(profile(adata, seed=0, n_boot=20).features)
    liu = read_features(profiles / "liu2019")
    held = sorted(liu["sample"].unique())[:10]
    models = pd.concat([*parts, liu[liu["sample"].isin(held)]], ignore_index=True)
    patients = liu[~liu["sample"].isin(held)]
    res = model_fidelity(models, patients)
    kind = {s: "PBMC" for s in parts[0]["sample"].unique()}
    kind |= {s: "melanoma LN metastasis" for s in parts[1]["sample"].unique()}
    kind |= {s: "Liu 2019 tumour (held out)" for s in held}
    table = pd.DataFrame(
        {
            "kind": pd.Series(kind),
            "mean_fidelity": res.fidelity.mean(axis=1),
            "immune_percentile": res.compartments["immune_percentile"],
            "caf_percentile": res.compartments["caf_percentile"],
            "endothelial_percentile": res.compartments["endothelial_percentile"],
            "deficits": res.compartments["deficits"],
        }
    )
    out = ROOT / "docs" / "cohort_icb" / "fidelity.tsv"
    table.rename_axis("model").to_csv(out, sep="\t", float_format="%.3g")
    print(
        table.groupby("kind")[["mean_fidelity", "immune_percentile", "caf_percentile", "endothelial_percentile"]].mean()
    )
    print(table["deficits"].groupby(table["kind"]).value_counts())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/tmescope_icb"))
