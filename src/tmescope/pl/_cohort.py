"""Figures of the cohort analyses: ranked forest plot, Kaplan–Meier curves, ROC curves (interactive and static).

They draw the tables returned by :mod:`tmescope.cohort` and compute nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope._errors import InputError
from tmescope.pl import _data
from tmescope.pl._figures import PALETTE, _figure

if TYPE_CHECKING:
    from pathlib import Path

    import plotly.graph_objects as go

#: q-value below which a forest-plot row is drawn as significant.
Q_SIGNIFICANT = 0.05
_SIG, _NONSIG = "#D55E00", "#6C7A89"


def _label(feature: str) -> str:
    fam, _, rest = feature.partition(".")
    return f"{rest.replace('_', ' ')} ({fam})" if rest else feature


def _forest_rows(results: pd.DataFrame, top: int) -> pd.DataFrame:
    if not isinstance(results, pd.DataFrame) or "effect" not in results.columns:
        msg = "The forest plot needs an association table from tmescope.cohort.associate."
        raise InputError(msg)
    rows = results[(results["status"] == "ok") & np.isfinite(results["effect"].astype(float))]
    if rows.empty:
        msg = "No feature could be tested, so there is nothing to plot."
        raise InputError(msg)
    return rows.sort_values("p", kind="stable").head(top)


def _group_colors(groups: list[str]) -> dict[str, str]:
    if set(groups) <= set(_data.SUBTYPE_ORDER):
        return {g: _data.subtype_color(g) for g in groups}
    if set(groups) <= {"low", "mid", "high"}:
        return {"low": "#0072B2", "mid": "#999999", "high": "#D55E00"}
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}


def forest(results: pd.DataFrame, *, top: int = 30, title: str | None = None) -> go.Figure:
    """Ranked forest plot: the ``top`` features by p with their effect and 95% CI.

    Hazard and odds ratios are drawn on a log axis around 1, Spearman rho on a linear axis around 0; rows with
    q < 0.05 are orange.

    Examples
    --------
    >>> from tmescope.cohort import associate, simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=80, n_features=3, effects={"sim.f0": 0.8}, seed=0)
    >>> fig = forest(associate(feats, clinical=clin, outcome="os", ph_check=0))
    >>> fig.layout.xaxis.type, len(fig.data[0].y)
    ('log', 6)
    """
    rows = _forest_rows(results, top).iloc[::-1]
    ratio = not str(rows["effect_type"].iloc[0]).startswith("Spearman")
    labels = [_label(f) for f in rows["feature"]]
    sig = rows["q"].to_numpy(float) < Q_SIGNIFICANT
    effect = rows["effect"].to_numpy(float)
    hover = [
        f"<b>{f}</b><br>{t} {e:.3g} ({lo:.3g}–{hi:.3g})<br>p = {p:.2g}, q = {q:.2g}<br>n = {int(n)}"
        + (f", events/responders = {int(ev)}" if np.isfinite(ev) else "")
        + (f"<br>flag: {fl}" if fl else "")
        for f, t, e, lo, hi, p, q, n, ev, fl in zip(
            rows["feature"],
            rows["effect_type"],
            effect,
            rows["ci_low"],
            rows["ci_high"],
            rows["p"],
            rows["q"],
            rows["n"],
            rows["n_events"].astype(float),
            rows["flag"],
            strict=True,
        )
    ]
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": "markers",
        "x": effect.tolist(),
        "y": labels,
        "marker": {"color": [_SIG if s else _NONSIG for s in sig], "size": 9, "symbol": "square"},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": (rows["ci_high"].to_numpy(float) - effect).tolist(),
            "arrayminus": (effect - rows["ci_low"].to_numpy(float)).tolist(),
            "color": "#444",
            "thickness": 1.2,
            "width": 0,
        },
        "hovertext": hover,
        "hoverinfo": "text",
        "showlegend": False,
    }
    outcome = str(rows["outcome"].iloc[0]) if "outcome" in rows else ""
    what = str(rows["effect_type"].iloc[0])
    ref = 1.0 if ratio else 0.0
    return _figure(
        [trace],
        title=title or f"{outcome.upper()}: top {len(rows)} features by p ({what}; orange: q < {Q_SIGNIFICANT})",
        height=max(300, 22 * len(rows) + 120),
        xaxis={"type": "log" if ratio else "linear", "title": {"text": what}},
        yaxis={"tickfont": {"size": 11}},
        shapes=[
            {
                "type": "line",
                "x0": ref,
                "x1": ref,
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": "#999", "dash": "dot"},
            }
        ],
        margin={"l": 320, "r": 30, "t": 60, "b": 50},
    )


def km_curves(curves: pd.DataFrame, test: dict[str, Any], *, title: str | None = None) -> go.Figure:
    """Kaplan–Meier step curves with 95% bands, one colour per group; log-rank p in the title.

    Examples
    --------
    >>> from tmescope.cohort import simulate_cohort, survival_curves
    >>> feats, clin = simulate_cohort(n_samples=60, n_features=1, seed=0)
    >>> sc = survival_curves(feats, clinical=clin, by="sim.f0")
    >>> [t.name for t in km_curves(*sc).data if t.showlegend is not False]
    ['low (n=20)', 'mid (n=20)', 'high (n=20)']
    """
    groups = list(dict.fromkeys(curves["group"].astype(str)))
    colors = _group_colors(groups)
    sizes = test.get("groups", {})
    data: list[dict[str, Any]] = []
    for g in groups:
        c = curves[curves["group"].astype(str) == g]
        col = colors[g]
        data.append(
            {
                "type": "scatter",
                "x": np.r_[c["time"], c["time"][::-1]].tolist(),
                "y": np.r_[c["ci_high"], c["ci_low"][::-1]].tolist(),
                "fill": "toself",
                "fillcolor": col,
                "opacity": 0.12,
                "line": {"width": 0, "shape": "hv"},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": g,
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": c["time"].tolist(),
                "y": c["survival"].tolist(),
                "name": f"{g} (n={sizes.get(g, '?')})",
                "legendgroup": g,
                "line": {"color": col, "shape": "hv", "width": 2},
                "customdata": np.column_stack([c["at_risk"], c["events"]]).tolist(),
                "hovertemplate": f"<b>{g}</b><br>time %{{x:.3g}}: survival %{{y:.2f}}<br>at risk %{{customdata[0]}}, "
                "events %{customdata[1]}<extra></extra>",
            }
        )
    outcome = str(test.get("outcome", "")).upper()
    p = test.get("p", np.nan)
    return _figure(
        data,
        title=title or f"{outcome} by {test.get('by', '')}: log-rank p = {p:.2g} ({test.get('n_events', '?')} events)",
        height=420,
        xaxis={"title": {"text": "time (as in the clinical table, usually months)"}, "rangemode": "tozero"},
        yaxis={"title": {"text": f"{outcome} probability"}, "range": [0, 1.02]},
    )


def roc_curves(rocs: dict[str, pd.DataFrame], *, title: str = "ROC curves for response") -> go.Figure:
    """ROC curves of several features (``name -> roc_curve() table``), AUC in the legend.

    Examples
    --------
    >>> roc = pd.DataFrame({"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]}); roc.attrs["auc"] = 0.65
    >>> roc_curves({"x.y": roc}).data[0].name
    'y (x): AUC 0.65'
    """
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#BBB", "dash": "dot"},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]
    for i, (name, roc) in enumerate(rocs.items()):
        data.insert(
            i,
            {
                "type": "scatter",
                "mode": "lines",
                "x": roc["fpr"].tolist(),
                "y": roc["tpr"].tolist(),
                "name": f"{_label(name)}: AUC {roc.attrs.get('auc', np.nan):.2f}",
                "line": {"color": PALETTE[i % len(PALETTE)], "shape": "hv"},
            },
        )
    return _figure(
        data,
        title=title,
        height=440,
        xaxis={"title": {"text": "false-positive rate (1 − specificity)"}, "range": [0, 1]},
        yaxis={"title": {"text": "true-positive rate (sensitivity)"}, "range": [0, 1.02]},
    )


# --- static versions (matplotlib) ------------------------------------------------------------------------------


def forest_static(
    results: pd.DataFrame,
    stem: Path,
    *,
    top: int = 30,
    title: str | None = None,
    formats: tuple[str, ...] = ("png", "svg"),
) -> list[Path]:
    """The forest plot as PNG/SVG files for papers (``stem`` + suffix)."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    from tmescope.pl._static import _RC, _save

    rows = _forest_rows(results, top).iloc[::-1]
    ratio = not str(rows["effect_type"].iloc[0]).startswith("Spearman")
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(7.5, 0.25 * len(rows) + 1.2))
        ax = fig.add_subplot()
        y = np.arange(len(rows))
        eff = rows["effect"].to_numpy(float)
        err = np.vstack([eff - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - eff])
        colors = [_SIG if q < Q_SIGNIFICANT else _NONSIG for q in rows["q"].to_numpy(float)]
        ax.errorbar(eff, y, xerr=err, fmt="none", ecolor="#444", elinewidth=1)
        ax.scatter(eff, y, c=colors, marker="s", s=22, zorder=3)
        ax.axvline(1.0 if ratio else 0.0, color="#999", linestyle=":")
        if ratio:
            from matplotlib.ticker import FormatStrFormatter

            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FormatStrFormatter("%.2g"))
            ax.xaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        ax.set_yticks(y, [_label(f) for f in rows["feature"]])
        ax.set_xlabel(str(rows["effect_type"].iloc[0]))
        text = title or f"{str(rows['outcome'].iloc[0]).upper()}: top {len(rows)} features (orange: q < 0.05)"
        fig.tight_layout(rect=(0, 0, 1, 0.96))
        fig.suptitle(text, x=0.01, ha="left", fontsize=10)
        return _save(fig, stem, formats)


