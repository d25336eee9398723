"""GMT import and export (``name <TAB> description <TAB> gene ...``, one set per line)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmescope._errors import InputError
from tmescope._provenance import atomic_path
from tmescope.signatures._geneset import GeneSet
from tmescope.signatures._library import as_gene_sets

if TYPE_CHECKING:
    import os


def read_gmt(path: str | os.PathLike[str], *, collection: str = "user") -> dict[str, GeneSet]:
    r"""Read a GMT file into an ordered ``{name: GeneSet}`` dict.

    Parameters
    ----------
    path
        GMT file: one set per line, ``name``, ``description`` (may be empty), then gene symbols, tab-separated.
    collection
        Collection name given to the sets.

    Returns
    -------
    Ordered mapping name → GeneSet (the description column goes to ``description``; an ``http`` URL there
    goes to ``source``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "my.gmt"
    >>> _ = p.write_text("T_CELLS\tmy T cells\tCD3D\tCD3E\n")
    >>> read_gmt(p)["T_CELLS"].genes
    ('CD3D', 'CD3E')
    """
    p = Path(path)
    if not p.is_file():
        msg = f"GMT file {str(p)!r} does not exist; check the path."
        raise InputError(msg)
    out: dict[str, GeneSet] = {}
    with p.open(encoding="utf-8-sig") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                msg = (
                    f"{p.name}, line {lineno}: a GMT line needs a name, a description and at least one gene, "
                    f"separated by tabs; found {len(parts)} field(s). Is the file space-separated?"
                )
                raise InputError(msg)
            name, desc = parts[0].strip(), parts[1].strip()
            if name in out:
                msg = f"{p.name}, line {lineno}: gene set {name!r} appears twice; set names must be unique."
                raise InputError(msg)
            is_url = desc.lower().startswith(("http://", "https://"))
            out[name] = GeneSet(
                name=name,
                genes=tuple(parts[2:]),
                collection=collection,
                description="" if is_url else desc,
                source=desc if is_url else str(p.name),
            )
    return out


def write_gmt(sets: Any, path: str | os.PathLike[str]) -> None:
    """Write gene sets to a GMT file (atomically).

    Parameters
    ----------
    sets
        GeneSets, or a mapping name → GeneSet or gene list.
    path
        Output file; the description column holds the set's description and DOI when present.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from tmescope.signatures import get_sets
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "estimate.gmt"
    >>> write_gmt(get_sets(collection="estimate"), p)
    >>> len(read_gmt(p)["estimate_immune_yoshihara2013"].genes)
    141
    """
    gs = as_gene_sets(sets)
    lines = []
    for name, s in gs.items():
        desc = s.description
        if s.doi:
            desc = f"{desc} doi:{s.doi}".strip()
        desc = desc.replace("\t", " ").replace("\n", " ")
        lines.append("\t".join([name, desc, *s.genes]))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(path).chmod(0o644)  # the temporary file was private; the GMT is meant to be shared
