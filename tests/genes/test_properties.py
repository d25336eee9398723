"""Property tests: harmonize never fails with anything but tmescope's own errors, and is order-equivariant."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmescope._errors import TmescopeError
from tmescope.genes import approved_symbols, detect_id_type, harmonize

_SYMBOLS = sorted(approved_symbols())[::500]
_SPECIAL = ["NA", "NaN", "1-Mar", "2-Sep", "Sep-02", "1-Dec", "38961", "ENSG00000141510.19", "925", "NOV", "Cd8a"]

identifier = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=8),
    st.sampled_from(_SYMBOLS + _SPECIAL),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.builds(lambda s, pad: pad + s + pad, st.sampled_from(_SYMBOLS), st.sampled_from(["", " ", "\u00a0", "\t"])),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(identifier, max_size=30), st.sampled_from(["auto", "symbol", "ensembl", "entrez"]))
def test_harmonize_raises_only_own_errors(ids, id_type):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = harmonize(ids, id_type=id_type, source="fuzz.tsv")
        except TmescopeError:
            return
        r = detect_id_type(ids)
    assert len(m.symbol) == len(ids) == len(m.outcome)
    assert r.kind in {"symbol", "ensembl", "entrez", "mixed", "unknown"}
    approved = approved_symbols()
    for sym, out in zip(m.symbol, m.outcome, strict=True):
        assert (sym is None) == (out in {"ambiguous", "unmapped"})
        assert sym is None or sym in approved
    m.report()
    m.summary()


@settings(max_examples=50, deadline=None)
@given(st.permutations([*_SYMBOLS[:20], "SEPT1", "cd8b", "PDL1 "]))
def test_mapping_does_not_depend_on_order(ids):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = harmonize(ids)
        ref = harmonize(sorted(ids))
    got = dict(zip(m.query, m.symbol, strict=True))
    exp = dict(zip(ref.query, ref.symbol, strict=True))
    assert got == exp