def km_static(
    curves: pd.DataFrame, test: dict[str, Any], stem: Path, *, formats: tuple[str, ...] = ("png", "svg")
) -> list[Path]:
    """Kaplan–Meier curves as PNG/SVG files."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    from tmescope.pl._static import _RC, _save

    groups = list(dict.fromkeys(curves["group"].astype(str)))
    colors = _group_colors(groups)
    with mpl.rc_context(_RC):
        fig = Figure(figsize=(5.5, 3.8))
        ax = fig.add_subplot()
        for g in groups:
            c = curves[curves["group"].astype(str) == g]
            ax.step(
                c["time"], c["survival"], where="post", color=colors[g], label=f"{g} (n={test['groups'].get(g, '?')})"
            )
            ax.fill_between(c["time"], c["ci_low"], c["ci_high"], step="post", color=colors[g], alpha=0.12, linewidth=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel("time")
        ax.set_ylabel(f"{str(test['outcome']).upper()} probability")
        ax.set_title(
            f"{str(test['outcome']).upper()} by {_label(str(test['by']))}\nlog-rank p = {test['p']:.2g}", loc="left"
        )
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
        return _save(fig, stem, formats)


def volcano(groups: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Volcano plot of a group comparison: Hedges' g against −log10 p, one colour per comparison.

    Points with q < 0.05 are filled, the others hollow.

    Examples
    --------
    >>> from tmescope.cohort import compare_groups, simulate_cohort
    >>> feats, clin = simulate_cohort(n_samples=60, n_features=3, seed=0)
    >>> fig = volcano(compare_groups(feats, groups="sim.group"))
    >>> [t.name for t in fig.data]
    ['A vs rest', 'B vs rest', 'C vs rest']
    """
    if not isinstance(groups, pd.DataFrame) or "hedges_g" not in groups.columns:
        msg = "The volcano plot needs a table from tmescope.cohort.compare_groups."
        raise InputError(msg)
    ok = groups[(groups["status"] == "ok") & np.isfinite(groups["p"].astype(float))]
    if ok.empty:
        msg = "No feature could be compared, so there is nothing to plot."
        raise InputError(msg)
    data: list[dict[str, Any]] = []
    for i, (comp, rows) in enumerate(ok.groupby("comparison", sort=True)):
        col = PALETTE[i % len(PALETTE)]
        sig = rows["q"].to_numpy(float) < Q_SIGNIFICANT
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": str(comp),
                "x": rows["hedges_g"].tolist(),
                "y": (-np.log10(np.maximum(rows["p"].to_numpy(float), 1e-300))).tolist(),
                "marker": {
                    "color": [col if s else "white" for s in sig],
                    "line": {"color": col, "width": 1.2},
                    "size": 8,
                },
                "text": rows["feature"].tolist(),
                "customdata": np.column_stack([rows["q"], rows["n_group"], rows["n_reference"]]).tolist(),
                "hovertemplate": "<b>%{text}</b><br>Hedges' g %{x:.2f}, −log10 p %{y:.1f}<br>q %{customdata[0]:.2g}, "
                "n %{customdata[1]} vs %{customdata[2]}<extra>%{fullData.name}</extra>",
            }
        )
    name = str(groups.attrs.get("groups", "groups"))
    return _figure(
        data,
        title=title or f"Features by {name}: effect size vs significance (filled: q < {Q_SIGNIFICANT})",
        height=480,
        xaxis={"title": {"text": "Hedges' g (group − reference, in pooled SDs)"}, "zeroline": True},
        yaxis={"title": {"text": "−log10 p (Mann–Whitney)"}, "rangemode": "tozero"},
    )


