"""Command-line commands of the `cohort` topic: ``tmescope cohort``."""

from __future__ import annotations

from pathlib import Path

import click

from tmescope._cli._common import handle_errors


@click.command("cohort")
@click.argument("profile_dir", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--clinical",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Clinical table (default: the clinical columns stored in PROFILE_DIR/profile.h5ad).",
)
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--outcome",
    "outcomes",
    type=click.Choice(["os", "pfs", "response", "recist"]),
    multiple=True,
    help="Outcome(s) to analyse (repeat the option); default: every outcome the clinical table supports.",
)
@click.option(
    "--covariates",
    default="",
    help="Comma-separated clinical columns or features to adjust for, e.g. 'age,sex' or 'estimate.purity'.",
)
@click.option(
    "--by",
    default="subtype.label,immunotherapy.gep_18gene_ayers2017",
    show_default=True,
    help="Comma-separated groupings of the Kaplan–Meier curves (categorical feature, numeric feature in tertiles, "
    "or clinical column).",
)
@click.option(
    "--correction",
    type=click.Choice(["fdr_bh", "bonferroni", "holm"]),
    default="fdr_bh",
    show_default=True,
    help="Multiple-testing correction.",
)
@click.option(
    "--compare",
    default=None,
    help="Also compare the groups of this clinical column or categorical feature on every feature (groups.tsv).",
)
@click.option(
    "--predict",
    is_flag=True,
    help="Also fit a nested cross-validated response model (prediction.tsv/.json; out-of-fold AUC only).",
)
@click.option(
    "--timepoints",
    default="",
    help="Comma-separated timepoint labels in time order, for patients sampled more than once (default: inferred "
    "from pre/on/post in the labels).",
)
@click.option(
    "--drivers",
    default="",
    help="Comma-separated features whose purity-adjusted driver genes are scanned genome-wide (expression from "
    "PROFILE_DIR/profile.h5ad), e.g. immunotherapy.cyt_rooney2015.",
)
@click.option("--n-boot", type=click.IntRange(min=10), default=1000, show_default=True, help="AUC bootstraps.")
@click.option("--title", default=None, help="Report title.")
@click.option("--no-report", is_flag=True, help="Skip the HTML report.")
@handle_errors
def cohort_command(  # noqa: PLR0917 - click passes every option positionally
    profile_dir: Path,
    clinical: Path | None,
    out: Path,
    outcomes: tuple[str, ...],
    covariates: str,
    by: str,
    correction: str,
    compare: str | None,
    predict: bool,  # noqa: FBT001 - click passes flags positionally
    timepoints: str,
    drivers: str,
    n_boot: int,
    title: str | None,
    no_report: bool,  # noqa: FBT001 - click passes flags positionally
) -> None:
    """Associate every TME feature of PROFILE_DIR (a `tmescope profile` output) with survival and response.

    Patients with samples at several timepoints also get the paired longitudinal analysis.

    Writes OUT/association.parquet and .tsv (one row per outcome x feature: effect, 95% CI, p, q, AUC, flags),
    OUT/km_curves.tsv, OUT/km_tests.json, OUT/roc.tsv, OUT/provenance.json and OUT/report/index.html.
    """
    from tmescope.cohort import run_cohort

    outdir = run_cohort(
        profile_dir,
        out,
        clinical=clinical,
        outcomes=list(outcomes) or None,
        covariates=[c.strip() for c in covariates.split(",") if c.strip()],
        by=[b.strip() for b in by.split(",") if b.strip()],
        correction=correction,
        n_boot=n_boot,
        compare=compare,
        predict=predict,
        timepoints=[t.strip() for t in timepoints.split(",") if t.strip()] or None,
        drivers=[d.strip() for d in drivers.split(",") if d.strip()],
        title=title,
        report=not no_report,
    )
    import pandas as pd

    assoc = pd.read_parquet(outdir / "association.parquet")
    for outcome, rows in assoc.groupby("outcome", sort=False):  # empty when only groups/longitudinal ran
        n_sig = int((rows["q"] < 0.05).sum())
        top = rows.iloc[0]
        click.echo(
            f"{outcome}: {int((rows['status'] == 'ok').sum())} features tested, {n_sig} with q < 0.05; "
            f"strongest {top['feature']} ({top['effect_type']} {top['effect']:.3g}, p = {top['p']:.2g})"
        )
    changes = outdir / "longitudinal_changes.tsv"
    if changes.exists():
        ch = pd.read_csv(changes, sep="\t")
        click.echo(
            f"longitudinal: {int(ch['n_pairs'].max())} paired patients, {int((ch['q'] < 0.05).sum())} features "
            "changed with q < 0.05"
        )
    pred = outdir / "prediction.json"
    if pred.exists():
        import json

        summary = json.loads(pred.read_text(encoding="utf-8"))
        lo, hi = summary["auc_ci"]
        click.echo(f"response model: out-of-fold AUC {summary['auc_out_of_fold']:.3f} (95% CI {lo:.3f}-{hi:.3f})")
    click.echo(
        f"Wrote {outdir}/association.parquet, association.tsv, km_curves.tsv, roc.tsv, provenance.json"
        + ("" if no_report else ", report/")
    )


@click.command("fidelity")
@click.argument("models", type=click.Path(exists=True, path_type=Path))
@click.argument("patients", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option(
    "--groupby",
    default=None,
    help="Categorical feature of the patients (e.g. subtype.label) to score against groups, not single patients.",
)
@click.option("--no-report", is_flag=True, help="Skip the HTML report.")
@handle_errors
def fidelity_command(
    models: Path,
    patients: Path,
    out: Path,
    groupby: str | None,
    no_report: bool,  # noqa: FBT001 - click passes flags positionally
) -> None:
    """Score how closely the TME of each experimental model (MODELS) matches each patient tumour (PATIENTS).

    MODELS and PATIENTS are feature tables or profile folders (e.g. `tmescope profile` outputs). Writes
    OUT/fidelity.tsv, distance.tsv, compartments.tsv (deficits such as 'no CAF signal'), ranking.tsv,
    provenance.json and OUT/report/index.html.
    """
    import pandas as pd

    from tmescope.cohort import run_fidelity

    outdir = run_fidelity(models, patients, out, groupby=groupby, report=not no_report)
    comp = pd.read_csv(outdir / "compartments.tsv", sep="\t", index_col=0, keep_default_na=False)
    fid = pd.read_csv(outdir / "fidelity.tsv", sep="\t", index_col=0)
    for model, f in fid.mean(axis=1).sort_values(ascending=False).items():
        deficit = comp.loc[model, "deficits"] if model in comp.index else ""
        click.echo(f"{model}: mean fidelity {f:.2f}" + (f" ({deficit})" if deficit else ""))
    click.echo(f"Wrote {outdir}/fidelity.tsv, distance.tsv, compartments.tsv, ranking.tsv, provenance.json")


COMMANDS = [cohort_command, fidelity_command]
