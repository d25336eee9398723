"""Write the bad-input fixtures (one file per case of the bad-input corpus) into tests/data/io/bad_inputs/.

Every fixture is small and synthetic (gene symbols are real HGNC symbols, values are made up), except where a case
needs scale: the gzip bomb (78 KB that expands to 80 MB) and the h5ad declaring a 200,000 × 20,000 float32 matrix
in a few KB (HDF5 allocates chunks lazily, so nothing is stored). Run from the project root:
``.venv/bin/python scripts/build_bad_inputs.py``. The expected behaviour of each file is in the README there.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "io" / "bad_inputs"

GOOD = "gene\tS1\tS2\nCD8A\t12.5\t3.25\nPTPRC\t80.1\t40.2\nGZMB\t5.5\t0\n"


def write(name: str, content: str | bytes) -> None:
    path = OUT / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20190101)
    # 1: UTF-8 byte-order mark and CRLF line endings.
    write("01_bom_crlf.tsv", "\ufeff" + GOOD.replace("\n", "\r\n"))
    # 2: Excel "Unicode text" (UTF-16 LE with BOM) and UTF-16 without a BOM.
    write("02_utf16_bom.txt", GOOD.encode("utf-16"))
    write("02_utf16_nobom.txt", GOOD.encode("utf-16-le"))
    # 3: a Latin-1 byte (ü = 0xfc) in a clinical table.
    write(
        "03_latin1_clinical.tsv",
        "sample_id\tos_time\tos_event\tcentre\nP1\t12\t1\tBern\nP2\t30\t0\tM\xfcnchen\n".encode("latin-1"),
    )
    # 4: semicolon separator with decimal commas (European Excel CSV).
    write("04_semicolon_decimal_comma.csv", "gene;S1;S2\nCD8A;1,5;2,5\nPTPRC;80,1;40,2\nGZMB;5,5;0\n")
    # 5 and 6: a row one field short, a row one field extra.
    write("05_short_last_row.tsv", "gene\tS1\tS2\nCD8A\t12.5\t3.25\nPTPRC\t80.1\t40.2\nGZMB\t5.5\n")
    write("06_extra_field.tsv", "gene\tS1\tS2\nCD8A\t12.5\t3.25\nPTPRC\t80.1\t40.2\t7\nGZMB\t5.5\t0\n")
    # 7: gzip content under a plain .tsv name; a gzip bomb (78 KB -> 80 MB).
    write("07_gzip_named.tsv", gz(GOOD.encode()))
    bomb = GOOD.encode() + b"0" * (80 * 1024 * 1024 - len(GOOD))
    write("07_gzip_bomb.tsv.gz", gz(bomb))
    # 8: missing and non-finite cells.
    write(
        "08_missing_cells.tsv",
        "gene\tS1\tS2\tS3\nCD8A\tNA\t3.25\t1\nPTPRC\t#N/A\t40.2\t2\nGZMB\t-\tinf\t1e400\nPRF1\t1\t2\t3\n",
    )
    write(
        "08_missing_only.tsv",
        "gene\tS1\tS2\nCD8A\tNA\t3.25\nPTPRC\t#N/A\t40.2\nGZMB\t-\t0\nPRF1\t1\t2\nNKG7\t4\t9\n",
    )
    # 9: gene symbols that pandas would turn into NaN.
    write("09_genes_na_nan.tsv", "gene\tS1\tS2\nNA\t1.5\t2.5\nNaN\t3.5\t4.5\nCD8A\t12.5\t3.25\nPTPRC\t80.1\t40.2\n")
    # 12: versioned Ensembl IDs and a _PAR_Y twin.
    write(
        "12_ensembl_versioned.tsv",
        "gene_id\tS1\tS2\nENSG00000141510.19\t10\t20\nENSG00000002586.20\t5\t6\n"
        "ENSG00000002586.20_PAR_Y\t1\t2\nENSG00000153563.16\t30\t40\n",
    )
    # 17: mouse-style symbols.
    write("17_mouse_symbols.tsv", "gene\tS1\tS2\nCd8a\t1.5\t2.5\nPtprc\t3.5\t4.5\nGzmb\t5.5\t0\nActb\t100\t90\n")
    # 19: a tiny log2(TPM+1) table: too little evidence, conversion must be refused until declared.
    write("19_log2_small.tsv", "gene\tS1\tS2\nCD8A\t3.64\t2.02\nPTPRC\t6.34\t5.36\nGZMB\t2.71\t0\n")
    # 20: linear TPM of 15 markers with maximum 40 (right-skewed, as linear values are).
    markers = ["CD8A", "CD8B", "CD3E", "CD4", "GZMA", "PRF1", "MS4A1", "CD19", "NKG7", "CD68", "CD14", "FOXP3"]
    markers += ["PTPRC", "CD2", "CD247"]
    lin = rng.lognormal(mean=0.5, sigma=1.3, size=(len(markers), 6))
    lin = np.round(lin / lin.max() * 40, 3)
    write("20_linear_max40.tsv", _table(markers, [f"S{i + 1}" for i in range(6)], lin))
    # 21: z-scores.
    z = np.round(rng.standard_normal((len(markers), 6)), 4)
    z = np.round((z - z.mean(axis=1, keepdims=True)) / z.std(axis=1, keepdims=True), 4)
    write("21_zscores.tsv", _table(markers, [f"S{i + 1}" for i in range(6)], z))
    # 22: a few -0.01 values (batch-corrected TPM).
    neg = np.round(rng.lognormal(2.0, 1.5, size=(len(markers), 6)), 3)
    neg[0, 1] = neg[3, 4] = neg[7, 0] = -0.01
    write("22_few_negatives.tsv", _table(markers, [f"S{i + 1}" for i in range(6)], neg))
    # 23: raw counts.
    counts = rng.poisson(rng.lognormal(5.0, 1.5, size=(len(markers), 1)), size=(len(markers), 4))
    write("23_raw_counts.tsv", _table(markers, [f"S{i + 1}" for i in range(4)], counts.astype(float), fmt="{:.0f}"))
    # 24: ln(TPM + 0.001) and log10(TPM + 0.001) (zeros at ln(0.001) = -6.9078, log10(0.001) = -3).
    tpm = np.round(rng.lognormal(1.0, 2.0, size=(len(markers), 4)), 3)
    tpm[rng.random(tpm.shape) < 0.2] = 0.0
    tpm[0, 0] = tpm[1, 1] = 0.0
    write("24_ln.tsv", _table(markers, [f"S{i + 1}" for i in range(4)], np.log(tpm + 0.001), fmt="{:.4f}"))
    write("24_log10.tsv", _table(markers, [f"S{i + 1}" for i in range(4)], np.log10(tpm + 0.001), fmt="{:.4f}"))
    # 25: samples × genes.
    write("25_transposed.tsv", "sample\tCD8A\tPTPRC\tGZMB\nS1\t12.5\t80.1\t5.5\nS2\t3.25\t40.2\t0\n")
    # 26: empty, header only, one gene, one sample.
    write("26_empty.tsv", b"")
    write("26_header_only.tsv", "gene\tS1\tS2\n")
    write("26_one_gene.tsv", "gene\tS1\tS2\nCD8A\t12.5\t3.25\n")
    write("26_one_sample.tsv", "gene\tS1\nCD8A\t12.5\nPTPRC\t80.1\nGZMB\t5.5\n")
    # 27: an all-zero sample and a constant sample.
    write("27_constant_sample.tsv", "gene\tS1\tS2\tS3\nCD8A\t12.5\t0\t7\nPTPRC\t80.1\t0\t7\nGZMB\t5.5\t0\t7\n")
    # 28: duplicated sample names.
    write("28_duplicate_samples.tsv", "gene\tS1\tS1\nCD8A\t12.5\t3.25\nPTPRC\t80.1\t40.2\nGZMB\t5.5\t0\n")
    # 29: a truncated h5ad, an empty h5ad, a TSV renamed .h5ad.
    _write_h5ad(OUT / "29_full.h5ad.tmp")
    full = (OUT / "29_full.h5ad.tmp").read_bytes()
    (OUT / "29_full.h5ad.tmp").unlink()
    write("29_truncated.h5ad", full[: len(full) // 2])
    write("29_empty.h5ad", b"")
    write("29_tsv_renamed.h5ad", GOOD)
    # 30: an h5ad whose X declares 200,000 × 20,000 float32 (16 GB) but stores nothing.
    _write_huge_h5ad(OUT / "30_huge_shape.h5ad")
    # 31: duplicated obs names; duplicated var names.
    _write_h5ad(OUT / "31_duplicate_obs.h5ad", obs=["S1", "S1"])
    _write_h5ad(OUT / "31_duplicate_var.h5ad", var=["CD8A", "CD8A", "PTPRC"])
    # 32: pickle-based files.
    payload = pickle.dumps({"CD8A": [1.0, 2.0]}, protocol=4)
    write("32_table.pkl", payload)
    write("32_model.joblib", payload)
    write("32_pickle_named.tsv", payload)
    npy = OUT / "32_objects.npy"
    with npy.open("wb") as fh:
        np.lib.format.write_array(fh, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    # 33: TCGA-style IDs in three spellings.
    write(
        "33_tcga_expression.tsv",
        "gene\tTCGA-AB-0001-01A\tTCGA-AB-0002-01A\tTCGA-AB-0003-01A\tTCGA-AB-0009-01A\n"
        "CD8A\t1\t2\t3\t4\nPTPRC\t50\t60\t70\t80\nGZMB\t5\t6\t7\t8\n",
    )
    write(
        "33_tcga_clinical.tsv",
        "patient\tos_time\tos_event\nTCGA.AB.0001\t10\t1\ntcga.ab.0002\t20\t0\nTCGA-AB-0003\t30\t1\nTCGA-AB-0004\t40\t0\n",
    )
    # 34: clinical contradictions and impossible values.
    write(
        "34_duplicate_patient.tsv",
        "sample_id\tpatient_id\tos_time\tos_event\nA1\tP1\t12\t1\nA2\tP1\t15\t1\nB1\tP2\t20\t0\n",
    )
    write("34_negative_os.tsv", "sample_id\tos_time\tos_event\nP1\t12\t1\nP2\t-3\t0\nP3\t7\t1\n")
    write("34_blank_os.tsv", "sample_id\tos_time\tos_event\nP1\t12\t1\nP2\t\t1\nP3\t7\t0\n")
    write("34_mixed_events.tsv", "sample_id\tos_time\tos_event\nP1\t12\tYes\nP2\t5\t1\nP3\t7\tdead\nP4\t9\t0\n")
    # 35: sample IDs that are unsafe as file names.
    write("35_unsafe_ids.tsv", "gene\t../x\ta/b\tCON\nCD8A\t1\t2\t3\nPTPRC\t50\t60\t70\nGZMB\t5\t6\t7\n")
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT}")


def _table(genes: list[str], samples: list[str], values: np.ndarray, fmt: str = "{:g}") -> str:
    lines = ["gene\t" + "\t".join(samples)]
    lines += [g + "\t" + "\t".join(fmt.format(v) for v in row) for g, row in zip(genes, values, strict=True)]
    return "\n".join(lines) + "\n"


def _write_h5ad(path: Path, *, obs: list[str] | None = None, var: list[str] | None = None) -> None:
    import anndata as ad
    import pandas as pd

    obs = obs or ["S1", "S2"]
    var = var or ["CD8A", "PTPRC", "GZMB"]
    x = np.arange(len(obs) * len(var), dtype=np.float32).reshape(len(obs), len(var)) + 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ad.AnnData(x, obs=pd.DataFrame(index=obs), var=pd.DataFrame(index=var))
        a.write_h5ad(path)


def _write_huge_h5ad(path: Path) -> None:
    _write_h5ad(path)
    with h5py.File(path, "r+") as f:
        del f["X"]
        f.create_dataset("X", shape=(200_000, 20_000), dtype="float32", chunks=(1000, 1000))
        f["X"].attrs["encoding-type"] = "array"
        f["X"].attrs["encoding-version"] = "0.2.0"


if __name__ == "__main__":
    main()
