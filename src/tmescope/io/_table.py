"""Strict parsing of delimited text tables.

Unlike ``pandas.read_csv``, a row with one field too few or too many is an error naming its line (pandas pads
or shifts silently), a file that parses into a single column is an error naming the likely separator, and
identifiers are always kept as text (``NA`` is a gene symbol, not a missing value).
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope._logging import format_items

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: Cell spellings read as missing values when ``allow_missing=True``.
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "#n/a", "nan", "null", "none", "-", ".", "?", "nd", "#value!", "#div/0!", "#num!"}
)
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+$")
_SEP_NAMES = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}


class RawTable(NamedTuple):
    """A parsed table: the header, the first column (row labels), the other cells as text, and line numbers."""

    header: list[str]
    row_labels: list[str]
    cells: np.ndarray
    lines: np.ndarray
    sep: str
    fixes: list[str]


def _sep_name(sep: str) -> str:
    return _SEP_NAMES.get(sep, repr(sep))


def guess_sep(first_line: str, path: Path) -> str:
    """Choose tab or comma from the header line; anything else is refused with the likely culprit named."""
    if "\t" in first_line:
        return "\t"
    if "," in first_line:
        return ","
    return "\t"


def _split(text: str, sep: str) -> list[list[str]]:
    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if '"' in text:
        return [row if row else [""] for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep, strict=False)]
    return [line.split(sep) for line in lines]


def parse_table(text: str, path: Path, *, sep: str | None = None, as_text: bool = False) -> RawTable:
    """Split text into header, row labels and a cell matrix, checking that every row has the same width.

    Cells are float64 when every value is a finite number (unless ``as_text``), else text.
    """
    fixes: list[str] = []
    if not text.strip():
        msg = f"File '{path}' contains no table (it is empty or only whitespace)."
        raise InputError(msg)
    text, gct = _strip_preamble(text, fixes)
    first_line = text.lstrip("\n").split("\n", 1)[0]
    if sep is None:
        sep = guess_sep(first_line, path)
    quoted = '"' in text
    if quoted:
        rows = _split(text, sep)
        # Blank lines are dropped (with their line numbers kept for messages).
        line_no = [i + 1 for i, row in enumerate(rows) if any(cell.strip() for cell in row)]
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        lines: list[str] = []
        if not rows:
            msg = f"File '{path}' contains no table (only quote characters and separators)."
            raise InputError(msg)
    else:
        all_lines = text.split("\n")
        line_no = [i + 1 for i, line in enumerate(all_lines) if line.replace(sep, "").strip()]
        lines = [all_lines[i - 1] for i in line_no]
        rows = [lines[0].split(sep)] if lines else [[""]]
    header = rows[0]
    if len(header) == 1:
        other = {s: first_line.count(s) for s in (";", "|", " ", ",", "\t") if s != sep}
        likely = max(other, key=lambda s: other[s])
        hint = (
            f"; the header contains {other[likely]} {_sep_name(likely)}(s), so the file is probably "
            f"{_sep_name(likely)}-separated"
            + (" (European Excel export with decimal commas?)" if likely == ";" else "")
            if other[likely]
            else ""
        )
        msg = (
            f"File '{path}': only 1 column parsed using {_sep_name(sep)} as separator{hint}. "
            "tmescope reads tab- or comma-separated tables with '.' as decimal mark: re-export the table "
            "(Excel: 'Tab delimited text'), or pass sep= (CLI --sep) if the separator is unusual."
        )
        raise InputError(msg)
    n_data = len(rows) - 1 if quoted else len(lines) - 1
    if n_data < 1:
        msg = f"File '{path}' has a header line but no data rows. Expected one row per gene (or per sample)."
        raise InputError(msg)
    if quoted:
        widths = np.fromiter((len(r) for r in rows[1:]), dtype=np.int64, count=n_data)
    else:
        widths = np.fromiter((line.count(sep) + 1 for line in lines[1:]), dtype=np.int64, count=n_data)
    n_head = len(header)
    if np.all(widths == n_head + 1):
        # R's write.table(col.names=TRUE) leaves out the row-name column in the header.
        header = ["", *header]
        n_head += 1
        fixes.append(
            "header has one field fewer than every data row (R write.table style): first column read as row names"
        )
    bad = np.flatnonzero(widths != n_head)
    if bad.size:
        details = [f"line {line_no[i + 1]} has {widths[i]}" for i in bad[:5]]
        more = f" (and {bad.size - 5} more line(s))" if bad.size > 5 else ""
        msg = (
            f"File '{path}': {bad.size} row(s) do not have the {n_head} fields of the header "
            f"({_sep_name(sep)}-separated): {'; '.join(details)}{more}. "
            "A missing or extra field shifts every value after it; fix these lines (empty cells still need "
            "their separator) and read the file again."
        )
        raise InputError(msg)
    if quoted:
        body = np.array(rows[1:], dtype=object)
        labels, cells = body[:, 0], body[:, 1:]
    else:
        labels, cells = _fast_body(lines[1:], sep, n_head, as_text=as_text)
    if gct and n_head > 2 and header[1].strip().lower() == "description":
        header = [header[0], *header[2:]]
        cells = np.asarray(cells[:, 1:], dtype=object)
    return RawTable(
        header=[h.strip() for h in header],
        row_labels=[str(x) for x in labels],
        cells=cells,
        lines=np.asarray(line_no[1:], dtype=np.int64),
        sep=sep,
        fixes=fixes,
    )


def _strip_preamble(text: str, fixes: list[str]) -> tuple[str, bool]:
    """Blank out leading ``#`` comment lines and the GCT 1.2 preamble, keeping line numbers."""
    lines = text.split("\n", 3)
    if lines[0].strip() in ("#1.2", "#1.3"):
        if lines[0].strip() == "#1.3":
            msg = "GCT 1.3 files (with row/column metadata) are not read; save the matrix as GCT 1.2 or TSV."
            raise InputError(msg)
        fixes.append("read the GCT 1.2 preamble and dropped its Description column")
        return "\n\n" + text.split("\n", 2)[2] if len(lines) > 2 else "", True
    n = 0
    all_lines = text.split("\n")
    while (
        n < len(all_lines) - 1
        and all_lines[n].startswith("#")
        and (all_lines[n].startswith(("# ", "##")) or ("\t" not in all_lines[n] and "," not in all_lines[n]))
    ):
        n += 1
    if n:
        fixes.append(f"skipped {n} comment line(s) starting with '#' before the header")
        return "\n" * n + "\n".join(all_lines[n:]), False
    return text, False


