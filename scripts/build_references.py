"""Build the shipped composition references in ``src/tmescope/data/references/`` from ``../shared/reference``.

Only material that may be redistributed is copied (see SOURCE.md there):

- quanTIseq TIL10 signature, mRNA scaling and gene lists (BSD-3, notice kept);
- SpatialDecon safeTME profile matrix (MIT, notice kept), put on a TPM-like scale (factor below);
- MCP-counter marker genes (CC0);
- ESTIMATE gene sets and gene universe (gene symbols only: facts, cited).

Run from the project root: ``.venv/bin/python scripts/build_references.py``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
OUT = ROOT / "src" / "tmescope" / "data" / "references"

#: Canonical tmescope names of the shipped references' cell types.
TIL10_NAMES = {
    "B.cells": "b_cell",
    "Macrophages.M1": "macrophage_m1",
    "Macrophages.M2": "macrophage_m2",
    "Monocytes": "monocyte",
    "Neutrophils": "neutrophil",
    "NK.cells": "nk",
    "T.cells.CD4": "cd4_t",
    "T.cells.CD8": "cd8_t",
    "Tregs": "treg",
    "Dendritic.cells": "dendritic_cell",
}
SAFETME_NAMES = {
    "macrophages": "macrophage",
    "mast": "mast",
    "B.naive": "b_naive",
    "B.memory": "b_memory",
    "plasma": "plasma",
    "T.CD4.naive": "cd4_t_naive",
    "T.CD4.memory": "cd4_t_memory",
    "T.CD8.naive": "cd8_t_naive",
    "T.CD8.memory": "cd8_t_memory",
    "NK": "nk",
    "pDCs": "pdc",
    "mDCs": "mdc",
    "monocytes.C": "monocyte_classical",
    "monocytes.NC.I": "monocyte_nonclassical",
    "neutrophils": "neutrophil",
    "Treg": "treg",
    "endothelial.cells": "endothelial",
    "fibroblasts": "fibroblast",
}

# safeTME fine types -> TIL10 types whose mRNA content they take (others get the TIL10 median).
SAFETME_TO_TIL10 = {
    "macrophages": ["Macrophages.M1", "Macrophages.M2"],
    "B.naive": ["B.cells"],
    "B.memory": ["B.cells"],
    "T.CD4.naive": ["T.cells.CD4"],
    "T.CD4.memory": ["T.cells.CD4"],
    "T.CD8.naive": ["T.cells.CD8"],
    "T.CD8.memory": ["T.cells.CD8"],
    "NK": ["NK.cells"],
    "pDCs": ["Dendritic.cells"],
    "mDCs": ["Dendritic.cells"],
    "monocytes.C": ["Monocytes"],
    "monocytes.NC.I": ["Monocytes"],
    "neutrophils": ["Neutrophils"],
    "Treg": ["Tregs"],
}


def approved(symbols: list[str]) -> list[str]:
    """Approved HGNC symbol of each symbol (the symbol itself when it maps to none), as the readers rename input."""
    import warnings

    from tmescope.genes import harmonize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapping = harmonize(symbols, id_type="symbol", source="reference")
    return [a if a else s for s, a in zip(symbols, mapping.symbol, strict=True)]


def to_approved_index(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    new = approved(list(frame.index))
    # An approved symbol already in the matrix wins over another row renamed to it (that row is dropped).
    clash = [o for o, n in zip(frame.index, new, strict=True) if o != n and n in frame.index]
    if clash:
        print(f"{what}: dropped {clash}: renamed to a symbol the matrix already has")
        keep = ~frame.index.isin(clash)
        frame = frame.loc[keep]
        new = [n for n, k in zip(new, keep, strict=True) if k]
    renamed = {o: n for o, n in zip(frame.index, new, strict=True) if o != n}
    out = frame.copy()
    out.index = pd.Index(new, name=frame.index.name)
    if not out.index.is_unique:
        msg = f"{what}: renaming to approved symbols made duplicates"
        raise SystemExit(msg)
    print(f"{what}: {len(renamed)} gene(s) renamed to approved HGNC symbols: {renamed}")
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    # --- TIL10 (quanTIseq) -------------------------------------------------------------------------
    til = pd.read_csv(REF / "quantiseq" / "TIL10_signature.txt", sep="\t", index_col=0)
    til.index.name = "gene"
    til = to_approved_index(til, "TIL10")
    til.rename(columns=TIL10_NAMES).to_csv(OUT / "til10_signature.tsv", sep="\t", float_format="%.10g")
    scaling = pd.read_csv(REF / "quantiseq" / "TIL10_mRNA_scaling.txt", sep="\t", header=None, index_col=0).iloc[:, 0]
    scaling.index.name = "cell_type"
    scaling.name = "mrna_content"
    scaling.rename(index=TIL10_NAMES).to_csv(OUT / "til10_mrna_content.tsv", sep="\t", float_format="%.10g")
    for name, dest in [
        ("TIL10_rmgenes.txt", "til10_rnaseq_noisy_genes.txt"),
        ("TIL10_TCGA_aberrant_immune_genes.txt", "til10_tumour_aberrant_genes.txt"),
    ]:
        genes = approved([g.strip() for g in (REF / "quantiseq" / name).read_text().split() if g.strip()])
        (OUT / dest).write_text("\n".join(genes) + "\n")
    shutil.copyfile(REF / "quantiseq" / "LICENSE.txt", OUT / "LICENSE_quanTIseq_TIL10.txt")

    # --- safeTME (SpatialDecon) --------------------------------------------------------------------
    safe = pd.read_csv(REF / "spatialdecon_safetme_geomx_nsclc" / "safeTME_profile_matrix.csv", index_col=0)
    safe.index.name = "gene"
    safe = to_approved_index(safe, "safeTME")
    # Put safeTME on TIL10's TPM-like scale: one global factor, the median TIL10/safeTME ratio over the genes
    # and matched cell types both matrices share where both values are positive.
    ratios = []
    for fine, til_types in SAFETME_TO_TIL10.items():
        if fine in {"pDCs", "macrophages"}:
            continue
        common = safe.index.intersection(til.index)
        a = til.loc[common, til_types].mean(axis=1).to_numpy()
        b = safe.loc[common, fine].to_numpy()
        ok = (a > 1) & (b > 0)
        ratios.extend(np.log(a[ok] / b[ok]).tolist())
    factor = float(np.exp(np.median(ratios)))
    (safe * factor).rename(columns=SAFETME_NAMES).to_csv(OUT / "safetme_signature.tsv", sep="\t", float_format="%.10g")
    median_content = float(scaling.median())
    content = pd.Series(
        {
            ct: float(scaling[SAFETME_TO_TIL10[ct]].mean()) if ct in SAFETME_TO_TIL10 else median_content
            for ct in safe.columns
        },
        name="mrna_content",
    )
    content.index.name = "cell_type"
    content.rename(index=SAFETME_NAMES).to_csv(OUT / "safetme_mrna_content.tsv", sep="\t", float_format="%.10g")
    groups = json.loads((REF / "spatialdecon_safetme_geomx_nsclc" / "safeTME_matches.json").read_text())
    groups = {k: [SAFETME_NAMES[v] for v in vs] for k, vs in groups.items()}
    (OUT / "safetme_groups.json").write_text(json.dumps(groups, indent=1) + "\n")
    (OUT / "LICENSE_safeTME_MIT.txt").write_text(
        "MIT License\n\nCopyright (c) 2021 NanoString Technologies\n\n"
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated "
        'documentation files (the "Software"), to deal in the Software without restriction, including without '
        "limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of "
        "the Software, and to permit persons to whom the Software is furnished to do so, subject to the following "
        "conditions:\n\nThe above copyright notice and this permission notice shall be included in all copies or "
        'substantial portions of the Software.\n\nTHE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, '
        "EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A "
        "PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY "
        "CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF "
        "OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n"
    )

    # --- MCP-counter markers (CC0) -----------------------------------------------------------------
    mcp = pd.read_csv(REF / "mcpcounter" / "genes.txt", sep="\t")
    mcp = mcp.rename(columns={"HUGO symbols": "gene", "Cell population": "population"})[["gene", "population"]]
    mcp["original_symbol"] = mcp["gene"]
    mcp["gene"] = approved(list(mcp["gene"]))
    mcp.to_csv(OUT / "mcpcounter_markers.tsv", sep="\t", index=False)
    shutil.copyfile(REF / "mcpcounter" / "Signatures_License.txt", OUT / "LICENSE_MCPcounter_CC0.txt")

    # --- ESTIMATE gene sets and universe (symbols only) --------------------------------------------
    lines = (REF / "signatures" / "estimate_yoshihara2013.gmt").read_text().splitlines()
    sets = {}
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        sets[parts[0]] = [g for g in parts[2:] if g]
    with (OUT / "estimate_gene_sets.tsv").open("w") as fh:
        fh.write("set\tgene\n")
        for name, key in [("stromal", "ESTIMATE_STROMAL"), ("immune", "ESTIMATE_IMMUNE")]:
            for g in sets[key]:
                fh.write(f"{name}\t{g}\n")
    # ESTIMATE's 2013 symbols (the walk order of filterCommonGenes is by these) and today's approved symbols,
    # so that data harmonised to current symbols and data with the 2013 symbols both match.
    universe = sorted(
        pd.read_csv(REF / "immunedeconv" / "estimate_common_genes.tsv", sep="\t")["GeneSymbol"].astype(str)
    )
    pd.DataFrame({"symbol_2013": universe, "approved": approved(universe)}).to_csv(
        OUT / "estimate_universe.tsv", sep="\t", index=False
    )

    manifest = {p.name: sha(p) for p in sorted(OUT.iterdir()) if p.is_file() and p.name != "MANIFEST.json"}
    manifest["_safetme_scale_factor"] = f"{factor:.6g}"  # type: ignore[assignment]
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {OUT}; safeTME scale factor {factor:.4g}")


if __name__ == "__main__":
    main()
