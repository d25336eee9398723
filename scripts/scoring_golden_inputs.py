"""Write the inputs of the GSVA golden files (tests/data/scoring/), then run scripts/gsva_golden.R on them.

1. ``ties_input.tsv``: 40 samples x 1,000 genes of seeded gamma noise rounded to one decimal, so many values tie
   (the hard case for rank-based scores), genes in rows as R expects.
2. ``ties_sets.gmt``: 25 random sets of 5-150 genes, a few with genes absent from the matrix.
3. ``library_sets.gmt``: every built-in tmescope set with at least one gene in the Racle et al. 2017
   melanoma TPM matrix (../shared/reference/epic), exported from the library at the version in README.md.

Run:  .venv/bin/python scripts/scoring_golden_inputs.py && Rscript scripts/gsva_golden.R
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tmescope import signatures

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "scoring"
RACLE = ROOT.parent / "shared" / "reference" / "epic" / "racle2017_melanoma_LN_expression_TPM.tsv"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261127)
    n_obs, n_genes = 40, 1000
    genes = [f"G{i:04d}" for i in range(n_genes)]
    X = rng.gamma(0.8, 2.0, size=(n_obs, n_genes)).round(1)
    pd.DataFrame(X.T, index=pd.Index(genes, name="gene"), columns=[f"S{i:02d}" for i in range(n_obs)]).to_csv(
        OUT / "ties_input.tsv", sep="\t", float_format="%.1f"
    )
    lines = []
    for j in range(25):
        size = int(rng.integers(5, 151))
        members = [genes[k] for k in rng.choice(n_genes, size=size, replace=False)]
        if j % 5 == 0:
            members += [f"ABSENT{j}_{k}" for k in range(3)]
        lines.append("\t".join([f"set{j:02d}", "random", *members]))
    (OUT / "ties_sets.gmt").write_text("\n".join(lines) + "\n")

    racle_genes = set(pd.read_csv(RACLE, sep="\t", index_col=0, usecols=[0]).index)
    keep = {n: s for n, s in signatures.get_sets().items() if any(g in racle_genes for g in s.genes)}
    signatures.write_gmt(keep, OUT / "library_sets.gmt")
    print(f"wrote {len(keep)} library sets, library {signatures.LIBRARY_VERSION}")


if __name__ == "__main__":
    main()
