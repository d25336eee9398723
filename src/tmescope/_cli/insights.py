"""Command-line commands of the `insights` topic: ``tmescope insights`` and ``tmescope insights-rules``."""

from __future__ import annotations

from pathlib import Path

import click

from tmescope._cli._common import handle_errors


@click.command("insights")
@click.argument("profile_dir", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--rules",
    "rules",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="Your own JSON rules file (repeatable), added to the built-in knowledge base.",
)
@click.option("--no-builtin", is_flag=True, help="Use only the rules files given with --rules.")
@click.option(
    "--report", is_flag=True, help="Also write the HTML report with the insights section (needs profile.h5ad)."
)
@handle_errors
def insights_command(
    profile_dir: Path,
    out: Path,
    rules: tuple[Path, ...],
    no_builtin: bool,  # noqa: FBT001 - click passes flags positionally
    report: bool,  # noqa: FBT001 - click passes flags positionally
) -> None:
    """Evaluate the therapy-hypothesis knowledge base on PROFILE_DIR (a `tmescope profile` output folder).

    Writes OUT/features.parquet and .tsv (insight.* rows), OUT/insights.tsv (which rules fire and why),
    OUT/insight_clauses.tsv, OUT/rules.tsv and OUT/provenance.json. These are research hypotheses, not
    treatment recommendations.
    """
    from tmescope.insights import DISCLAIMER, run_insights

    outdir = run_insights(profile_dir, out, rules=list(rules), builtin=not no_builtin, report=report)
    click.echo(
        f"Wrote {outdir}/features.parquet, features.tsv, insights.tsv, insight_clauses.tsv, rules.tsv, provenance.json"
        + (", report/" if report else "")
    )
    click.echo(DISCLAIMER)


@click.command("insights-rules")
@click.option(
    "--rules",
    "rules",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="A JSON rules file to validate and list (repeatable).",
)
@click.option("--no-builtin", is_flag=True, help="Leave out the built-in knowledge base.")
@handle_errors
def insights_rules_command(rules: tuple[Path, ...], no_builtin: bool) -> None:  # noqa: FBT001 - click flag
    """Validate rules files against the schema and list the rules (id, strategy, direction, evidence, citations)."""
    from tmescope.insights import load_rules

    kb = load_rules(list(rules), builtin=not no_builtin)
    frame = kb.to_frame()
    click.echo(f"{kb.name} {kb.version}: {len(kb)} rules, all valid.")
    for r in frame.itertuples():
        click.echo(f"- {r.rule} [{r.strategy}, {r.direction}, {r.evidence_level}] {r.condition} — {r.citations}")


COMMANDS: list[click.Command] = [insights_command, insights_rules_command]
