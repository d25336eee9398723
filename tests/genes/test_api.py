from __future__ import annotations

import pytest

from tmescope.genes import approved_symbols, detect_id_type, gene_lengths, harmonize, snapshot


def test_api_smoke():
    m = harmonize(["CD8A", "PTPRC"])
    assert m.symbol == ("CD8A", "PTPRC")
    assert m.outcome == ("approved", "approved")
    assert detect_id_type(["CD8A", "PTPRC"]).kind == "symbol"
    assert "CD8A" in approved_symbols()
    assert gene_lengths().index.is_unique
    assert snapshot()["hgnc_snapshot"] == "2024-07-23"


def test_bad_id_type():
    from tmescope._errors import InputError

    with pytest.raises(InputError, match="id_type"):
        harmonize(["CD8A"], id_type="gene")
