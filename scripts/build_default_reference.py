"""Build the shipped default reference cohort from the bundled Liu et al. 2019 melanoma cohort.

Usage: .venv/bin/python scripts/build_default_reference.py
Writes src/tmescope/data/reference_default/reference.parquet (SOURCE.md beside it describes it).
Re-run whenever the signature library or gene tables change version (load_reference refuses a stale file).
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

from tmescope.datasets import liu2019_melanoma
from tmescope.profile import build_reference

OUT = Path(__file__).resolve().parents[1] / "src" / "tmescope" / "data" / "reference_default" / "reference.parquet"


def main() -> None:
    adata, clinical = liu2019_melanoma()
    clinical = clinical.set_index("sample_id", drop=False).loc[adata.obs_names]
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = build_reference(
            adata,
            name="liu2019_melanoma_n121",
            clinical=clinical,
            description=(
                "121 metastatic melanomas before or on immune-checkpoint blockade (anti-PD-1, some after "
                "ipilimumab), bulk RNA-seq; Liu et al., Nat Med 2019;25:1916-1927. De novo TME subtypes "
                "(Bagaev 2021 method, seed 0)."
            ),
            tumour_type="metastatic melanoma",
            seed=0,
            n_boot=100,
            source_sha256=adata.uns["tmescope_input"]["sha256"],
        )
    for w in caught:
        print(f"warning: {w.message}")
    ref.save(OUT)
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"{ref.describe()}")
    print(f"subtypes: {ref.metadata['subtype_counts']}")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, sha256 {digest}) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
