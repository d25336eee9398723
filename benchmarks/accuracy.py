"""Composition accuracy on ground-truth sets, side by side with published predictions of other methods.

Every deconvolution configuration (method x shipped reference) is scored against every ground-truth set in
``../shared/reference``: Racle 2017 melanoma lymph nodes and Hoek 2015 PBMC (epic/), Finotello 2019 PBMC
(kassandra/), SDY67 PBMC and GSE60424 whole blood (gldadec/), SDY420 PBMC arrays (xcell/). Per set and cell
type: Pearson, Spearman, RMSE; pooled over the set's cell types; and the share of (sample, cell type) pairs
whose 95% bootstrap interval holds the measured value. Published predictions: 12 methods on Finotello
(kassandra/GSE107572_predictions) and EPIC on Racle and Hoek (epic/). ``build_reference`` is validated
leave-patients-out on the CRC pseudobulk profiles (crc_scrna_pseudobulk_lee2020_iobr).

Run: ``python -m benchmarks accuracy`` (part of ``make bench``). Prints markdown tables.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT.parent / "shared" / "reference"
CONFIGS = [
    ("epic", "til10"),
    ("nnls", "til10"),
    ("svr", "til10"),
    ("epic", "safetme"),
    ("nnls", "safetme"),
    ("svr", "safetme"),
]
#: Bootstrap replicates per method. nu-SVR refits one SVR per replicate and sample (about 0.4 s each on the
#: 904-gene safeTME signature), so its intervals are left out of the benchmark.
N_BOOT = {"epic": 200, "nnls": 200, "svr": 0}

# Truth cell types -> columns of each reference that make them up.
_TIL10 = {
    "B": ["b_cell"],
    "CD4 T": ["cd4_t", "treg"],
    "CD8 T": ["cd8_t"],
    "NK": ["nk"],
    "Monocytes": ["monocyte", "macrophage_m1", "macrophage_m2"],
    "DC": ["dendritic_cell"],
    "Neutrophils": ["neutrophil"],
    "Other": ["other"],
}
_SAFETME = {
    "B": ["b_naive", "b_memory", "plasma"],
    "CD4 T": ["cd4_t_naive", "cd4_t_memory", "treg"],
    "CD8 T": ["cd8_t_naive", "cd8_t_memory"],
    "NK": ["nk"],
    "Monocytes": ["monocyte_classical", "monocyte_nonclassical", "macrophage"],
    "DC": ["mdc", "pdc"],
    "Neutrophils": ["neutrophil"],
    "Other": ["other"],
}
for _m in (_TIL10, _SAFETME):
    _m["T"] = _m["CD4 T"] + _m["CD8 T"]
    _m["Lymphocytes"] = _m["T"] + _m["B"] + _m["NK"]
MAPS = {"til10": _TIL10, "safetme": _SAFETME}


def _read(path: Path, scale: str) -> ad.AnnData:
    from tmescope.io import read_expression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_expression(path, scale=scale)


def load_sets() -> dict[str, tuple[ad.AnnData, pd.DataFrame, list[str]]]:
    """Ground-truth sets: (expression AnnData, measured fractions samples x types, types pooled)."""
    sets: dict[str, tuple[ad.AnnData, pd.DataFrame, list[str]]] = {}
    e = REF / "epic"
    t = pd.read_csv(e / "racle2017_melanoma_LN_fractions_FACS.tsv", sep="\t", index_col=0)
    t = t.rename(columns={"Bcells": "B", "CD4_Tcells": "CD4 T", "CD8_Tcells": "CD8 T", "NKcells": "NK"})
    t["Other"] = t["Cancer_cells"]
    sets["Racle 2017 melanoma LN"] = (
        _read(e / "racle2017_melanoma_LN_expression_TPM.tsv", "linear"),
        t,
        ["B", "CD4 T", "CD8 T", "NK", "Other"],
    )
    t = pd.read_csv(e / "hoek2015_PBMC_fractions_FACS.tsv", sep="\t", index_col=0)
    t.columns = [c.replace("obs.", "") for c in t.columns]
    t = t.rename(columns={"Bcells": "B", "NKcells": "NK", "Tcells": "T", "MyeloidDC": "DC"})
    sets["Hoek 2015 PBMC"] = (_read(e / "hoek2015_PBMC_rawcounts.tsv", "counts"), t, ["B", "Monocytes", "NK", "T"])
    k = REF / "kassandra"
    t = pd.read_csv(k / "finotello2019_GSE107572_PBMC_fractions_flow_percent.tsv", sep="\t", index_col=0)
    t = t.drop(index="GSM").astype(float).T / 100.0
    t = t.rename(
        columns={
            "B_cells": "B",
            "CD4_T_cells": "CD4 T",
            "CD8_T_cells": "CD8 T",
            "NK_cells": "NK",
            "Dendritic_cells": "DC",
            "T_cells": "T",
        }
    )
    sets["Finotello 2019 PBMC"] = (
        _read(k / "finotello2019_GSE107572_PBMC_expression_TPM.tsv", "linear"),
        t,
        ["B", "CD4 T", "CD8 T", "Monocytes", "NK"],
    )
    g = REF / "gldadec"
    t = pd.read_csv(g / "SDY67_PBMC_subset12_fractions_flow.tsv", sep="\t", index_col=0)
    t = t.rename(columns={"B cells": "B", "CD4 T cells": "CD4 T", "CD8 T cells": "CD8 T", "NK cells": "NK"})
    sets["SDY67 PBMC"] = (
        _read(g / "SDY67_PBMC_subset12_expression.tsv", "counts"),
        t,
        ["B", "CD4 T", "CD8 T", "NK", "Monocytes"],
    )
    t = pd.read_csv(g / "GSE60424_wholeblood_fractions_cellcounts.tsv", sep="\t", index_col=0)
    t = t.rename(columns={"Mon": "Monocytes", "Neu": "Neutrophils"})
    sets["GSE60424 whole blood"] = (
        _read(g / "GSE60424_wholeblood_expression.tsv", "linear"),
        t,
        ["Lymphocytes", "Monocytes", "Neutrophils"],
    )
    x = REF / "xcell"
    t = pd.read_csv(x / "SDY420_PBMC_fractions_CyTOF.tsv", sep="\t", index_col=0).T
    t = t.rename(
        columns={
            "B-cells": "B",
            "CD4+ T-cells": "CD4 T",
            "CD8+ T-cells": "CD8 T",
            "NK cells": "NK",
            "T cells": "T",
        }
    )
    sets["SDY420 PBMC (array)"] = (
        _read(x / "SDY420_PBMC_illumina_array_expression_log2.tsv", "log2(x+1)"),
        t,
        ["B", "CD4 T", "CD8 T", "NK", "Monocytes"],
    )
    return sets


def _metrics(est: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    ok = np.isfinite(est) & np.isfinite(truth)
    est, truth = est[ok], truth[ok]
    if est.size < 3 or np.std(est) == 0 or np.std(truth) == 0:
        r = rho = float("nan")
    else:
        r = float(pearsonr(est, truth)[0])
        rho = float(spearmanr(est, truth)[0])
    return r, rho, float(np.sqrt(np.mean((est - truth) ** 2)))


def _aggregate(frame: pd.DataFrame, mapping: dict[str, list[str]], types: list[str]) -> pd.DataFrame:
    return pd.DataFrame({t: frame[[c for c in mapping[t] if c in frame.columns]].sum(axis=1) for t in types})


def score(est: pd.DataFrame, truth: pd.DataFrame, types: list[str]) -> tuple[pd.DataFrame, tuple[float, float, float]]:
    truth = truth.loc[est.index]
    rows = [(t, *_metrics(est[t].to_numpy(float), truth[t].to_numpy(float))) for t in types]
    pooled = _metrics(est[types].to_numpy(float).ravel(), truth[types].to_numpy(float).ravel())
    return pd.DataFrame(rows, columns=["cell type", "pearson", "spearman", "rmse"]), pooled


def _published(name: str, types: list[str]) -> dict[str, pd.DataFrame]:
    """Published predictions on a set, as fractions, truth-type columns."""
    out: dict[str, pd.DataFrame] = {}
    if name == "Finotello 2019 PBMC":
        rename = {
            "B_cells": "B",
            "CD4_T_cells": "CD4 T",
            "CD8_T_cells": "CD8 T",
            "NK_cells": "NK",
            "Monocytes": "Monocytes",
        }
        for f in sorted((REF / "kassandra" / "GSE107572_predictions").glob("*.tsv")):
            p = pd.read_csv(f, sep="\t", index_col=0)
            p = p.loc[[r for r in rename if r in p.index]].rename(index=rename).T.astype(float)
            if p.to_numpy().max() > 1.5:
                p = p / 100.0
            out[f.stem] = p.reindex(columns=types)
    elif name == "Racle 2017 melanoma LN":
        p = pd.read_csv(REF / "epic" / "racle2017_melanoma_LN_fractions_EPIC_TRef_pred.tsv", sep="\t", index_col=0)
        p = p.rename(columns={"Bcells": "B", "CD4_Tcells": "CD4 T", "CD8_Tcells": "CD8 T", "NKcells": "NK"})
        p["Other"] = p["otherCells"]
        out["EPIC (TRef, published)"] = p.reindex(columns=types)
    elif name == "Hoek 2015 PBMC":
        p = pd.read_csv(REF / "epic" / "hoek2015_PBMC_fractions_EPIC_v1.0_BRef_pred.tsv", sep="\t", index_col=0)
        p = p.rename(columns={"Bcells": "B", "NKcells": "NK", "Tcells": "T"})
        out["EPIC 1.0 (BRef, published)"] = p.reindex(columns=types)
    return out


def _coverage(low: pd.DataFrame, high: pd.DataFrame, truth: pd.DataFrame, mapping, types) -> tuple[int, int]:
    """Pairs inside the interval, over truth types that are a single reference column (bounds do not add up)."""
    inside = total = 0
    for t in types:
        cols = [c for c in mapping[t] if c in low.columns]
        if len(cols) != 1:
            continue
        tv = truth.loc[low.index, t].to_numpy(float)
        ok = np.isfinite(tv)
        lo, hi = low[cols[0]].to_numpy()[ok], high[cols[0]].to_numpy()[ok]
        inside += int(((lo - 1e-9 <= tv[ok]) & (tv[ok] <= hi + 1e-9)).sum())
        total += int(ok.sum())
    return inside, total


def _lpo_crc() -> list[tuple[str, float, float]]:
    """build_reference leave-patients-out: mixtures of held-out patients' pseudobulk profiles."""
    from tmescope.bulk import build_reference, deconvolve

    folder = REF / "crc_scrna_pseudobulk_lee2020_iobr"
    counts = pd.read_csv(folder / "pseudobulk_counts.tsv.gz", sep="\t", index_col=0)
    obs = pd.read_csv(folder / "pseudobulk_samples.tsv", sep="\t", index_col=0).loc[counts.columns]
    data = ad.AnnData(counts.T.to_numpy(np.float64), obs=obs, var=pd.DataFrame(index=counts.index))
    keep = data.obs["cell_type"].isin(
        ["CD8Tcells", "CD4Tcells", "CD19CD20B", "IgGPlasma", "SPP1", "Myofibroblasts", "StalklikeECs", "NKcells"]
    )
    data = data[keep.to_numpy()].copy()
    patients = sorted(data.obs["patient"].unique())
    rng = np.random.default_rng(0)
    results = []
    ests, truths = {m: [] for m in ("epic", "nnls", "svr")}, []
    for fold in range(4):
        test_p = patients[fold::4]
        is_test = data.obs["patient"].isin(test_p).to_numpy()
        ref = build_reference(data[~is_test].copy(), groupby="cell_type", sample_key="patient", n_markers=50)
        test = data[is_test]
        rows, truth = [], []
        for p in test_p:
            sub = test[test.obs["patient"] == p]
            prof = sub.X / sub.X.sum(axis=1, keepdims=True) * 1e6
            for _ in range(5):
                w = rng.dirichlet(np.ones(sub.n_obs))
                rows.append(w @ prof)
                truth.append(pd.Series(w, index=sub.obs["cell_type"].to_numpy()))
        mix = ad.AnnData(np.vstack(rows), var=pd.DataFrame(index=data.var_names))
        mix.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
        truths.append(pd.DataFrame(truth).reindex(columns=ref.cell_types).fillna(0.0).to_numpy())
        for m, found in ests.items():
            found.append(deconvolve(mix, method=m, reference=ref, n_boot=0)[ref.cell_types].to_numpy())
    t = np.vstack(truths)
    for m, parts in ests.items():
        e = np.vstack(parts)
        r, _, rmse = _metrics(e.ravel(), t.ravel())
        results.append((m, r, rmse))
    return results


