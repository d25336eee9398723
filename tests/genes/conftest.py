"""Fixtures for the gene-identifier tests: truth tables from ../shared/reference/hgnc and the bad-input cases 9-17."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd
import pytest

if TYPE_CHECKING:
    from pathlib import Path


def _read(path: Path) -> pd.DataFrame:
    # Real identifiers include NA and NaN: never let pandas parse them as missing.
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)


@pytest.fixture(scope="session")
def hgnc_dir(reference_dir: Path) -> Path:
    path = reference_dir / "hgnc"
    if not (path / "hgnc_lookup.tsv").is_file():
        pytest.skip("reference/hgnc is not present")
    return path


@pytest.fixture(scope="session")
def hgnc_genes(hgnc_dir: Path) -> pd.DataFrame:
    return _read(hgnc_dir / "hgnc_genes.tsv")


@pytest.fixture(scope="session")
def hgnc_lookup(hgnc_dir: Path) -> pd.DataFrame:
    return _read(hgnc_dir / "hgnc_lookup.tsv")


@pytest.fixture(scope="session")
def excel_candidates(hgnc_dir: Path) -> pd.DataFrame:
    return _read(hgnc_dir / "excel_date_candidates.tsv")


@pytest.fixture(scope="session")
def gencode48(hgnc_dir: Path) -> pd.DataFrame:
    return _read(hgnc_dir / "gencode48_genes.tsv")


def truth_target(lookup: pd.DataFrame, query: str, kind: str | None = None) -> set[str]:
    """Approved symbols a query reaches in the shared HGNC lookup (optionally of one kind)."""
    rows = lookup[lookup["query"] == query]
    if kind is not None:
        rows = rows[rows["kind"] == kind]
    return set(rows["approved_symbol"])


def make_adata(var_names: list[str], x: np.ndarray | None = None, *, obs_names: list[str] | None = None) -> ad.AnnData:
    """Samples x genes AnnData; duplicated var names allowed (anndata's uniqueness warning is silenced)."""
    n_vars = len(var_names)
    if x is None:
        x = np.arange(2 * n_vars, dtype=np.float64).reshape(2, n_vars) + 1.0
    obs = pd.DataFrame(index=obs_names or [f"S{i + 1}" for i in range(x.shape[0])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ad.AnnData(x, obs=obs, var=pd.DataFrame(index=pd.Index(var_names, dtype=object)))


# --- bad-input corpus, cases 9-17 (3 genes x 2 samples unless the case needs more) -------------------


@pytest.fixture
def case09_na_nan() -> ad.AnnData:
    """#9: gene rows ``NA`` (withdrawn, now XK) and ``NaN`` (alias of SCN11A), read as text."""
    return make_adata(["NA", "NaN", "CD8A"])


@pytest.fixture
def case10_duplicate() -> ad.AnnData:
    """#10: CD8A twice with different values."""
    x = np.array([[1.0, 3.0, 10.0], [5.0, 9.0, 20.0]])
    return make_adata(["CD8A", "CD8A", "PTPRC"], x)


@pytest.fixture
def case11_case_and_space() -> ad.AnnData:
    """#11: ``CD8A`` + ``cd8a``; ``CD8B `` (trailing space) and ``PTPRC`` + NBSP."""
    x = np.array([[1.0, 3.0, 7.0, 10.0], [5.0, 9.0, 11.0, 20.0]])
    return make_adata(["CD8A", "cd8a", "CD8B ", "PTPRC\u00a0"], x)


@pytest.fixture
def case12_ensembl() -> ad.AnnData:
    """#12: versioned Ensembl IDs, a ``_PAR_Y`` twin (CD99 is in PAR1) and an ID that maps to nothing."""
    ids = ["ENSG00000141510.19", "ENSG00000002586.20", "ENSG00000002586.20_PAR_Y", "ENSG00000000000.1"]
    x = np.array([[1.0, 4.0, 0.0, 2.0], [2.0, 6.0, 1.0, 3.0]])
    return make_adata(ids, x)


@pytest.fixture
def case13_mixed() -> list[str]:
    """#13: symbols, Ensembl and Entrez IDs mixed (TP53 / ENSG for CD8A / Entrez 5788 = PTPRC)."""
    return ["TP53", "ENSG00000153563", "5788"]


@pytest.fixture
def case14_excel() -> list[str]:
    """#14: spreadsheet dates: ``1-Mar``, ``2-Sep``, ``Sep-02``, ``1-Dec``, serial ``38961`` (2006-09-01)."""
    return ["1-Mar", "2-Sep", "Sep-02", "1-Dec", "38961", "CD8A"]


@pytest.fixture
def case15_old_alias() -> list[str]:
    """#15: previous symbols and aliases, plus ambiguous ``NOV``."""
    return ["SEPT1", "MARCH1", "CD8", "PDL1", "TIM3", "NOV"]


@pytest.fixture
def case16_alias_is_approved() -> list[str]:
    """#16: ``ACAT1`` is an approved symbol and also an alias of SOAT1."""
    return ["ACAT1", "SOAT1", "CD8A"]


@pytest.fixture
def case17_mouse() -> list[str]:
    """#17: mouse-case symbols in a human run."""
    return ["Cd8a", "Ptprc", "Gzmb"]