def timeline(timeline: pd.DataFrame, *, feature: str, title: str | None = None) -> go.Figure:
    """Per-patient timeline of one feature: a line per patient through its timepoints, markers coloured by subtype.

    ``timeline`` is :attr:`tmescope.cohort.LongitudinalResult.timeline`.

    Examples
    --------
    >>> from tmescope.cohort import longitudinal_change, simulate_longitudinal
    >>> feats, clin = simulate_longitudinal(n_patients=6, seed=0)
    >>> fig = timeline(longitudinal_change(feats, clinical=clin).timeline, feature="sim.f0")
    >>> len(fig.data)
    6
    """
    rows = timeline[timeline["feature"] == feature]
    if rows.empty:
        msg = f"Feature {feature!r} is not in the timeline table."
        raise InputError(msg)
    subtype = timeline[timeline["feature"] == "subtype.label"].set_index("sample")["label"]
    ticks = rows.drop_duplicates("order").sort_values("order")
    data: list[dict[str, Any]] = []
    for pat, g in rows.sort_values(["order", "sample"]).groupby("patient", sort=True):
        labs = subtype.reindex(g["sample"]).fillna("").astype(str).tolist()
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": str(pat),
                "x": g["order"].tolist(),
                "y": g["value"].tolist(),
                "line": {"color": "#9AA5B1", "width": 1},
                "marker": {"color": [_data.subtype_color(lb) if lb else "#9AA5B1" for lb in labs], "size": 9},
                "text": [f"{s} ({t}) {lb}" for s, t, lb in zip(g["sample"], g["timepoint"], labs, strict=True)],
                "hovertemplate": f"<b>{pat}</b> %{{text}}<br>{feature}: %{{y:.3g}}<extra></extra>",
                "showlegend": False,
            }
        )
    return _figure(
        data,
        title=title or f"{feature} per patient over time (markers: TME subtype)",
        height=420,
        xaxis={
            "title": {"text": "timepoint"},
            "tickmode": "array",
            "tickvals": ticks["order"].tolist(),
            "ticktext": ticks["timepoint"].astype(str).tolist(),
        },
        yaxis={"title": {"text": feature}},
    )


