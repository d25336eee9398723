"""Build the shipped ligand–receptor resource ``src/tmescope/data/crosstalk/lr_consensus.tsv``.

Input: LIANA's OmniPath-derived table ``omni_resource.csv`` (liana 1.10.0, BSD-3), read from
``../shared/reference/liana_omnipath_lr_resources``. Keeps the ``consensus`` rows, records for every pair the
original resources that list the same pair, and tags the curated TME channel groups of ``channels.tsv``.

Run from the project root: ``.venv/bin/python scripts/build_lr_resource.py``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "reference" / "liana_omnipath_lr_resources" / "omni_resource.csv"
OUT = ROOT / "src" / "tmescope" / "data" / "crosstalk"
EXPECTED_SHA256 = "b499b56ce084b7afde3462460e25b79c6abc047086833cd95ca42172d78e0b7c"

sys.path.insert(0, str(ROOT / "src"))
from tmescope.crosstalk._resource import annotate_channels, read_channels  # noqa: E402


def main() -> None:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    if digest != EXPECTED_SHA256:
        msg = f"{SOURCE} has sha256 {digest}, expected {EXPECTED_SHA256}"
        raise SystemExit(msg)
    raw = pd.read_csv(SOURCE, index_col=0)
    consensus = raw[raw["resource"] == "consensus"]
    others = (
        raw[~raw["resource"].isin(["consensus", "mouseconsensus"])]
        .groupby(["source_genesymbol", "target_genesymbol"])["resource"]
        .agg(lambda s: ";".join(sorted(set(s))))
        .rename("sources")
        .reset_index()
    )
    table = consensus.merge(others, how="left", on=["source_genesymbol", "target_genesymbol"])
    table["sources"] = table["sources"].fillna("omnipath_consensus")
    table = table.rename(
        columns={
            "source_genesymbol": "ligand",
            "target_genesymbol": "receptor",
            "source": "ligand_uniprot",
            "target": "receptor_uniprot",
        }
    )[["ligand", "receptor", "ligand_uniprot", "receptor_uniprot", "sources"]]
    table = table.drop_duplicates(["ligand", "receptor"]).sort_values(["ligand", "receptor"], kind="stable")
    table["channel"] = annotate_channels(table, read_channels(OUT / "channels.tsv"))
    table.to_csv(OUT / "lr_consensus.tsv", sep="\t", index=False)
    n_complex = int((table["ligand"].str.contains("_") | table["receptor"].str.contains("_")).sum())
    print(f"{len(table)} pairs ({n_complex} with a heteromeric complex); channels:")
    print(table["channel"].str.split(";").explode().value_counts().to_string())


if __name__ == "__main__":
    main()
