"""Command-line commands of the `signatures` topic: ``tmescope signatures list|show|export|score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tmescope._cli._common import handle_errors, reader_options
from tmescope._errors import InputError


@click.group("signatures")
def signatures_group() -> None:
    """Browse and export the built-in, cited gene-set library, and score gene sets in your samples."""


@signatures_group.command("list")
@click.option("--collection", default=None, help="Only this collection (e.g. bagaev2021, hallmark, caf).")
@click.option("--category", default=None, help="Only this category (e.g. caf_state, immune_effector).")
@click.option("--search", default=None, help="Text in the name, description or citation, or a gene symbol.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "tsv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@handle_errors
def list_command(collection: str | None, category: str | None, search: str | None, fmt: str) -> None:
    """List the library's gene sets (name, collection, category, size, citation)."""
    from tmescope import signatures

    df = signatures.list_sets(collection=collection, category=category, search=search)
    if fmt == "tsv":
        click.echo(df.to_csv(sep="\t", index=False), nl=False)
    elif fmt == "json":
        click.echo(df.to_json(orient="records", indent=1, force_ascii=False))
    else:
        author = df["citation"].str.extract(r"^([^\s,.]+)", expand=False).fillna("")
        year = df["citation"].str.extract(r"((?:19|20)\d{2})", expand=False).fillna("")
        view = df[["name", "collection", "category", "n_genes"]].assign(reference=author + " " + year, doi=df["doi"])
        click.echo(view.to_string(index=False))
        click.echo(f"\n{len(df)} set(s); library version {signatures.LIBRARY_VERSION}")


@signatures_group.command("show")
@click.argument("name")
@handle_errors
def show_command(name: str) -> None:
    """Show one gene set: description, citation, DOI, source, licence and genes."""
    from tmescope import signatures

    gs = signatures.get(name)
    for field in ("name", "collection", "category", "description", "citation", "doi", "source", "licence"):
        click.echo(f"{field:<12}{getattr(gs, field)}")
    click.echo(f"{'genes':<12}{len(gs.genes)}: {' '.join(gs.genes)}")


@signatures_group.command("export")
@click.option("--collection", default=None, help="Export only this collection.")
@click.option("--name", "names", multiple=True, help="Export this set (repeat for several).")
@click.option(
    "--gmt",
    "extra",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Also include the sets of this GMT file (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gmt", "tsv", "json"]),
    default=None,
    help="Output format (default: from the file extension, else gmt).",
)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output file.")
@handle_errors
def export_command(
    collection: str | None, names: tuple[str, ...], extra: tuple[Path, ...], fmt: str | None, out: Path
) -> None:
    """Write gene sets to a GMT, TSV (one row per set and gene) or JSON file with their citations."""
    from tmescope import signatures
    from tmescope._provenance import atomic_path

    sets = signatures.get_sets(list(names) or None, collection=collection)
    for path in extra:
        sets.update(signatures.read_gmt(path))
    if not sets:
        msg = "No gene sets selected; check --collection and --name (see `tmescope signatures list`)."
        raise InputError(msg)
    fmt = fmt or {".tsv": "tsv", ".json": "json"}.get(out.suffix.lower(), "gmt")
    if fmt == "gmt":
        signatures.write_gmt(sets, out)
    else:
        rows = [
            {
                "name": s.name,
                "collection": s.collection,
                "category": s.category,
                "description": s.description,
                "citation": s.citation,
                "doi": s.doi,
                "source": s.source,
                "licence": s.licence,
                "genes": list(s.genes),
            }
            for s in sets.values()
        ]
        with atomic_path(out) as tmp:
            if fmt == "json":
                payload = {"library_version": signatures.LIBRARY_VERSION, "sets": rows}
                tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            else:
                lines = ["set\tgene\tcollection\tcitation\tdoi"]
                lines += [
                    f"{r['name']}\t{g}\t{r['collection']}\t{r['citation']}\t{r['doi']}"
                    for r in rows
                    for g in r["genes"]
                ]
                tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    click.echo(f"Wrote {len(sets)} gene set(s) to {out} ({fmt}).")


@signatures_group.command("score")
@click.argument("expr", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--collection", default=None, help="Score only this collection (e.g. bagaev2021, hallmark).")
@click.option("--name", "names", multiple=True, help="Score this built-in set (repeat for several).")
@click.option(
    "--gmt",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    multiple=True,
    help="Score the sets of this GMT file (repeatable); alone, only these are scored.",
)
@click.option(
    "--method",
    type=click.Choice(["ssgsea", "singscore", "mean_z"]),
    default="ssgsea",
    show_default=True,
    help="Scoring method.",
)
@click.option("--normalize", is_flag=True, help="ssGSEA: divide by the range of all scores (GSVA ssgsea.norm).")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Sets with a smaller share of their genes measured are reported as NaN.",
)
@reader_options
@handle_errors
def score_command(  # noqa: PLR0917 - click passes every option positionally
    expr: Path,
    out: Path,
    collection: str | None,
    names: tuple[str, ...],
    gmt: tuple[Path, ...],
    method: str,
    normalize: bool,  # noqa: FBT001 - click passes flags positionally
    min_coverage: float,
    read_options: dict[str, Any],
) -> None:
    """Score gene sets in every sample of EXPR, whole transcriptome or targeted panel.

    Writes OUT/scores.tsv (samples x sets), OUT/features.parquet and .tsv (tidy, features score.<set>),
    OUT/coverage.tsv (genes measured per set) and OUT/provenance.json.
    """
    from tmescope.scoring import run_scoring

    outdir = run_scoring(
        expr,
        out,
        names=names,
        collection=collection,
        gmt=gmt,
        method=method,
        normalize=normalize,
        min_coverage=min_coverage,
        read_options=read_options,
    )
    click.echo(f"Wrote {outdir}/scores.tsv, features.parquet, features.tsv, coverage.tsv, provenance.json")


COMMANDS: list[click.Command] = [signatures_group]