def fidelity_matrix(fidelity: pd.DataFrame, *, deficits: pd.Series | None = None, max_targets: int = 200) -> go.Figure:
    """Heatmap of model fidelity (models in rows, patients or groups in columns; 1 = closer than every tumour).

    Examples
    --------
    >>> from tmescope.cohort import model_fidelity, simulate_models
    >>> res = model_fidelity(*simulate_models(n_patients=12, seed=0))
    >>> fidelity_matrix(res.fidelity).data[0].type
    'heatmap'
    """
    if not isinstance(fidelity, pd.DataFrame) or fidelity.empty:
        msg = "The fidelity matrix needs the `fidelity` table of tmescope.cohort.model_fidelity."
        raise InputError(msg)
    fid = fidelity.iloc[:, :max_targets]
    order = fid.mean(axis=1).sort_values().index
    fid = fid.loc[order]
    ylabels = [
        f"{m} ({deficits[m]})" if deficits is not None and isinstance(deficits.get(m), str) and deficits[m] else str(m)
        for m in fid.index
    ]
    trace = {
        "type": "heatmap",
        "z": fid.to_numpy(float).tolist(),
        "x": [str(c) for c in fid.columns],
        "y": ylabels,
        "zmin": 0,
        "zmax": 1,
        "colorscale": "Viridis",
        "colorbar": {"title": {"text": "fidelity"}},
        "hovertemplate": "model %{y}<br>target %{x}<br>fidelity %{z:.2f}<extra></extra>",
    }
    return _figure(
        [trace],
        title="Model fidelity: share of tumours farther from the target than the model",
        height=max(300, 28 * len(fid) + 160),
        xaxis={"title": {"text": "patient / group"}, "showgrid": False},
        yaxis={"showgrid": False},
        margin={"l": 360, "r": 30, "t": 60, "b": 80},
    )
