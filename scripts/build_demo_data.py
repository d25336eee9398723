"""Build the bundled demo cohort (Liu et al. 2019, melanoma, anti-PD-1) into src/tmescope/data/demo/.

Reads ../shared/reference/icb_liu2019_melanoma_pd1/{expression_log2tpm.tsv.gz, clinical.tsv} and writes:

- ``liu2019_expression.parquet``: genes (approved HGNC symbols, harmonised by tmescope.io.read_expression) ×
  121 samples; values log2(TPM + 0.001) stored as int16 thousandths (x * 1000, rounded; max error 0.0005
  on the log2 scale), zstd-compressed;
- ``liu2019_clinical.tsv.gz``: the clinical table unchanged (gzip, mtime 0 for reproducible bytes);
- ``meta.json``: scale, pseudocount, quantisation, source file sha256, gene-mapping summary, file sha256.

Run from the project root: ``.venv/bin/python scripts/build_demo_data.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tmescope.io import read_expression

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared" / "reference" / "icb_liu2019_melanoma_pd1"
OUT = ROOT / "src" / "tmescope" / "data" / "demo"
SCALE_FACTOR = 1000


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expr_src = SRC / "expression_log2tpm.tsv.gz"
    clin_src = SRC / "clinical.tsv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adata = read_expression(expr_src)
    info = adata.uns["tmescope_input"]
    if (info["scale"], info["pseudocount"]) != ("log2", 0.001):
        msg = f"unexpected scale: {info['scale_evidence']}"
        raise SystemExit(msg)
    x = np.asarray(adata.X, dtype=np.float64)
    q = np.round(x * SCALE_FACTOR)
    if q.min() < np.iinfo(np.int16).min or q.max() > np.iinfo(np.int16).max:
        msg = "values do not fit int16"
        raise SystemExit(msg)
    q16 = q.astype(np.int16)
    err = float(np.abs(q16 / SCALE_FACTOR - x).max())
    assert err <= 0.5 / SCALE_FACTOR + 1e-6, err

    table = pa.table(
        {"gene": pa.array([str(g) for g in adata.var_names], pa.string())}
        | {str(s): pa.array(q16[i], pa.int16()) for i, s in enumerate(adata.obs_names)}
    )
    expr_out = OUT / "liu2019_expression.parquet"
    pq.write_table(table, expr_out, compression="zstd", compression_level=19)

    clin_out = OUT / "liu2019_clinical.tsv.gz"
    with clin_out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as fh:
        fh.write(clin_src.read_bytes())
    clinical = pd.read_csv(clin_src, sep="\t", dtype=str)
    assert list(clinical["sample_id"]) == list(adata.obs_names)

    meta = {
        "dataset": "liu2019_melanoma",
        "scale": "log2",
        "pseudocount": 0.001,
        "stored_as": f"int16, value = round(log2(TPM + 0.001) * {SCALE_FACTOR})",
        "max_quantisation_error": round(err, 6),
        "n_samples": int(adata.n_obs),
        "n_genes": int(adata.n_vars),
        "source_files": {p.name: sha256(p) for p in (expr_src, clin_src)},
        "gene_mapping": {k: v for k, v in info["gene_mapping"].items() if k in ("id_type", "n_query", "counts")},
        "harmonisation_warnings": [str(w.message).replace(f"{SRC}/", "")[:300] for w in caught],
        "files": {p.name: sha256(p) for p in (expr_out, clin_out)},
    }
    (OUT / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {expr_out} ({expr_out.stat().st_size:,} bytes), {clin_out} ({clin_out.stat().st_size:,} bytes)")
    print(f"{adata.n_obs} samples x {adata.n_vars} genes, max quantisation error {err:.6f}")


if __name__ == "__main__":
    main()
