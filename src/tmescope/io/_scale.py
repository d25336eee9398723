"""Value-scale detection and conversion.

:func:`detect_scale` decides whether a matrix holds raw counts, linear TPM/FPKM-like values, log2 values (and
with which pseudocount), values in another log base, or centred/z-scored values, and says why.
:func:`as_scale` converts the recorded scale to what a method needs; every un-logging is reported as an
automatic fix (warning + provenance), never done silently.

The rules, in order (values are the finite cells of the matrix):

1. values below zero:

   - a plateau at the minimum ``m`` with ``2**m`` a round pseudocount (0.001, 0.01, …) -> ``log2``
     with that pseudocount (log2(TPM + 0.001) has its zeros at -9.9658);
   - the same with ``e**m`` or ``10**m`` round -> ``log_other`` (ln or log10; the base must be declared);
   - many negatives (> 20 %) and gene or sample means near 0 -> ``centered``;
   - a few small negatives (< 5 %, none below -5 % of the maximum) -> classified on the rest, and the
     reader refuses them unless asked to clip (batch-corrected data);
2. non-negative integers with a maximum above 30 (or 1,000+ integer values) -> ``counts``;
3. a maximum above 32 -> ``linear`` (no realistic log2 expression exceeds 2^32), so a linear TPM subset
   with maximum 40 is never un-logged — the usual "max < 50 means log" rule is not used;
4. otherwise log versus linear: with 2,000+ genes, the base whose back-transformed sample sums come closest
   to 10^6 (TPM) decides (2 -> ``log2``; e or 10 -> ``log_other``); with fewer genes, the skewness of the
   values versus that of their logarithm, and the mean–SD trend over genes (linear data have SD growing with
   the mean). A decision made on weak evidence is marked ``uncertain`` in the evidence and conversions
   refuse it until the scale is declared.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from tmescope._errors import InputError, ScaleError
from tmescope._keys import LAYER_LINEAR, LAYER_LOG2, UNS_INPUT

if TYPE_CHECKING:
    from anndata import AnnData

SCALES = ("counts", "linear", "log2", "log_other", "centered")
TARGETS = ("linear", "log2p1")
#: Round pseudocounts recognised from a plateau at the minimum.
NICE_PSEUDOCOUNTS = (1.0, 0.5, 0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6)
#: Evidence prefix of a decision made on weak evidence.
UNCERTAIN = "uncertain: "
_MAX_LOG2 = 32.0
_MIN_GENES_FOR_SUMS = 2000
_SAMPLE_CELLS = 2_000_000
_NEGLIGIBLE = 1e-6
#: Largest fraction of negative values still read as "a few" (batch-correction noise), not centring.
_FEW_NEGATIVE = 0.05


class ScaleReport(NamedTuple):
    """What :func:`detect_scale` found."""

    scale: str
    """One of ``counts``, ``linear``, ``log2``, ``log_other``, ``centered``."""
    pseudocount: float | None
    """For log scales, ``c`` in log(x + c) when it could be told (1 for log2(x+1)); else ``None``."""
    evidence: str
    """Why; starts with ``"uncertain: "`` when the evidence is weak."""


def is_uncertain(report: ScaleReport) -> bool:
    """Whether a scale decision was made on weak evidence.

    Examples
    --------
    >>> is_uncertain(ScaleReport("linear", None, "uncertain: only 4 values"))
    True
    """
    return report.evidence.startswith(UNCERTAIN)


def _dense(X: Any) -> np.ndarray:
    if hasattr(X, "obs_names") and hasattr(X, "X"):  # an AnnData: use its matrix
        X = X.X
    if sp.issparse(X):
        X = X.toarray()
    return np.asarray(X, dtype=np.float64)


def _quiet(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a NaN-aware NumPy reduction without its warning for all-NaN slices (they give NaN, handled later)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(*args, **kwargs)


def _nice(value: float, *, tol: float = 0.01) -> float | None:
    if not np.isfinite(value) or value <= 0:
        return None
    for c in NICE_PSEUDOCOUNTS:
        if abs(math.log2(value) - math.log2(c)) < tol:
            return c
    return None


def _skew(v: np.ndarray) -> float:
    if v.size < 3:
        return 0.0
    s = v.std()
    if s == 0:
        return 0.0
    return float(np.mean(((v - v.mean()) / s) ** 3))


def _subsample(v: np.ndarray) -> np.ndarray:
    if v.size <= _SAMPLE_CELLS:
        return v
    step = v.size // _SAMPLE_CELLS + 1
    return v[::step]


def _base_by_sums(X: np.ndarray, pseudocount: float) -> tuple[str, dict[str, float]]:
    """Base (2, e, 10) whose back-transformed per-sample sums are closest to 10^6 (TPM)."""
    sums: dict[str, float] = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for name, base in (("2", 2.0), ("e", math.e), ("10", 10.0)):
            back = np.power(base, np.clip(X, None, 300.0)) - pseudocount
            sums[name] = float(_quiet(np.nanmedian, np.nansum(np.clip(back, 0, None), axis=1)))
    dist = {k: abs(math.log10(max(v, 1e-300)) - 6.0) if np.isfinite(v) else np.inf for k, v in sums.items()}
    return min(dist, key=lambda k: dist[k]), sums


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def detect_scale(X: Any) -> ScaleReport:
    """Detect the value scale of an expression matrix (samples in rows, genes in columns).

    Parameters
    ----------
    X
        Dense or sparse matrix (or an AnnData, whose ``X`` is used), samples × genes. Missing values are ignored.

    Returns
    -------
    ScaleReport
        ``scale`` (``counts``, ``linear``, ``log2``, ``log_other``, ``centered``), ``pseudocount`` (``c`` of
        log(x + c) when known) and ``evidence`` (the rule that decided; starts with ``"uncertain: "`` when weak).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> tpm = rng.lognormal(1.0, 2.0, size=(5, 3000))
    >>> tpm[:, :300] = 0.0
    >>> tpm = tpm / tpm.sum(axis=1, keepdims=True) * 1e6
    >>> detect_scale(tpm).scale
    'linear'
    >>> r = detect_scale(np.log2(tpm + 0.001))
    >>> (r.scale, r.pseudocount)
    ('log2', 0.001)
    """
    X = _dense(X)
    if X.ndim != 2:
        msg = f"detect_scale expects a 2-D matrix (samples × genes); received an array with shape {X.shape}."
        raise InputError(msg)
    finite = np.isfinite(X)
    v = X[finite]
    if v.size == 0:
        msg = "Cannot detect the value scale: the matrix has no finite values."
        raise InputError(msg)
    n_genes = X.shape[1]
    vmin, vmax = float(v.min()), float(v.max())
    if vmin < 0 and -vmin <= _NEGLIGIBLE:
        # Floating-point noise from a back-transform (2^x - c): these are zeros.
        inner = _detect_nonnegative(np.where(X < 0, 0.0, X), n_genes)
        return ScaleReport(
            inner.scale,
            inner.pseudocount,
            f"{inner.evidence}; negative values down to {_fmt(vmin)} read as rounding noise",
        )
    n_neg = int(np.count_nonzero(v < 0))
    if n_neg:
        frac_neg = n_neg / v.size
        n_at_min = int(np.count_nonzero(v == vmin))
        # Integer-valued data are not logarithms, whatever their minimum.
        integer_valued = bool(np.all(_subsample(v) == np.round(_subsample(v))))
        plateau = (n_at_min >= 2 or vmin <= -3) and not integer_valued
        if plateau and vmax <= _MAX_LOG2:
            c2, ce, c10 = _nice(2.0**vmin), _nice(math.exp(vmin)), _nice(10.0**vmin)
            if c2 is not None and c2 < 1:
                return ScaleReport(
                    "log2",
                    c2,
                    f"{n_at_min} value(s) sit at the minimum {_fmt(vmin)} = log2({_fmt(c2)}): log2(x + {_fmt(c2)}) "
                    f"with zeros at the minimum; maximum {_fmt(vmax)}",
                )
            other = ce if ce is not None and ce < 1 else (c10 if c10 is not None and c10 < 1 else None)
            if other is not None:
                base = "e" if ce is not None and ce < 1 else "10"
                name = "ln" if base == "e" else "log10"
                return ScaleReport(
                    "log_other",
                    other,
                    f"{n_at_min} value(s) sit at the minimum {_fmt(vmin)} = {name}({_fmt(other)}), not a log2 of a "
                    f"round number: looks like {name}(x + {_fmt(other)}); the base is ambiguous, declare it "
                    f"(scale='{name}(x+{_fmt(other)})')",
                )
        gene_means = _quiet(np.nanmean, np.where(finite, X, np.nan), axis=0)
        sample_means = _quiet(np.nanmean, np.where(finite, X, np.nan), axis=1)
        sd = float(v.std()) or 1.0
        near_zero = min(
            abs(float(_quiet(np.nanmedian, gene_means))) if np.isfinite(gene_means).any() else np.inf,
            abs(float(_quiet(np.nanmedian, sample_means))),
        )
        if frac_neg > 0.2 and near_zero < 0.25 * sd:
            return ScaleReport(
                "centered",
                None,
                f"{100 * frac_neg:.0f}% of values are negative and gene or sample means are near 0 "
                f"(median mean {_fmt(near_zero)}, SD {_fmt(sd)}): centred or z-scored data",
            )
        if frac_neg < _FEW_NEGATIVE and -vmin <= 0.05 * max(vmax, 1e-12):
            inner = _detect_nonnegative(np.where(X < 0, 0.0, X), n_genes)
            return ScaleReport(
                inner.scale,
                inner.pseudocount,
                f"{inner.evidence}; {n_neg} small negative value(s) (minimum {_fmt(vmin)}) ignored for the decision",
            )
        if vmax <= _MAX_LOG2 and frac_neg <= 0.5:
            if n_genes >= _MIN_GENES_FOR_SUMS:
                base, sums = _base_by_sums(X, 0.0)
                if base == "2":
                    return ScaleReport(
                        "log2",
                        0.0,
                        f"negative values without a plateau and 2^x sums per sample near {_fmt(sums['2'])}: "
                        "log2(x) without pseudocount",
                    )
                return ScaleReport(
                    "log_other", 0.0, f"back-transformed sums fit base {base} best ({sums}); declare the base"
                )
            return ScaleReport(
                "log2", 0.0, f"{UNCERTAIN}{n_neg} negative value(s) without a plateau, maximum {_fmt(vmax)}: log2(x)?"
            )
        return ScaleReport(
            "centered",
            None,
            f"{UNCERTAIN}{100 * frac_neg:.1f}% negative values that are neither a log plateau nor a few small "
            f"ones (minimum {_fmt(vmin)}, maximum {_fmt(vmax)}): treated as centred/transformed data",
        )
    return _detect_nonnegative(X, n_genes)


def _detect_nonnegative(X: np.ndarray, n_genes: int) -> ScaleReport:
    finite = np.isfinite(X)
    v = X[finite]
    vmin, vmax = float(v.min()), float(v.max())
    sample = _subsample(v)
    is_int = bool(np.all(sample == np.round(sample))) and bool(np.all(v == np.round(v)))
    if is_int and (vmax > 30 or v.size >= 1000):
        # Log-transformed values are practically never all integers; shallow counts can have a small maximum.
        return ScaleReport("counts", None, f"all values are non-negative integers, maximum {_fmt(vmax)}: raw counts")
    if vmax > _MAX_LOG2:
        return ScaleReport(
            "linear",
            None,
            f"maximum {_fmt(vmax)} is above {_MAX_LOG2:.0f}, impossible on a log2 scale: linear (TPM/FPKM-like)",
        )
    if vmax == vmin:
        return ScaleReport("linear", None, f"{UNCERTAIN}every value equals {_fmt(vmax)}")
    zeros = bool(np.any(v == 0))
    log_pc = 1.0 if zeros or (0 <= vmin < 1) else 0.0
    if n_genes >= _MIN_GENES_FOR_SUMS:
        base, sums = _base_by_sums(X, log_pc)
        if base == "2":
            return ScaleReport(
                "log2",
                log_pc,
                f"maximum {_fmt(vmax)} and 2^x - {_fmt(log_pc)} sums to {_fmt(sums['2'])} per sample "
                f"(median): log2(x + {_fmt(log_pc)})",
            )
        name = "ln" if base == "e" else "log10"
        return ScaleReport(
            "log_other",
            log_pc,
            f"maximum {_fmt(vmax)}; back-transformed sums per sample are closest to 10^6 with base {base} "
            f"({', '.join(f'base {k}: {_fmt(s)}' for k, s in sums.items())}): looks like {name}(x + {_fmt(log_pc)}); "
            f"declare the base (scale='{name}(x+{_fmt(log_pc)})')",
        )
    positive = sample[sample > 0]
    skew_raw = _skew(positive)
    skew_log = _skew(np.log2(positive + 1))
    slope = _mean_sd_slope(X)
    linear_votes = int(skew_raw - skew_log > 1.5) + int(slope is not None and slope > 0.75)
    log_votes = int(skew_raw - skew_log < 1.0) + int(slope is not None and slope < 0.6)
    stats = f"maximum {_fmt(vmax)}, skewness {skew_raw:.2f} (of log2(x+1): {skew_log:.2f})" + (
        f", mean-SD slope over genes {slope:.2f}" if slope is not None else ""
    )
    weak = positive.size < 30 or n_genes < 10
    prefix = UNCERTAIN if weak or linear_votes == log_votes else ""
    if linear_votes >= log_votes:
        return ScaleReport("linear", None, f"{prefix}{stats}: right-skewed like linear values")
    return ScaleReport("log2", log_pc, f"{prefix}{stats}: symmetric like log values: log2(x + {_fmt(log_pc)})")


def _mean_sd_slope(X: np.ndarray) -> float | None:
    if X.shape[0] < 3:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        m = _quiet(np.nanmean, X, axis=0)
        s = _quiet(np.nanstd, X, axis=0)
    ok = (m > 0) & (s > 0) & np.isfinite(m) & np.isfinite(s)
    if ok.sum() < 10:
        return None
    x, y = np.log(m[ok]), np.log(s[ok])
    if np.ptp(x) == 0:
        return None
    return float(np.polyfit(x, y, 1)[0])


# --- declared scales ------------------------------------------------------------------------------------------

_LOG_RE = re.compile(r"^(log2|ln|log10|log)\s*(?:\(\s*x\s*\+\s*([0-9.eE+-]+)\s*\))?$")
_ALIASES = {
    "counts": ("counts", None, None),
    "count": ("counts", None, None),
    "raw": ("counts", None, None),
    "linear": ("linear", None, None),
    "tpm": ("linear", None, None),
    "fpkm": ("linear", None, None),
    "rpkm": ("linear", None, None),
    "cpm": ("linear", None, None),
    "log2p1": ("log2", 1.0, 2.0),
    "centered": ("centered", None, None),
    "centred": ("centered", None, None),
    "zscore": ("centered", None, None),
    "z-score": ("centered", None, None),
}


class DeclaredScale(NamedTuple):
    """A scale given by the user: name, pseudocount (None = detect) and log base (None = not a log)."""

    scale: str
    pseudocount: float | None
    log_base: float | None


def parse_scale(text: str) -> DeclaredScale:
    """Parse a declared scale such as ``"tpm"``, ``"log2(x+1)"``, ``"ln(x+0.01)"`` or ``"log10"``.

    Examples
    --------
    >>> parse_scale("log2(x+0.001)")
    DeclaredScale(scale='log2', pseudocount=0.001, log_base=2.0)
    >>> parse_scale("ln").scale
    'log_other'
    """
    key = str(text).strip().lower().replace(" ", "")
    if key in _ALIASES:
        return DeclaredScale(*_ALIASES[key])
    m = _LOG_RE.match(key)
    if m:
        fn, pc = m.group(1), m.group(2)
        pseudo = float(pc) if pc is not None else None
        if fn == "log2":
            return DeclaredScale("log2", pseudo, 2.0)
        if fn == "log":
            msg = (
                f"Scale {text!r} does not say the base of the logarithm. Write 'log2(x+1)', 'ln(x+1)' or "
                "'log10(x+1)' (with the pseudocount used)."
            )
            raise InputError(msg)
        return DeclaredScale("log_other", pseudo, math.e if fn == "ln" else 10.0)
    msg = (
        f"Unknown scale {text!r}. Use 'auto', 'counts', 'linear' (TPM, FPKM, CPM), 'log2(x+1)', "
        "'log2(x+0.001)' (any pseudocount), 'ln(x+1)', 'log10(x+1)' or 'centered'."
    )
    raise InputError(msg)


# --- conversion ---------------------------------------------------------------------------------------------


def _input_info(adata: AnnData, X: np.ndarray, layer: str | None) -> dict[str, Any]:
    """The recorded scale of ``X`` (or of a documented layer); detected from the values when unknown."""
    recorded = dict(adata.uns.get(UNS_INPUT, {}) or {})
    info = {k: recorded[k] for k in ("file",) if k in recorded}
    if layer is None:
        info = recorded
    elif layer == LAYER_LINEAR:
        info.update(scale="linear", pseudocount=None, log_base=None, scale_source="declared")
    elif layer == LAYER_LOG2:
        info.update(scale="log2", pseudocount=1.0, log_base=2.0, scale_source="declared")
    if "scale" not in info:
        report = detect_scale(X)
        info.update(
            scale=report.scale,
            pseudocount=report.pseudocount,
            log_base=2.0 if report.scale == "log2" else None,
            scale_evidence=report.evidence,
            scale_source="uncertain" if is_uncertain(report) else "detected",
        )
    return info


def _where_negative(adata: AnnData, X: np.ndarray) -> str:
    rows, cols = np.nonzero(X < 0)
    shown = ", ".join(
        f"{adata.obs_names[r]}/{adata.var_names[c]}={X[r, c]:.4g}" for r, c in zip(rows[:5], cols[:5], strict=False)
    )
    return f"{rows.size} negative value(s) (sample/gene: {shown}{', …' if rows.size > 5 else ''})"


def as_scale(adata: AnnData, target: str, *, layer: str | None = None, method: str) -> np.ndarray:
    """Expression values on the scale a method needs, converted from the recorded input scale.

    Parameters
    ----------
    adata
        Samples × genes, as returned by :func:`tmescope.io.read_expression` (its scale is read from
        ``adata.uns["tmescope_input"]``; without it the scale is detected here).
    target
        ``"linear"`` (TPM-like, non-negative) or ``"log2p1"`` (log2(x + 1) of linear values).
    layer
        Use ``adata.layers[layer]`` instead of ``adata.X``. The layers ``"linear"`` and ``"log2"`` are taken to
        hold linear and log2(x + 1) values; the scale of any other layer is detected from its values.
    method
        Name of the calling method, used in error messages.

    Returns
    -------
    numpy.ndarray
        Dense float64 matrix, samples × genes, same shape and order as ``adata``. Counts are converted to TPM
        with the shipped gene lengths; genes without a known length are NaN (and listed in the warning).

    Raises
    ------
    ScaleError
        Centred data, an undeclared ``log_other`` base, a scale decided on weak evidence, or negative values.

    Examples
    --------
    >>> import anndata as ad, numpy as np
    >>> a = ad.AnnData(np.array([[0.0, 3.0], [1.0, 7.0]], dtype=np.float32))
    >>> a.uns["tmescope_input"] = {"scale": "linear", "pseudocount": None, "log_base": None}
    >>> as_scale(a, "log2p1", method="example")
    array([[0., 2.],
           [1., 3.]])
    """
    from tmescope._logging import autofix
    from tmescope._provenance import record_fix

    if target not in TARGETS:
        msg = f"as_scale target must be one of {TARGETS}; received {target!r}."
        raise InputError(msg)
    if layer is not None and layer not in adata.layers:
        from tmescope._errors import MissingKeyError

        msg = f"Layer {layer!r} not in adata.layers (present: {list(adata.layers)}); pass layer=None to use adata.X."
        raise MissingKeyError(msg)
    X = _dense(adata.layers[layer] if layer is not None else adata.X).copy()
    info = _input_info(adata, X, layer)
    scale = info.get("scale")
    pc = info.get("pseudocount")
    base = info.get("log_base")
    source = info.get("scale_source", "detected")
    evidence = info.get("scale_evidence", "")
    origin = f" of '{info['file']}'" if info.get("file") else ""
    if scale == "centered":
        msg = (
            f"{method} needs non-negative expression (linear or log), but the values{origin} look centred or "
            f"z-scored ({evidence or 'declared centered'}); centring cannot be undone. Give {method} the matrix "
            "before centring/scaling (TPM or log2(TPM+1))."
        )
        raise ScaleError(msg)
    if source == "uncertain":
        msg = (
            f"{method} needs to know the value scale, but it could not be told with confidence{origin} "
            f"({evidence}). Declare it: read_expression(path, scale='log2(x+1)') (or 'linear', 'counts', "
            "'log2(x+0.001)', 'ln(x+1)'; CLI --scale)."
        )
        raise ScaleError(msg)
    if scale == "log_other" and base is None:
        msg = (
            f"{method}: the values{origin} are logarithms in a base other than 2 ({evidence}), and the base is "
            "ambiguous. Declare it: read_expression(path, scale='ln(x+1)') or scale='log10(x+1)' (CLI --scale)."
        )
        raise ScaleError(msg)
    finite = np.isfinite(X)
    nonneg_scale = scale in ("counts", "linear") or (scale in ("log2", "log_other") and (pc is None or pc >= 1))
    if nonneg_scale and np.any(X[finite] < 0):
        msg = (
            f"{method} cannot use negative values on a {scale} scale{origin}: {_where_negative(adata, X)}. "
            "If they come from batch correction, re-read with negatives='clip' (CLI --clip-negative) to set "
            "them to 0, or give the uncorrected matrix."
        )
        raise ScaleError(msg)
    step_info = {"method": method, "from_scale": scale, "pseudocount": pc, "log_base": base, "target": target}

    if scale in ("log2", "log_other"):
        b = 2.0 if scale == "log2" else float(base)  # type: ignore[arg-type]
        c = 1.0 if pc is None else float(pc)
        if target == "log2p1" and b == 2.0 and c == 1.0:
            return X
        with np.errstate(over="ignore"):
            linear = np.power(b, X) - c
        np.clip(linear, 0.0, None, out=linear)
        name = "log2" if b == 2.0 else ("ln" if abs(b - math.e) < 1e-9 else f"log{b:g}")
        autofix(
            "scale.unlog",
            f"{method}: un-logged the input with {'2' if b == 2.0 else name.replace('log', '') or 'e'}^x - {c:g} "
            f"(recorded scale {name}(x + {c:g}), {source}), clipped at 0",
            [],
            details=step_info,
            once=f"scale.unlog {name}(x + {c:g})",
        )
        if target == "linear":
            return linear
        return np.log2(linear + 1.0)

    if scale == "counts":
        tpm = _counts_to_tpm(adata, X, method=method)
        if target == "linear":
            return tpm
        return np.log2(tpm + 1.0)

    # linear
    if target == "linear":
        return X
    record_fix({"step": "scale.log2p1", "message": f"{method}: log2(x + 1) of linear values", **step_info})
    return np.log2(X + 1.0)


def _counts_to_tpm(adata: AnnData, X: np.ndarray, *, method: str) -> np.ndarray:
    from tmescope._logging import autofix
    from tmescope.genes import gene_lengths

    lengths = gene_lengths().reindex(adata.var_names.astype(str))
    known = lengths.notna().to_numpy() & (lengths.fillna(0).to_numpy() > 0)
    missing = adata.var_names[~known].tolist()
    if not known.any():
        msg = (
            f"{method} needs TPM, and converting counts to TPM needs gene lengths, but none of the "
            f"{adata.n_vars} genes has a known length (first: {', '.join(map(str, adata.var_names[:5]))}). "
            "Harmonise gene names first (read_expression(..., harmonize=True)) or give TPM."
        )
        raise ScaleError(msg)
    kb = lengths.to_numpy(dtype=np.float64)[known] / 1e3
    rate = X[:, known] / kb
    totals = rate.sum(axis=1, keepdims=True)
    zero = np.flatnonzero(totals[:, 0] <= 0)
    if zero.size:
        names = adata.obs_names[zero].tolist()
        msg = f"{method}: sample(s) {', '.join(map(str, names[:5]))} have no counts on genes with known lengths; cannot compute TPM."
        raise ScaleError(msg)
    out = np.full(X.shape, np.nan)
    out[:, known] = rate / totals * 1e6
    libsizes = X.sum(axis=1)
    autofix(
        "scale.counts_to_tpm",
        f"{method}: converted raw counts to TPM with the shipped gene lengths (library sizes "
        f"{_fmt(float(libsizes.min()))}–{_fmt(float(libsizes.max()))}); {len(missing)} gene(s) without a known "
        "length are excluded (NaN)",
        missing,
        details={
            "method": method,
            "library_sizes": {str(k): float(v) for k, v in zip(adata.obs_names, libsizes, strict=False)},
        },
    )
    return out


def counts_as_tpm(adata: AnnData, *, method: str) -> AnnData:
    """Raw counts converted to TPM once for a whole run; other scales are returned as they are.

    Each bulk method would otherwise convert the counts itself, and genes without a shipped length (whose TPM is
    undefined) would reach them as NaN. Here they are left out once, as a reported automatic fix, and the result
    is recorded as linear, so every later step of the run uses the same complete TPM matrix.

    Returns
    -------
    ``adata`` itself unless its recorded scale is counts; else a new AnnData (same ``obs``; ``var`` without the
    genes of unknown length; ``uns["tmescope_input"]`` with ``scale="linear"`` and ``converted_from="counts"``).

    Examples
    --------
    >>> import anndata as ad, numpy as np, warnings
    >>> a = ad.AnnData(np.array([[10.0, 0, 5], [3, 4, 0]]))
    >>> a.var_names = ["CD8A", "NOT_A_GENE_X", "GZMA"]
    >>> a.uns["tmescope_input"] = {"scale": "counts", "pseudocount": None, "log_base": None}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     t = counts_as_tpm(a, method="demo")
    >>> list(t.var_names), t.uns["tmescope_input"]["scale"], bool(np.allclose(t.X.sum(axis=1), 1e6))
    (['CD8A', 'GZMA'], 'linear', True)
    """
    from anndata import AnnData as _AnnData

    from tmescope._logging import autofix

    info = dict(adata.uns.get(UNS_INPUT, {}))
    if info.get("scale") != "counts":
        return adata
    tpm = as_scale(adata, "linear", method=method)
    known = np.isfinite(tpm).all(axis=0)
    if not known.all():
        autofix(
            "genes.drop_no_length",
            f"{method}: left out {int((~known).sum())} gene(s) without a known length (their counts have no TPM)",
            adata.var_names[~known].tolist(),
        )
    kept = tpm[:, known]
    # TPM of the genes with a length, renormalised to 1e6 over them (as_scale already sums over exactly these)
    out = _AnnData(kept, obs=adata.obs.copy(), var=adata.var.iloc[np.flatnonzero(known)].copy())
    out.uns = {k: v for k, v in adata.uns.items() if k != UNS_INPUT}
    out.uns[UNS_INPUT] = {**info, "scale": "linear", "converted_from": "counts", "pseudocount": None}
    return out