def _fast_body(lines: list[str], sep: str, n_fields: int, *, as_text: bool) -> tuple[np.ndarray, np.ndarray]:
    """Labels and cells of unquoted rows of known width (numpy's C loadtxt; text cells via pandas' C parser).

    Cells come back as float64 when every value parses to a finite number, else as text (for precise messages).
    """
    text = "\n".join(lines)
    common: dict[str, Any] = {
        "sep": sep,
        "header": None,
        "na_filter": False,
        "keep_default_na": False,
        "engine": "c",
        "quoting": csv.QUOTE_NONE,
        "skip_blank_lines": False,
        "names": list(range(n_fields)),
    }
    if not as_text:
        parts = [line.split(sep, 1) for line in lines]
        try:
            values = np.loadtxt(
                io.StringIO("\n".join(p[1] for p in parts)),
                delimiter=sep,
                dtype=np.float64,
                comments=None,
                ndmin=2,
            )
        except (ValueError, IndexError):
            values = None
        if values is not None and values.shape == (len(lines), n_fields - 1) and np.isfinite(values).all():
            return np.asarray([p[0] for p in parts], dtype=object), values
    body = pd.read_csv(io.StringIO(text), dtype=str, **common).to_numpy(dtype=object)
    return body[:, 0], body[:, 1:]


class Numeric(NamedTuple):
    """Numbers parsed from a cell matrix, with the cells that were missing."""

    values: np.ndarray
    n_missing: int
    missing_cells: list[str]


