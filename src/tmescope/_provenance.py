"""Provenance records, atomic output writing and safe output names.

A command opens a :func:`collect` block; every automatic fix made inside it (through
:func:`tmescope._logging.autofix`) is added to the record, which is written as ``provenance.json``
next to the outputs. Outputs are written through :func:`atomic_path` / :func:`atomic_dir`, so an
interrupted run leaves nothing half-written at the final path.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmescope._errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterator

_DEPENDENCIES = ("numpy", "scipy", "pandas", "anndata", "scanpy", "scikit-learn", "numba", "pyarrow", "plotly")

_current: contextvars.ContextVar[Provenance | None] = contextvars.ContextVar("tmescope_provenance", default=None)


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None`` when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _store_files(path: Path) -> list[tuple[str, Path]]:
    """Files inside a folder (a zarr store), as (relative POSIX path, path), sorted by relative path."""
    return sorted((q.relative_to(path).as_posix(), q) for q in path.rglob("*") if q.is_file())


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    r"""SHA-256 hex digest of a file, read in chunks.

    For a folder (a zarr store), the digest of one line per file, ``<relative path>\0<file digest>\n``, in
    sorted order: any changed, added or removed file changes it.
    """
    if Path(path).is_dir():
        tree = hashlib.sha256()
        for rel, q in _store_files(Path(path)):
            tree.update(f"{rel}\0{sha256_file(q, chunk=chunk)}\n".encode())
        return tree.hexdigest()
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def path_bytes(path: str | os.PathLike[str]) -> int:
    """Size of a file, or the total size of the files in a folder (a zarr store)."""
    p = Path(path)
    if p.is_dir():
        return sum(q.stat().st_size for _, q in _store_files(p))
    return p.stat().st_size


class Provenance:
    """Collects what a run did: inputs, parameters, seed, versions and every automatic fix."""

    def __init__(self, command: str, *, params: dict[str, Any] | None = None, seed: int | None = None) -> None:
        self.command = command
        self.params: dict[str, Any] = dict(params or {})
        self.seed = seed
        self.inputs: list[dict[str, Any]] = []
        self.fixes: list[dict[str, Any]] = []
        self.resources: dict[str, Any] = {}
        self.notes: list[str] = []
        self.started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")

    def add_input(self, path: str | os.PathLike[str], *, role: str = "input") -> None:
        """Record an input file (or a zarr store folder) with its size and SHA-256."""
        p = Path(path)
        self.inputs.append({"role": role, "path": str(p), "bytes": path_bytes(p), "sha256": sha256_file(p)})

    def add_resource(self, name: str, info: Any) -> None:
        """Record a shipped resource used (gene table snapshot, signature library version, reference)."""
        self.resources[name] = info

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-serialisable dictionary."""
        from tmescope import __version__

        return {
            "tmescope_version": __version__,
            "command": self.command,
            "argv": sys.argv,
            "started": self.started,
            "finished": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "seed": self.seed,
            "params": self.params,
            "inputs": self.inputs,
            "resources": self.resources,
            "automatic_fixes": self.fixes,
            "notes": self.notes,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "versions": {name: package_version(name) for name in _DEPENDENCIES},
        }

    def write(self, outdir: str | os.PathLike[str]) -> Path:
        """Write ``provenance.json`` atomically into ``outdir`` and return its path."""
        path = Path(outdir) / "provenance.json"
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        return path


@contextlib.contextmanager
def collect(prov: Provenance) -> Iterator[Provenance]:
    """Make ``prov`` the active record: automatic fixes inside the block are added to it."""
    token = _current.set(prov)
    try:
        yield prov
    finally:
        _current.reset(token)


def current() -> Provenance | None:
    """The active provenance record, if any."""
    return _current.get()


def record_fix(entry: dict[str, Any]) -> None:
    """Add an automatic-fix entry to the active record (no-op outside :func:`collect`)."""
    prov = _current.get()
    if prov is not None:
        prov.fixes.append(entry)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` only if the block succeeds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text()
    'done'
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``final``; it replaces ``final`` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_name(sample_id: str, *, max_len: int = 100) -> str:
    """A file-name-safe version of a sample ID that can never leave its folder.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``; leading dots are
    removed; reserved device names get a ``_`` suffix. When anything changed, a short hash of the
    original is appended so that two different IDs never share a file.

    Examples
    --------
    >>> safe_name("Patient105")
    'Patient105'
    >>> safe_name("../x").startswith("x_")
    True
    >>> safe_name("CON").startswith("CON_")
    True
    """
    text = str(sample_id)
    name = _UNSAFE.sub("_", text).lstrip("._-")[:max_len] or "sample"
    if name.split(".")[0].upper() in _RESERVED:
        name = f"{name}_"
    if name != text:
        name = f"{name}_{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"
    return name


def output_file(outdir: str | os.PathLike[str], sample_id: str, suffix: str) -> Path:
    """Path of a per-sample output file inside ``outdir``, guaranteed to stay inside it."""
    root = Path(outdir).resolve()
    path = (root / f"{safe_name(sample_id)}{suffix}").resolve()
    if root not in path.parents:
        msg = f"Sample ID {sample_id!r} would write outside the output folder {root}; rename the sample."
        raise InputError(msg)
    return path
