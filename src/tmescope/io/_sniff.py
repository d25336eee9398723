"""Low-level input checks: file format by magic bytes, size and memory budgets, text decoding.

Nothing here trusts a file's extension: the first bytes decide whether a file is gzip, HDF5, parquet,
a pickle or text. Pickle-based formats are refused outright, since loading them can run arbitrary code.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import NamedTuple

from tmescope._errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
PARQUET_MAGIC = b"PAR1"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
RDS_MAGICS = (b"X\n", b"RDX2\n", b"RDX3\n", b"RDA2\n", b"RDA3\n")
#: Decompressed/compressed size ratio above which a large gzip stream is treated as a decompression bomb.
MAX_GZIP_RATIO = 200
#: Decompressed size below which the ratio check does not apply (tiny, highly repetitive files are fine).
GZIP_RATIO_FLOOR = 32 * 1024 * 1024

_PICKLE_EXTENSIONS = (".pkl", ".pickle", ".joblib", ".npy", ".npz", ".sav", ".dill")


class Sniffed(NamedTuple):
    """What the first bytes of a file say it is."""

    format: str
    """One of ``"text"``, ``"h5ad"``, ``"parquet"`` (files) or ``"zarr"`` (an AnnData zarr store, a folder)."""
    compression: str | None
    """``"gzip"`` when the text was gzip-compressed, else ``None``."""


def memory_budget() -> int:
    """Default budget in bytes for one input: half the physical memory, at most 16 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 << 30
    return int(min(total // 2, 16 << 30))


def human_bytes(n: float) -> str:
    """Format a byte count for messages.

    Examples
    --------
    >>> human_bytes(16_000_000_000)
    '14.9 GiB'
    """
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _refuse_pickle(path: Path, what: str) -> InputError:
    msg = (
        f"File '{path}' is {what}. tmescope does not read pickle-based files (.pkl, .joblib, object .npy): "
        "loading them can run arbitrary code. Save the table as TSV/CSV, parquet or h5ad instead "
        "(e.g. DataFrame.to_csv(sep='\\t') or AnnData.write_h5ad)."
    )
    return InputError(msg)


def sniff(path: Path, head: bytes) -> Sniffed:
    """Classify a file by its first bytes; refuse pickles, NumPy files and unknown binary formats."""
    name = path.name.lower()
    if not head:
        msg = f"File '{path}' is empty (0 bytes). Check that the file was copied or downloaded completely."
        raise InputError(msg)
    if head.startswith(NPY_MAGIC):
        raise _refuse_pickle(path, "a NumPy .npy array")
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        raise _refuse_pickle(path, "a Python pickle")
    if name.endswith(_PICKLE_EXTENSIONS):
        raise _refuse_pickle(path, f"a '{Path(name).suffix}' file")
    if head.startswith(HDF5_MAGIC):
        return Sniffed("h5ad", None)
    if head.startswith(PARQUET_MAGIC):
        return Sniffed("parquet", None)
    if head.startswith(GZIP_MAGIC):
        return Sniffed("text", "gzip")
    if head.startswith(ZIP_MAGIC):
        what = "an Excel workbook (.xlsx)" if name.endswith((".xlsx", ".xlsm")) else "a ZIP archive"
        msg = (
            f"File '{path}' is {what}, not a table tmescope reads. Export the sheet as tab-separated text "
            "(Excel: File > Save As > 'Tab delimited text', UTF-8) or unzip it first."
        )
        if ".zarr" in name:
            msg = f"File '{path}' is a zipped zarr store; tmescope reads zarr stores as folders. Unzip it first."
        raise InputError(msg)
    for magic, kind in ((BZ2_MAGIC, "bzip2"), (XZ_MAGIC, "xz"), (ZSTD_MAGIC, "zstd")):
        if head.startswith(magic):
            msg = f"File '{path}' is {kind}-compressed; tmescope reads plain or gzip-compressed text. Recompress it with gzip."
            raise InputError(msg)
    if head.startswith(RDS_MAGICS) or name.endswith((".rds", ".rda", ".rdata")):
        msg = (
            f"File '{path}' looks like an R data file (.rds/.rda). Write the matrix as text from R, e.g. "
            "write.table(m, 'expr.tsv', sep='\\t', quote=FALSE, col.names=NA)."
        )
        raise InputError(msg)
    if name.endswith((".h5ad", ".h5", ".hdf5")):
        msg = (
            f"File '{path}' is named like an HDF5/h5ad file but is not HDF5 (first bytes {head[:8]!r}). "
            "If it is a text table, rename it to .tsv or .csv; if it is an h5ad, it is incomplete or corrupt: copy it again."
        )
        raise InputError(msg)
    if name.endswith(".zarr"):
        msg = (
            f"'{path}' is named like a zarr store but is a file; a zarr store is a folder written by "
            "AnnData.write_zarr (e.g. adata.write_zarr('cohort.zarr')). Give the store's folder."
        )
        raise InputError(msg)
    if name.endswith(".parquet"):
        msg = (
            f"File '{path}' is named .parquet but does not start with the parquet magic bytes 'PAR1'; "
            "it is not a parquet file or it is corrupt. Write it again with DataFrame.to_parquet."
        )
        raise InputError(msg)
    return Sniffed("text", None)


def read_head(path: Path, n: int = 16) -> bytes:
    """First ``n`` bytes of a file, with a clear error when it cannot be opened."""
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except FileNotFoundError:
        msg = f"File '{path}' does not exist. Check the path (current folder: {Path.cwd()})."
        raise InputError(msg) from None
    except IsADirectoryError:
        msg = f"'{path}' is a folder, not a file. Give the path of the expression table inside it."
        raise InputError(msg) from None
    except PermissionError:
        msg = f"File '{path}' cannot be read (permission denied)."
        raise InputError(msg) from None


def read_bytes(path: Path, *, compression: str | None, max_bytes: int) -> bytes:
    """Read a (possibly gzip-compressed) text file, refusing it once it grows past ``max_bytes``."""
    size = path.stat().st_size
    if compression is None:
        if size > max_bytes:
            msg = (
                f"File '{path}' is {human_bytes(size)}, above the input budget of {human_bytes(max_bytes)}. "
                "Pass a larger max_bytes (CLI --max-bytes) if the machine has the memory, or split the table."
            )
            raise InputError(msg)
        return path.read_bytes()
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                total += len(block)
                chunks.append(block)
                if total > max_bytes:
                    msg = (
                        f"File '{path}' decompresses to more than {human_bytes(max_bytes)} (the input budget; "
                        f"compressed size {human_bytes(size)}). Pass a larger max_bytes (CLI --max-bytes) if this "
                        "is expected."
                    )
                    raise InputError(msg)
                if total > GZIP_RATIO_FLOOR and total > MAX_GZIP_RATIO * size:
                    msg = (
                        f"File '{path}' expands more than {MAX_GZIP_RATIO}-fold when decompressed "
                        f"({human_bytes(size)} -> over {human_bytes(total)}), which expression tables never do; "
                        "it looks like a decompression bomb and was not read. If it is genuine, decompress it "
                        "yourself and read the plain file."
                    )
                    raise InputError(msg)
    except (OSError, EOFError, zlib.error) as exc:
        msg = (
            f"File '{path}' starts like a gzip file but cannot be decompressed ({exc}); it is probably "
            "truncated. Copy or download it again."
        )
        raise InputError(msg) from None
    return b"".join(chunks)


class Decoded(NamedTuple):
    """Text and the fixes made while decoding it."""

    text: str
    fixes: list[str]


def _line_of(raw: bytes, pos: int) -> int:
    return raw.count(b"\n", 0, pos) + 1


def decode_text(raw: bytes, path: Path) -> Decoded:
    r"""Decode bytes as UTF-8 (or UTF-16 with a byte-order mark); normalise line endings.

    Examples
    --------
    >>> from pathlib import Path
    >>> decode_text(b"\xef\xbb\xbfgene\tS1\r\n", Path("x.tsv"))
    Decoded(text='gene\tS1\n', fixes=['removed the UTF-8 byte-order mark', 'read Windows (CRLF) line endings'])
    """
    fixes: list[str] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            msg = (
                f"File '{path}' starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc}). Save it as UTF-8."
            )
            raise InputError(msg) from None
        fixes.append("decoded UTF-16 text (byte-order mark found; Excel 'Unicode text')")
        text = text.removeprefix("\ufeff")
    else:
        head = raw[:4096]
        if head and head.count(b"\x00") > len(head) // 4:
            msg = (
                f"File '{path}' contains NUL bytes: it looks like UTF-16 text without a byte-order mark, "
                "or a binary file. Save the table as UTF-8 text (Excel: 'CSV UTF-8' or 'Tab delimited text')."
            )
            raise InputError(msg)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            fixes.append("removed the UTF-8 byte-order mark")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = _line_of(raw, exc.start)
            line_start = raw.rfind(b"\n", 0, exc.start) + 1
            column = len(raw[line_start : exc.start].decode("utf-8", errors="replace")) + 1
            msg = (
                f"File '{path}', line {line}, character {column}: byte 0x{raw[exc.start]:02x} is not valid UTF-8 "
                "(the file is probably Latin-1 / Windows-1252 encoded). Re-save it as UTF-8, e.g. "
                f"`iconv -f latin1 -t utf-8 '{path.name}' > fixed.tsv`."
            )
            raise InputError(msg) from None
    if "\r" in text:
        if "\r\n" in text:
            fixes.append("read Windows (CRLF) line endings")
        else:
            fixes.append("read old Mac (CR) line endings")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Decoded(text, fixes)
