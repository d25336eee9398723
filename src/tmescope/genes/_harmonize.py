"""Map user gene identifiers (symbols, Ensembl, Entrez, damaged spellings) to approved HGNC symbols."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from tmescope._errors import InputError, InputTypeError, TmescopeWarning
from tmescope._logging import autofix, format_items, logger, warn
from tmescope._provenance import current as current_provenance
from tmescope.genes._tables import KIND_PRIORITY, Tables, snapshot, tables

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ["OUTCOMES", "GeneMapping", "IdTypeReport", "detect_id_type", "harmonize"]

#: Every outcome of :func:`harmonize`, in report order.
OUTCOMES = (
    "approved",
    "trimmed",
    "case_fixed",
    "version_stripped",
    "ensembl",
    "entrez",
    "previous",
    "alias",
    "withdrawn_successor",
    "excel_restored",
    "ambiguous",
    "unmapped",
)
ID_TYPES = ("symbol", "ensembl", "entrez")
#: Fraction of recognised identifiers that must be of one type before a mix is accepted (with a warning).
DOMINANT_FRACTION = 0.95

_ENSEMBL_RE = re.compile(r"^(ENS[A-Z]*G\d{11})(\.\d+)?(_PAR_Y)?$", re.IGNORECASE)
_ENTREZ_RE = re.compile(r"^(\d+)(\.0+)?$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_ALT = {"SEPT": "SEP", "MARCH": "MAR", "APRIL": "APR", "JUNE": "JUN", "JULY": "JUL"}
_MONTH_PAT = "JAN|FEB|MARCH|MAR|APRIL|APR|MAY|JUNE|JUN|JULY|JUL|AUG|SEPT|SEP|OCT|NOV|DEC"
_DATE_DM_RE = re.compile(rf"^(\d{{1,2}})[-/ ]({_MONTH_PAT})$", re.IGNORECASE)
_DATE_MD_RE = re.compile(rf"^({_MONTH_PAT})[-/ ](\d{{1,2}})$", re.IGNORECASE)
_DATE_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00:00)?$")
#: Mouse-style capitalisation: one capital letter, then lower-case letters/digits (``Cd8a``, ``Actb``).
_MOUSE_RE = re.compile(r"^[A-Z][a-z0-9]*[a-z][a-z0-9.-]*$")
#: Characters removed from both ends besides Unicode white space (which includes the non-breaking space).
_STRIP_EXTRA = "\u200b\u200c\u200d\u2060\ufeff"
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_PROTEIN = "gene with protein product"


class IdTypeReport(NamedTuple):
    """What kind of gene identifiers a list holds (see :func:`detect_id_type`)."""

    kind: str
    """``"symbol"``, ``"ensembl"``, ``"entrez"``, ``"mixed"`` or ``"unknown"``."""
    fractions: dict[str, float]
    """Fraction of the non-empty identifiers recognised as ``symbol``, ``ensembl``, ``entrez``; rest ``unknown``."""
    versioned: bool
    """True when Ensembl IDs carry a version (``ENSG….12``) or a ``_PAR_Y`` suffix."""
    species_hint: str | None
    """``"mouse"`` when most symbols are written like mouse symbols (``Cd8a``) or Ensembl IDs are ``ENSMUSG``."""


def _clean(x: Any) -> tuple[str, str | None]:
    """Return (text as given, cleaned text or None for a missing value)."""
    if x is None:
        return "", None
    if isinstance(x, float):
        if math.isnan(x):
            return "nan", None
        if x.is_integer():
            return str(int(x)), str(int(x))
    text = x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
    return text, text.strip().strip(_STRIP_EXTRA).strip()


def _excel_key(s: str) -> str | None:
    """Day-month key (``1-MAR``) of a spreadsheet date string, or None."""
    day: int
    month: str
    m = _DATE_DM_RE.match(s)
    if m:
        day, month = int(m.group(1)), m.group(2).upper()
    else:
        m = _DATE_MD_RE.match(s)
        if m:
            day, month = int(m.group(2)), m.group(1).upper()
        else:
            m = _DATE_ISO_RE.match(s)
            if not m:
                return None
            mon = int(m.group(2))
            if not 1 <= mon <= 12:
                return None
            day, month = int(m.group(3)), _MONTHS[mon - 1]
    month = _MONTH_ALT.get(month, month)
    if not 1 <= day <= 31:
        return None
    return f"{day}-{month}"


def _serial_key(s: str) -> str | None:
    """Day-month key of an Excel serial day number (1900 date system), e.g. ``38961`` -> ``1-SEP``."""
    if not s.isascii() or not s.isdigit() or len(s) > 7:
        return None
    n = int(s)
    if not 61 <= n <= 2958465:
        return None
    d = _EXCEL_EPOCH + dt.timedelta(days=n)
    return f"{d.day}-{_MONTHS[d.month - 1]}"


def _id_class(s: str, t: Tables) -> str:
    """Classify one cleaned identifier as symbol / ensembl / entrez / unknown."""
    if _ENSEMBL_RE.match(s):
        return "ensembl"
    m = _ENTREZ_RE.match(s)
    if m and s.isascii():
        if m.group(1) in t.entrez:
            return "entrez"
        key = _serial_key(m.group(1))
        return "symbol" if key is not None and key in t.excel else "unknown"
    if s in t.approved:
        return "symbol"
    up = s.upper()
    if up in t.approved_ci or up in t.lookup_ci:
        return "symbol"
    key = _excel_key(s)
    if key is not None and key in t.excel:
        return "symbol"
    return "unknown"


def _looks_mouse(s: str, t: Tables) -> bool:
    return bool(_MOUSE_RE.match(s)) and s not in t.approved


def _detect(cleaned: Sequence[str], t: Tables) -> tuple[IdTypeReport, list[str]]:
    classes = [_id_class(s, t) for s in cleaned]
    n = len(classes)
    counts = Counter(classes)
    fractions = {k: (counts.get(k, 0) / n if n else 0.0) for k in (*ID_TYPES, "unknown")}
    ens = [s for s, c in zip(cleaned, classes, strict=True) if c == "ensembl"]
    versioned = any(_ENSEMBL_RE.match(s).group(2) or _ENSEMBL_RE.match(s).group(3) for s in ens)  # type: ignore[union-attr]
    syms = [s for s, c in zip(cleaned, classes, strict=True) if c == "symbol"]
    n_mouse = sum(_looks_mouse(s, t) for s in syms)
    n_musg = sum(s.upper().startswith("ENSMUSG") for s in ens)
    species: str | None = None
    if (syms and n_mouse > 0.5 * len(syms) and len(syms) >= len(ens)) or (ens and n_musg > 0.5 * len(ens)):
        species = "mouse"
    recognised = sum(counts.get(k, 0) for k in ID_TYPES)
    if n == 0 or recognised < 0.5 * n:
        kind = "unknown"
    else:
        top = max(ID_TYPES, key=lambda k: counts.get(k, 0))
        kind = top if counts[top] >= DOMINANT_FRACTION * recognised else "mixed"
    return IdTypeReport(kind, fractions, bool(versioned), species), classes


def detect_id_type(ids: Iterable[Any]) -> IdTypeReport:
    """Detect which kind of gene identifiers a list holds.

    Each identifier (trimmed) counts as ``symbol`` when it is an approved, previous, alias or withdrawn HGNC symbol
    (any case) or a spreadsheet-damaged date form of one, ``ensembl`` when it has the shape of an Ensembl gene ID,
    ``entrez`` when it is a known Entrez gene ID, and ``unknown`` otherwise. A low recognised fraction on one axis
    of a table (sample names, for instance) points at a transposed table.

    Parameters
    ----------
    ids
        Identifiers, e.g. ``adata.var_names`` or the first column of a table.

    Returns
    -------
    IdTypeReport
        ``kind`` is the type of at least 95% of the recognised identifiers, ``"mixed"`` when no type reaches
        95%, or ``"unknown"`` when fewer than half are recognised (or the list is empty).

    Examples
    --------
    >>> from tmescope.genes import detect_id_type
    >>> r = detect_id_type(["CD8A", "PTPRC", "ENSG00000141510.19"])
    >>> r.kind, r.versioned
    ('mixed', True)
    >>> detect_id_type(["Cd8a", "Ptprc", "Actb"]).species_hint
    'mouse'
    """
    cleaned = [c for c in (_clean(x)[1] for x in ids) if c]
    return _detect(cleaned, tables())[0]


@dataclass(frozen=True)
class GeneMapping:
    """Result of :func:`harmonize`: one entry per query, in input order."""

    query: tuple[str, ...]
    """The identifiers as given (as text)."""
    symbol: tuple[str | None, ...]
    """Approved HGNC symbol, or None when ambiguous or unmapped."""
    outcome: tuple[str, ...]
    """How each query was mapped; one of :data:`OUTCOMES`."""
    detail: tuple[str, ...] = ()
    """Free text per query: the damaged string restored, the candidates of an ambiguous query, …"""
    source: str = ""
    """Where the identifiers came from (file name), for messages."""
    id_type: str = ""
    """The identifier type used (detected or given)."""
    other_meaning: tuple[str, ...] = field(default=())
    """Approved symbols in the input that are also a previous symbol or alias of another gene (kept as given)."""

    def __len__(self) -> int:
        return len(self.query)

    def to_frame(self) -> pd.DataFrame:
        """One row per query: ``query``, ``symbol``, ``outcome``, ``detail``."""
        detail = self.detail or ("",) * len(self.query)
        return pd.DataFrame(
            {"query": self.query, "symbol": self.symbol, "outcome": self.outcome, "detail": detail}, dtype=object
        )

    def _items(self, outcome: str) -> list[str]:
        detail = self.detail or ("",) * len(self.query)
        out = []
        for q, s, o, d in zip(self.query, self.symbol, self.outcome, detail, strict=True):
            if o != outcome:
                continue
            shown = "<missing>" if d == "missing value" else (repr(q) if q != q.strip() else q)
            if s is None:
                out.append(f"{shown} ({d})" if d and d != "missing value" else shown)
            else:
                out.append(f"{shown}→{s}" if q != s else shown)
        return out

    def report(self) -> pd.DataFrame:
        """Count of queries per outcome with the first five items.

        Returns
        -------
        pandas.DataFrame
            Columns ``outcome``, ``count``, ``first`` (up to five ``query→symbol`` items); one row per outcome
            that occurred, in the order of :data:`OUTCOMES`.
        """
        counts = Counter(self.outcome)
        rows = [
            {"outcome": o, "count": counts[o], "first": ", ".join(self._items(o)[:5])} for o in OUTCOMES if counts[o]
        ]
        return pd.DataFrame(rows, columns=["outcome", "count", "first"])

    def summary(self) -> dict[str, Any]:
        """JSON-able summary: counts per outcome, ambiguous and unmapped queries (first 100), table snapshot."""
        counts = Counter(self.outcome)
        mapped = [s for s in self.symbol if s is not None]
        snap = snapshot()
        return {
            "source": self.source,
            "id_type": self.id_type,
            "n_query": len(self.query),
            "n_mapped": len(mapped),
            "n_symbols": len(set(mapped)),
            "counts": {o: int(counts[o]) for o in OUTCOMES},
            "ambiguous": self._items("ambiguous")[:100],
            "unmapped": self._items("unmapped")[:100],
            "hgnc_snapshot": snap["hgnc_snapshot"],
            "gencode_release": snap["gencode_release"],
            "tables_sha256": snap["tables_sha256"],
        }


def _resolve_lookup(s: str, t: Tables) -> tuple[str | None, str, str] | None:
    rows = t.lookup_ci.get(s.upper())
    if not rows:
        return None
    targets = sorted({r[2] for r in rows})
    if len(targets) > 1:
        return None, "ambiguous", "could be " + " or ".join(targets)
    exact = [r for r in rows if r[0] == s] or rows
    kinds = {r[1] for r in exact}
    kind = next(k for k in KIND_PRIORITY if k in kinds)
    outcome = "withdrawn_successor" if kind == "withdrawn" else kind
    return targets[0], outcome, f"{kind} symbol" if kind != "alias" else "alias"


def _resolve_excel(key: str, t: Tables) -> tuple[str | None, str, str] | None:
    cands = t.excel.get(key)
    if not cands:
        return None
    prev = sorted({(c[2], c[0]) for c in cands if c[1] == "previous"})
    prev_targets = {p[0] for p in prev}
    others = sorted({c[2] for c in cands} - prev_targets)
    if len(prev_targets) == 1:
        target, original = prev[0]
        # A previous symbol of a non-coding gene does not outrank an alias of a protein-coding gene (1-Dec: DEC1).
        outranked = t.locus_type.get(target) != _PROTEIN and any(t.locus_type.get(o) == _PROTEIN for o in others)
        if not outranked:
            return target, "excel_restored", f"via previous symbol {original}"
    desc = ", ".join(f"{c[0]} ({c[1]} of {c[2]})" for c in sorted(set(cands)))
    return None, "ambiguous", f"spreadsheet date; could be {desc}"


def _resolve(s: str, context: str, t: Tables) -> tuple[str | None, str, str]:
    """Map one cleaned identifier; returns (symbol, outcome, detail)."""
    if not s:
        return None, "unmapped", "empty"
    if s in t.approved:
        return s, "approved", ""
    m = _ENSEMBL_RE.match(s)
    if m:
        sym = t.ensembl.get(m.group(1).upper())
        if sym is None:
            return None, "unmapped", "Ensembl ID not in HGNC 2024 / GENCODE 48 with an approved symbol"
        if m.group(2) or m.group(3):
            return sym, "version_stripped", m.group(1).upper()
        return sym, "ensembl", ""
    e = _ENTREZ_RE.match(s)
    if e and s.isascii():
        num = e.group(1)
        key = _serial_key(num) if context != "entrez" else None
        if key is not None and num not in t.entrez:
            hit = _resolve_excel(key, t)
            if hit is not None:
                sym, outcome, detail = hit
                return sym, outcome, f"Excel serial {num} = {key.title()}; {detail}"
        sym = t.entrez.get(num)
        if sym is not None:
            return sym, "entrez", ""
        return None, "unmapped", "not an Entrez gene ID of an approved gene"
    up = s.upper()
    if up in t.approved_ci:
        return t.approved_ci[up], "case_fixed", ""
    hit = _resolve_lookup(s, t)
    if hit is not None:
        return hit
    key = _excel_key(s)
    if key is not None:
        hit = _resolve_excel(key, t)
        if hit is not None:
            return hit
    return None, "unmapped", ""


def _other_meanings(s: str, t: Tables) -> list[str]:
    rows = t.lookup_ci.get(s.upper(), [])
    return sorted({f"{r[1]} symbol of {r[2]}" if r[1] != "alias" else f"alias of {r[2]}" for r in rows if r[2] != s})


def _in(source: str) -> str:
    return f" in {source}" if source else ""


def harmonize(ids: Iterable[Any], *, id_type: str = "auto", source: str = "") -> GeneMapping:
    """Map gene identifiers to approved HGNC symbols (HGNC 2024 snapshot, GENCODE 48).

    Rules, in order: leading/trailing white space (also non-breaking and zero-width spaces) is removed; approved
    symbols are kept; Ensembl gene IDs lose their version and ``_PAR_Y`` suffix; Entrez IDs are looked up; a symbol
    that differs from an approved one only by case is fixed; previous, alias and withdrawn symbols are mapped only
    when they reach exactly one approved gene (case-insensitive) — otherwise they are reported as ambiguous;
    spreadsheet dates (``1-Mar``, ``Sep-02``, serial ``38961``) are restored only through a previous symbol.
    An approved symbol always wins over another gene's previous symbol or alias of the same spelling.
    ``NA`` and ``NaN`` are gene symbols (``NA`` → XK, ``NaN`` → SCN11A), not missing values.

    Every automatic fix is reported once with :class:`~tmescope.AutoFixWarning` (count and first items) and recorded in
    provenance; ambiguous and unmapped identifiers are listed in a :class:`~tmescope.TmescopeWarning`.

    Parameters
    ----------
    ids
        Gene identifiers (any iterable of text; numbers are read as Entrez IDs or spreadsheet serial dates).
    id_type
        ``"auto"`` (detect), ``"symbol"``, ``"ensembl"`` or ``"entrez"``.
    source
        Name of the file or object the identifiers come from; used in messages.

    Returns
    -------
    GeneMapping
        One ``symbol`` and ``outcome`` per query, in input order.

    Raises
    ------
    InputError
        When the identifiers look like mouse genes, or mix identifier types with none reaching 95%.

    Examples
    --------
    >>> from tmescope.genes import harmonize
    >>> m = harmonize(["CD8A", "PTPRC", "GZMB", "PRF1"])
    >>> m.symbol
    ('CD8A', 'PTPRC', 'GZMB', 'PRF1')
    >>> m.summary()["counts"]["approved"]
    4
    """
    if id_type not in ("auto", *ID_TYPES):
        msg = f"id_type must be 'auto', 'symbol', 'ensembl' or 'entrez'; received {id_type!r}."
        raise InputError(msg)
    if isinstance(ids, str | bytes):
        msg = f"ids must be a list of gene identifiers, not a single string ({ids!r}); wrap it in a list."
        raise InputTypeError(msg)
    try:
        pairs = [_clean(x) for x in ids]
    except TypeError as exc:
        msg = f"ids must be an iterable of gene identifiers; received {type(ids).__name__}."
        raise InputTypeError(msg) from exc
    t = tables()
    where = _in(source)
    queries = tuple(p[0] for p in pairs)
    cleaned = [p[1] for p in pairs]
    present = [c for c in cleaned if c]

    report, classes = _detect(present, t)
    if report.species_hint == "mouse":
        examples = [s for s in present if _looks_mouse(s, t) or s.upper().startswith("ENSMUSG")]
        msg = (
            f"The gene list{where} looks like mouse genes ({format_items(examples)}); tmescope's gene tables are "
            "human (HGNC). Map mouse genes to human orthologs first (e.g. with an ortholog table), or correct the "
            "identifiers if they are human symbols in the wrong case."
        )
        raise InputError(msg)
    context = report.kind if id_type == "auto" else id_type
    if id_type == "auto" and report.kind == "mixed":
        by_type = {k: [s for s, c in zip(present, classes, strict=True) if c == k] for k in ID_TYPES}
        parts = "; ".join(f"{k}: {format_items(v, first=3)}" for k, v in by_type.items() if v)
        msg = (
            f"Gene identifiers{where} mix identifier types ({parts}); no type reaches "
            f"{DOMINANT_FRACTION:.0%}. Use one identifier type per file (all symbols, all Ensembl or all Entrez IDs)."
        )
        raise InputError(msg)
    if context in ID_TYPES:
        minority = [s for s, c in zip(present, classes, strict=True) if c in ID_TYPES and c != context]
        if minority:
            warn(
                f"{len(minority)} gene identifier(s){where} are not {context} identifiers but other types, mapped by "
                f"their own type where possible: {format_items(minority)}",
                TmescopeWarning,
            )

    cache: dict[str, tuple[str | None, str, str]] = {}
    symbols: list[str | None] = []
    outcomes: list[str] = []
    details: list[str] = []
    trimmed: list[str] = []
    missing = 0
    for q, c in pairs:
        if c is None:
            missing += 1
            symbols.append(None)
            outcomes.append("unmapped")
            details.append("missing value")
            continue
        if c not in cache:
            cache[c] = _resolve(c, context, t)
        sym, outcome, detail = cache[c]
        if c != q:
            trimmed.append(repr(q))
            if outcome == "approved":
                outcome = "trimmed"
        symbols.append(sym)
        outcomes.append(outcome)
        details.append(detail)

    mapping = GeneMapping(
        query=queries,
        symbol=tuple(symbols),
        outcome=tuple(outcomes),
        detail=tuple(details),
        source=source,
        id_type=context,
        other_meaning=tuple(sorted({c for c in present if c in t.approved and _other_meanings(c, t)})),
    )
    _emit(mapping, trimmed, missing, t)
    prov = current_provenance()
    if prov is not None:
        prov.add_resource("gene_table", snapshot())
    return mapping


def _emit(m: GeneMapping, trimmed: list[str], missing: int, t: Tables) -> None:
    """Send the warnings and provenance entries of one mapping."""
    where = _in(m.source)

    def items(outcome: str) -> list[str]:
        return m._items(outcome)

    if trimmed:
        autofix(
            "genes.trim",
            f"Removed leading/trailing white space (incl. non-breaking spaces) from gene identifiers{where}",
            trimmed,
        )
    if items("case_fixed"):
        autofix(
            "genes.case", f"Fixed the letter case of gene symbols{where} to approved HGNC symbols", items("case_fixed")
        )
    if items("version_stripped"):
        par_y = [
            q for q, o in zip(m.query, m.outcome, strict=True) if o == "version_stripped" and "_PAR_Y" in q.upper()
        ]
        autofix(
            "genes.ensembl_version",
            f"Removed version suffixes from Ensembl gene IDs{where}"
            + (
                f"; {len(par_y)} _PAR_Y twin(s) map to the same gene as their X copy and are aggregated"
                if par_y
                else ""
            ),
            items("version_stripped"),
            details={"par_y": par_y},
        )
    renamed = items("previous") + items("alias") + items("withdrawn_successor")
    if renamed:
        autofix(
            "genes.renamed",
            f"Mapped previous, alias and withdrawn gene symbols{where} to their approved HGNC symbols "
            f"(unambiguous ones only; HGNC snapshot {snapshot()['hgnc_snapshot']})",
            renamed,
        )
    if items("excel_restored"):
        restored = [
            f"{q}→{s} ({d})"
            for q, s, o, d in zip(m.query, m.symbol, m.outcome, m.detail, strict=True)
            if o == "excel_restored"
        ]
        autofix(
            "genes.excel_dates",
            f"Restored gene symbols{where} that a spreadsheet had turned into dates, through HGNC previous symbols only "
            f"(each listed): {'; '.join(restored)}",
            [q for q, o in zip(m.query, m.outcome, strict=True) if o == "excel_restored"],
        )
    if m.other_meaning:
        pairs = [f"{s} (also {', '.join(_other_meanings(s, t))})" for s in m.other_meaning]
        warn(
            f"{len(pairs)} gene symbol(s){where} are approved HGNC symbols and also a previous symbol or alias of "
            f"another gene; kept as the approved gene (approved symbol wins): {format_items(pairs)}",
            TmescopeWarning,
        )
    if items("ambiguous"):
        warn(
            f"{len(items('ambiguous'))} gene identifier(s){where} are ambiguous (they reach more than one approved "
            f"gene) and were not mapped: {'; '.join(items('ambiguous')[:20])}"
            + ("; …" if len(items("ambiguous")) > 20 else "")
            + ". Replace them with approved HGNC symbols or Ensembl IDs.",
            TmescopeWarning,
        )
    unm = items("unmapped")
    if unm:
        extra = f" ({missing} missing value(s))" if missing else ""
        warn(
            f"{len(unm)} gene identifier(s){where} match no approved HGNC gene{extra}: {format_items(unm)}",
            TmescopeWarning,
        )
    logger.info("gene mapping%s: %s", where, dict(Counter(m.outcome)))