def to_numeric(
    cells: np.ndarray,
    *,
    path: Path,
    describe: Callable[[int, int], str],
    allow_missing: bool,
    columns: list[str] | None = None,
) -> Numeric:
    """Convert a text (or object) matrix to float64; list bad cells by line, gene and sample.

    ``describe(i, j)`` returns the location text of cell ``(i, j)`` for messages.
    """
    if cells.dtype.kind == "f" and np.isfinite(cells).all():
        return Numeric(np.asarray(cells, dtype=np.float64), 0, [])
    flat = np.asarray(cells, dtype=object).ravel()
    try:
        values = flat.astype(np.float64)
        bad_parse = np.zeros(flat.shape, dtype=bool)
    except (ValueError, TypeError):
        series = pd.Series(flat, dtype=object)
        if series.map(type).eq(str).all():
            series = series.str.strip()
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        bad_parse = np.isnan(values)
    if columns is not None and cells.ndim == 2 and cells.shape[0] >= 2 and bad_parse.any():
        _refuse_text_columns(bad_parse.reshape(cells.shape), flat.reshape(cells.shape), columns, path)
    nonfinite = ~np.isfinite(values)
    problems = np.flatnonzero(nonfinite | bad_parse)
    if problems.size == 0:
        return Numeric(values.reshape(cells.shape), 0, [])
    tokens = np.array([str(flat[k]).strip() for k in problems], dtype=object)
    lowered = np.array([t.lower() for t in tokens], dtype=object)
    is_missing = np.array([t in MISSING_TOKENS for t in lowered], dtype=bool)
    # ``nan`` parsed by float() lands here too; it is a missing value, not an overflow.
    n_cols = cells.shape[1]

    def where(k: int) -> str:
        return describe(int(k) // n_cols, int(k) % n_cols)

    hard = problems[~is_missing] if allow_missing else problems
    if hard.size:
        hard_tokens = tokens[~is_missing] if allow_missing else tokens
        kinds: list[str] = []
        for tok in hard_tokens:
            low = tok.lower().lstrip("+-")
            if low in MISSING_TOKENS:
                kinds.append("missing")
            elif low in {"inf", "infinity"} or _overflows(tok):
                kinds.append("infinite")
            else:
                kinds.append("not a number")
        shown = "; ".join(
            f"{where(k)}: {tok!r} ({kind})" for k, tok, kind in zip(hard[:5], hard_tokens[:5], kinds[:5], strict=False)
        )
        more = f"; and {hard.size - 5} more" if hard.size > 5 else ""
        advice = []
        if "missing" in kinds:
            advice.append(
                "fill the missing cells, or pass allow_missing=True (CLI --allow-missing) to keep them as NaN"
            )
        if "infinite" in kinds:
            advice.append("replace infinite or overflowing values (e.g. 1e400) with real numbers")
        if "not a number" in kinds:
            advice.append("fix the text cells (a decimal comma such as '1,5' must be '1.5')")
        msg = f"File '{path}': {hard.size} cell(s) are not finite numbers: {shown}{more}. To fix: {'; '.join(advice)}."
        raise InputError(msg)
    values[problems] = np.nan
    described = [f"{where(k)}: {tok!r}" for k, tok in zip(problems[:5], tokens[:5], strict=False)]
    return Numeric(values.reshape(cells.shape), int(problems.size), described)


def _refuse_text_columns(bad: np.ndarray, cells: np.ndarray, columns: list[str], path: Path) -> None:
    """Refuse columns that hold text in every row: annotation columns next to the values."""
    text_cols = [
        j
        for j in np.flatnonzero(bad.all(axis=0))
        if not all(
            str(v).strip().lower() in MISSING_TOKENS or _DECIMAL_COMMA.match(str(v).strip()) for v in cells[:, j]
        )
    ]
    if not text_cols:
        return
    names = [columns[j] for j in text_cols]
    examples = ", ".join(f"'{columns[j]}': {str(cells[0, j])!r}" for j in text_cols[:3])
    featurecounts = {"chr", "start", "end", "strand"} <= {c.strip().lower() for c in columns}
    extra = " (featureCounts output: also remove Chr, Start, End, Strand and Length)" if featurecounts else ""
    msg = (
        f"File '{path}': {format_items(names)} hold text in every row ({examples}): annotation columns? "
        "tmescope expects one label column (gene or sample IDs) followed by numeric columns only; remove the "
        f"other annotation columns{extra} and read the file again."
    )
    raise InputError(msg)


def _overflows(token: str) -> bool:
    try:
        return not np.isfinite(float(token))
    except ValueError:
        return False


def describe_items(items: list[str]) -> str:
    """Shortcut used by messages."""
    return format_items(items)
