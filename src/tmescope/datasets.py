"""Datasets shipped with tmescope.

:func:`liu2019_melanoma` loads the bundled demo cohort: 121 metastatic melanomas treated with anti-PD-1
(Liu et al., Nat Med 2019), bulk RNA-seq as log2(TPM + 0.001) with response, RECIST, overall and
progression-free survival. Source, citation and terms: ``tmescope/data/demo/SOURCE.md``.
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import as_file, files
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope._keys import UNS_INPUT

if TYPE_CHECKING:
    from anndata import AnnData

__all__ = ["liu2019_melanoma"]

_DEMO = "data/demo"
_CITATION = (
    "Liu D, Schilling B, Liu D, et al. Integrative molecular and clinical modeling of clinical outcomes to PD1 "
    "blockade in patients with metastatic melanoma. Nat Med 2019;25:1916-1927. doi:10.1038/s41591-019-0654-5"
)


def _meta() -> dict[str, Any]:
    text = files("tmescope").joinpath(f"{_DEMO}/meta.json").read_text(encoding="utf-8")
    meta: dict[str, Any] = json.loads(text)
    return meta


def liu2019_melanoma() -> tuple[AnnData, pd.DataFrame]:
    """The bundled Liu et al. 2019 melanoma anti-PD-1 cohort: expression and clinical table.

    Returns
    -------
    tuple of anndata.AnnData and pandas.DataFrame
        Expression: 121 samples × 16,737 genes (approved HGNC symbols), ``X`` float32 log2(TPM + 0.001) rounded
        to 0.001, ``uns["tmescope_input"]`` filled as by :func:`tmescope.io.read_expression` (scale ``log2``,
        pseudocount 0.001) plus ``citation``. Clinical: :func:`tmescope.io.read_clinical` of the cohort's table,
        in the same sample order (response R/NR, RECIST, OS/PFS in months, timepoint, drug).

    Examples
    --------
    >>> adata, clinical = liu2019_melanoma()
    >>> adata.shape, clinical["response"].value_counts().to_dict()
    ((121, 16737), {'NR': 60, 'R': 52})
    """
    import anndata as ad
    import pyarrow.parquet as pq

    from tmescope.io._clinical import read_clinical

    meta = _meta()
    root = files("tmescope").joinpath(_DEMO)
    with as_file(root.joinpath("liu2019_expression.parquet")) as expr_path:
        table = pq.read_table(expr_path)
        digest = hashlib.sha256(expr_path.read_bytes()).hexdigest()
    genes = [str(g) for g in table.column("gene").to_pylist()]
    samples = [c for c in table.column_names if c != "gene"]
    q = np.column_stack([table.column(s).to_numpy() for s in samples]).T
    X = (q.astype(np.float32) / np.float32(1000.0)).astype(np.float32)
    adata = ad.AnnData(
        X=X,
        obs=pd.DataFrame(index=pd.Index(samples, dtype=object)),
        var=pd.DataFrame(index=pd.Index(genes, dtype=object)),
    )
    adata.uns[UNS_INPUT] = {
        "file": "tmescope/data/demo/liu2019_expression.parquet",
        "source": "liu2019_melanoma (bundled demo)",
        "sha256": digest,
        "format": "parquet",
        "orientation": "genes_x_samples",
        "orientation_evidence": "bundled dataset",
        "scale": "log2",
        "pseudocount": float(meta["pseudocount"]),
        "log_base": 2.0,
        "scale_evidence": "bundled dataset stored as log2(TPM + 0.001) (minimum -9.966 = log2(0.001))",
        "scale_source": "declared",
        "id_type": "symbol",
        "gene_mapping": meta["gene_mapping"],
        "fixes": [],
        "citation": _CITATION,
    }
    with as_file(root.joinpath("liu2019_clinical.tsv.gz")) as clin_path:
        clinical = read_clinical(clin_path)
    clinical.attrs["file"] = "tmescope/data/demo/liu2019_clinical.tsv.gz"
    clinical = clinical.set_index("sample_id", drop=False).loc[samples]
    clinical.index.name = "sample"
    return adata, clinical