def _fmt(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x:.2f}"


def main(argv: list[str] | None = None) -> None:
    """Every configuration on every ground-truth set (takes no options; ``argv`` for a uniform entry point)."""
    del argv
    from tmescope.bulk import deconvolve

    if not REF.is_dir():
        print("accuracy: ../shared/reference not present; skipped")
        return
    sets = load_sets()
    pooled_rows, per_type_rows, coverage, coverage_rnaseq = [], [], {}, {}
    t0 = time.perf_counter()
    for name, (adata, truth, types) in sets.items():
        for method, reference in CONFIGS:
            work = adata.copy()
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                deconvolve(work, method=method, reference=reference, n_boot=N_BOOT[method], seed=0)
            print(f"{name} {method}/{reference}: {time.perf_counter() - t1:.1f} s", file=sys.stderr)
            fr = work.obsm["fractions"]
            mapping = MAPS[reference]
            est = _aggregate(fr, mapping, types)
            table, pooled = score(est, truth, types)
            label = f"tmescope {method}/{reference}"
            pooled_rows.append((name, label, *pooled))
            per_type_rows.extend((name, label, *row) for row in table.itertuples(index=False))
            low = work.obsm["fractions_ci_low"]
            high = work.obsm["fractions_ci_high"]
            cov = _coverage(low, high, truth, mapping, types) if N_BOOT[method] else (0, 0)
            coverage.setdefault(label, [0, 0])
            coverage[label][0] += cov[0]
            coverage[label][1] += cov[1]
            width = float(np.median((high - low).to_numpy())) if N_BOOT[method] else float("nan")
            if "array" not in name:
                coverage_rnaseq.setdefault(label, [0, 0])
                coverage_rnaseq[label][0] += cov[0]
                coverage_rnaseq[label][1] += cov[1]
            n_flag = int(work.obs["deconvolution_flag"].str.contains("poor_fit").sum())
            pooled_rows[-1] = (
                *pooled_rows[-1],
                f"{cov[0]}/{cov[1]} ({width:.2f})" if cov[1] else "–",
                float(np.median(work.obs["deconvolution_fit"])),
                f"{n_flag}/{work.n_obs}",
            )
        for label, est in _published(name, types).items():
            table, pooled = score(est.loc[truth.index.intersection(est.index)], truth, types)
            pooled_rows.append((name, f"{label}", *pooled, "", float("nan"), ""))
            per_type_rows.extend((name, label, *row) for row in table.itertuples(index=False))
    elapsed = time.perf_counter() - t0

    print("\n## Composition accuracy on ground-truth sets\n")
    print(
        f"tmescope: bootstrap replicates {N_BOOT}, seed 0; {len(sets)} sets x {len(CONFIGS)} configurations in {elapsed:.0f} s.\n"
    )
    print(
        "| set | method | pooled Pearson | pooled Spearman | pooled RMSE | CI covers truth (median width) | median fit "
        "| poor_fit |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, label, r, rho, rmse, cov, fit, flag in pooled_rows:
        print(f"| {name} | {label} | {_fmt(r)} | {_fmt(rho)} | {_fmt(rmse)} | {cov} | {_fmt(fit)} | {flag} |")
    print("\nInterval coverage over all sets (single-column cell types):\n")
    for label, (inside, total) in coverage.items():
        if not total:
            continue
        print(f"- {label}: {inside}/{total} = {inside / max(total, 1):.0%}")
    print("\nInterval coverage over the RNA-seq sets (SDY420 arrays left out):\n")
    for label, (inside, total) in coverage_rnaseq.items():
        if total:
            print(f"- {label}: {inside}/{total} = {inside / total:.0%}")
    print("\n### Per cell type\n")
    print("| set | method | cell type | Pearson | Spearman | RMSE |")
    print("|---|---|---|---|---|---|")
    for name, label, ct, r, rho, rmse in per_type_rows:
        print(f"| {name} | {label} | {ct} | {_fmt(r)} | {_fmt(rho)} | {_fmt(rmse)} |")
    print("\n### build_reference, leave patients out (CRC pseudobulk, 8 cell types, 4 folds, 115 mixtures)\n")
    print("| method | Pearson | RMSE |")
    print("|---|---|---|")
    for m, r, rmse in _lpo_crc():
        print(f"| {m} | {_fmt(r)} | {_fmt(rmse)} |")


if __name__ == "__main__":
    main()
