"""Clinical table reader and sample-ID matching.

:func:`read_clinical` finds the usual clinical columns under their many spellings and adds standard columns
(``sample_id``, ``patient_id``, ``os_time``, ``os_event``, ``pfs_time``, ``pfs_event``, ``response``,
``recist``, ``timepoint``, ``treatment``) next to the original ones. It refuses contradictory or impossible
rows instead of guessing. :func:`match_samples` joins expression samples to clinical rows through a documented
ID normalisation and reports what did not match on both sides.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tmescope._errors import InputError, InputTypeError, MissingKeyError
from tmescope._logging import autofix, format_items, warn
from tmescope._provenance import current
from tmescope.io._sniff import decode_text, memory_budget, read_bytes, read_head, sniff
from tmescope.io._table import MISSING_TOKENS, parse_table

STANDARD_COLUMNS = (
    "sample_id",
    "patient_id",
    "os_time",
    "os_event",
    "pfs_time",
    "pfs_event",
    "response",
    "recist",
    "timepoint",
    "treatment",
)
#: Lower-case, ``_``-joined column names recognised for each standard column, in order of preference.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "sample_id": ("sample_id", "sampleid", "sample", "sample_name", "samples", "specimen_id", "biospecimen", "run"),
    "patient_id": (
        "patient_id",
        "patientid",
        "patient",
        "subject_id",
        "subject",
        "case_id",
        "individual",
        "donor",
        "participant",
    ),
    "os_time": (
        "os_time",
        "os_time_months",
        "os_months",
        "os_time_days",
        "os_days",
        "os",
        "overall_survival",
        "survival_time",
        "os_time_mo",
        "time",
    ),
    "os_event": ("os_event", "os_status", "os_censor_event", "vital_status", "dead", "death", "os_evt"),
    "pfs_time": (
        "pfs_time",
        "pfs_time_months",
        "pfs_months",
        "pfs_time_days",
        "pfs_days",
        "pfs",
        "progression_free_survival",
    ),
    "pfs_event": ("pfs_event", "pfs_status", "progression", "progressed", "pfs_evt"),
    "response": ("response", "responder", "response_binary", "clinical_benefit", "benefit", "response_status"),
    "recist": ("recist", "best_response", "best_overall_response", "bor", "recist_response"),
    "timepoint": ("timepoint", "time_point", "biopsy_time", "biopsy_timepoint", "visit", "pre_post"),
    "treatment": ("treatment", "drug", "therapy", "agent", "treatment_class", "regimen"),
}
_EVENT_VOCAB = {
    "numeric": {"1": 1, "0": 0, "1.0": 1, "0.0": 0},
    "vital": {"dead": 1, "deceased": 1, "died": 1, "alive": 0, "living": 0},
    "yesno": {"yes": 1, "no": 0, "y": 1, "n": 0, "true": 1, "false": 0},
    "event": {"event": 1, "censored": 0, "progressed": 1, "progression": 1, "no progression": 0},
}
_RECIST = {
    "cr": "CR",
    "complete response": "CR",
    "pr": "PR",
    "partial response": "PR",
    "sd": "SD",
    "stable disease": "SD",
    "pd": "PD",
    "progressive disease": "PD",
}
_RESPONSE = {
    "r": "R",
    "nr": "NR",
    "responder": "R",
    "non-responder": "NR",
    "nonresponder": "NR",
    "non responder": "NR",
    "response": "R",
    "no response": "NR",
    "yes": "R",
    "no": "NR",
    "1": "R",
    "0": "NR",
    "true": "R",
    "false": "NR",
}
_TCGA = re.compile(r"^(TCGA-[A-Z0-9]{2}-[A-Z0-9]{4})(?:-(\d{2})[A-Z]?)?(?:-.*)?$")


def _norm_col(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def normalize_id(value: Any) -> str:
    """Normalised spelling of a sample or patient ID used for matching.

    Upper case, surrounding spaces removed, ``.``, ``_`` and spaces turned into ``-``; TCGA barcodes are cut to
    patient + sample type (``TCGA-AB-0001-01``), dropping the vial letter and the portion/analyte/plate parts.

    Examples
    --------
    >>> normalize_id("tcga.ab.0001.01A")
    'TCGA-AB-0001-01'
    >>> normalize_id(" Patient_105 ")
    'PATIENT-105'
    """
    text = re.sub(r"[._\s]+", "-", str(value).strip().upper())
    m = _TCGA.match(text)
    if m:
        return m.group(1) + (f"-{m.group(2)}" if m.group(2) else "")
    return text


def _key(value: Any) -> str:
    """Matching key: the normalised ID without separators (``Patient_105`` and ``PATIENT105`` agree)."""
    return normalize_id(value).replace("-", "")


def patient_of(value: Any) -> str:
    """Patient part of a normalised ID (TCGA: ``TCGA-AB-0001``; other IDs unchanged).

    Examples
    --------
    >>> patient_of("TCGA-AB-0001-01A")
    'TCGA-AB-0001'
    """
    text = normalize_id(value)
    m = _TCGA.match(text)
    return m.group(1) if m else text


def _read_frame(path: Path) -> pd.DataFrame:
    head = read_head(path)
    sniffed = sniff(path, head)
    if sniffed.format == "parquet":
        frame = pd.read_parquet(path)
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
        return frame.astype(object).where(frame.notna(), "")
    if sniffed.format == "h5ad":
        msg = f"File '{path}' is an h5ad file; a clinical table must be TSV/CSV (one row per sample) or parquet."
        raise InputError(msg)
    raw = read_bytes(path, compression=sniffed.compression, max_bytes=memory_budget())
    decoded = decode_text(raw, path)
    if decoded.fixes:
        autofix("io.decode", f"File '{path}': " + "; ".join(decoded.fixes), [])
    table = parse_table(decoded.text, path, as_text=True)
    for fix in table.fixes:
        autofix("io.header", f"File '{path}': {fix}", [])
    data = np.column_stack([np.asarray(table.row_labels, dtype=object), table.cells])
    header = [h if h else f"column_{i + 1}" for i, h in enumerate(table.header)]
    frame = pd.DataFrame(data, columns=header)
    frame.attrs["lines"] = table.lines.tolist()
    return frame


def _find(frame: pd.DataFrame, key: str, explicit: str | None, path: Path) -> str | None:
    if explicit is not None:
        if explicit not in frame.columns:
            msg = f"Column {explicit!r} not in clinical file '{path}' (columns: {', '.join(map(str, frame.columns[:20]))})."
            raise MissingKeyError(msg)
        return explicit
    by_norm: dict[str, str] = {}
    for col in frame.columns:
        by_norm.setdefault(_norm_col(str(col)), str(col))
    for alias in COLUMN_ALIASES[key]:
        if alias in by_norm:
            return by_norm[alias]
    return None


def _is_missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip().lower() in MISSING_TOKENS


def _line(frame: pd.DataFrame, i: int) -> str:
    lines = frame.attrs.get("lines")
    return f"line {lines[i]}" if lines else f"row {i + 1}"


def _times(frame: pd.DataFrame, col: str, path: Path, *, bad_survival: str) -> np.ndarray:
    out = np.full(len(frame), np.nan)
    bad: list[str] = []
    for i, v in enumerate(frame[col].tolist()):
        if _is_missing(v):
            continue
        try:
            t = float(str(v).strip())
        except ValueError:
            bad.append(f"{_line(frame, i)}: {v!r} is not a number")
            continue
        if not np.isfinite(t) or t < 0:
            bad.append(f"{_line(frame, i)}: {v!r} is {'negative' if t < 0 else 'not finite'}")
            continue
        out[i] = t
    if bad and bad_survival == "missing":
        autofix(
            "clinical.bad_survival",
            f"Clinical file '{path}', column '{col}': {len(bad)} impossible survival time(s) set to missing "
            "(bad_survival='missing')",
            bad,
        )
    elif bad:
        msg = (
            f"Clinical file '{path}', column '{col}': {len(bad)} impossible survival time(s): "
            f"{'; '.join(bad[:5])}{' …' if len(bad) > 5 else ''}. Times must be non-negative numbers; fix "
            "these rows (leave a cell empty when unknown), or pass bad_survival='missing' to set them to missing."
        )
        raise InputError(msg)
    return out


def _events(frame: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    out = np.full(len(frame), np.nan)
    vocab_used: dict[str, list[str]] = {}
    bad: list[str] = []
    for i, v in enumerate(frame[col].tolist()):
        if _is_missing(v):
            continue
        text = str(v).strip().lower()
        # cBioPortal writes "1:DECEASED" / "0:LIVING".
        text = re.sub(r"^([01]):.*$", r"\1", text)
        for name, vocab in _EVENT_VOCAB.items():
            if text in vocab:
                out[i] = vocab[text]
                vocab_used.setdefault(name, []).append(f"{_line(frame, i)}: {v!r}")
                break
        else:
            bad.append(f"{_line(frame, i)}: {v!r}")
    if bad:
        msg = (
            f"Clinical file '{path}', column '{col}': {len(bad)} event value(s) not understood: "
            f"{'; '.join(bad[:5])}. Use 1 = event (death/progression) and 0 = censored."
        )
        raise InputError(msg)
    if len(vocab_used) > 1:
        shown = "; ".join(f"{k}: {', '.join(v[:2])}" for k, v in vocab_used.items())
        msg = (
            f"Clinical file '{path}', column '{col}' mixes event codings ({shown}). Mixed codings usually mean "
            "rows merged from sources with different conventions (an event flag and a censoring flag look the "
            "same); recode the column as 1 = event, 0 = censored."
        )
        raise InputError(msg)
    return out


def _categorical(frame: pd.DataFrame, col: str, mapping: dict[str, str], what: str, path: Path) -> list[Any]:
    out: list[Any] = []
    bad: list[str] = []
    for i, v in enumerate(frame[col].tolist()):
        if _is_missing(v) or str(v).strip().upper() in {"NE", "NA", "UNKNOWN", "NOT EVALUABLE"}:
            out.append(None)
            continue
        key = str(v).strip().lower()
        if key in mapping:
            out.append(mapping[key])
        else:
            out.append(None)
            bad.append(f"{_line(frame, i)}: {v!r}")
    if bad:
        allowed = ", ".join(sorted(set(mapping.values())))
        msg = (
            f"Clinical file '{path}', column '{col}': {len(bad)} {what} value(s) not understood: "
            f"{'; '.join(bad[:5])}. Expected one of {allowed} (or an empty cell); pass the column explicitly "
            "or recode it."
        )
        raise InputError(msg)
    return out


def read_clinical(
    path: str | os.PathLike[str],
    *,
    sample_col: str | None = None,
    patient_col: str | None = None,
    bad_survival: str = "error",
) -> pd.DataFrame:
    r"""Read a clinical table (one row per sample) and add standard columns.

    Parameters
    ----------
    path
        TSV/CSV (plain or gzip) or parquet file.
    sample_col
        Column with sample IDs (the expression column names); found by name when not given.
    patient_col
        Column with patient IDs; found by name when not given, else equal to the sample IDs.
    bad_survival
        ``"error"`` (default) refuses negative or non-numeric survival times and events without a time;
        ``"missing"`` sets the survival time and event of those rows to missing, listed in a warning.

    Returns
    -------
    pandas.DataFrame
        The original columns, plus (first) ``sample_id``, ``patient_id``, ``os_time``, ``os_event``,
        ``pfs_time``, ``pfs_event`` (float; events 1 = event, 0 = censored), ``response`` (``"R"``/``"NR"``),
        ``recist`` (``CR``/``PR``/``SD``/``PD``), ``timepoint`` and ``treatment``; missing values are NaN/None.
        ``attrs["columns_used"]`` says which original column fed each standard column.

    Raises
    ------
    InputError
        Duplicate sample IDs, negative or non-numeric times, an event without a time, mixed event codings,
        unknown response values, or one patient with contradictory survival/response in different rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "clin.tsv"
    >>> _ = p.write_text("Sample\tOS.months\tvital_status\tBOR\nP1\t12.5\tdead\tPR\nP2\t30\talive\tPD\n")
    >>> import warnings
    >>> with warnings.catch_warnings():  # response derived from RECIST is reported as an AutoFixWarning
    ...     warnings.simplefilter("ignore")
    ...     c = read_clinical(p)
    >>> c[["sample_id", "os_time", "os_event", "recist", "response"]].to_dict("list")
    {'sample_id': ['P1', 'P2'], 'os_time': [12.5, 30.0], 'os_event': [1.0, 0.0], 'recist': ['PR', 'PD'], 'response': ['R', 'NR']}
    """
    if not isinstance(path, str | os.PathLike):
        msg = f"path must be a file path (str or pathlib.Path); received {type(path).__name__}."
        raise InputTypeError(msg)
    if bad_survival not in ("error", "missing"):
        msg = f"bad_survival must be 'error' or 'missing'; received {bad_survival!r}."
        raise InputError(msg)
    path = Path(path)
    frame = _read_frame(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    used: dict[str, str | None] = {}
    for key in STANDARD_COLUMNS:
        explicit = sample_col if key == "sample_id" else patient_col if key == "patient_id" else None
        used[key] = _find(frame, key, explicit, path)
    if used["sample_id"] is None and used["patient_id"] is None:
        first = frame.columns[0]
        used["sample_id"] = first
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    sid_col = used["sample_id"] or used["patient_id"]
    out["sample_id"] = [str(v).strip() for v in frame[sid_col].tolist()]  # type: ignore[index]
    pid_col = used["patient_id"] or sid_col
    out["patient_id"] = [str(v).strip() for v in frame[pid_col].tolist()]  # type: ignore[index]
    empty = [i for i, s in enumerate(out["sample_id"]) if _is_missing(s)]
    if empty:
        msg = f"Clinical file '{path}': {len(empty)} row(s) have no sample ID ({', '.join(_line(frame, i) for i in empty[:5])}). Fill or remove them."
        raise InputError(msg)
    for kind in ("os", "pfs"):
        tcol, ecol = used[f"{kind}_time"], used[f"{kind}_event"]
        ids = out["sample_id"].tolist()
        times = _times(frame, tcol, path, bad_survival=bad_survival) if tcol else np.full(len(frame), np.nan)
        events = _events(frame, ecol, path) if ecol else np.full(len(frame), np.nan)
        orphan = np.flatnonzero(np.isnan(times) & ~np.isnan(events))
        if tcol and orphan.size:
            rows = [f"{_line(frame, int(i))} ({ids[i]})" for i in orphan]
            if bad_survival == "missing":
                events[orphan] = np.nan
                autofix(
                    "clinical.bad_survival",
                    f"Clinical file '{path}': {kind.upper()} event without a time in '{tcol}' set to missing "
                    "(bad_survival='missing')",
                    rows,
                )
            else:
                msg = (
                    f"Clinical file '{path}': {orphan.size} row(s) have a {kind.upper()} event but a blank or missing "
                    f"time in '{tcol}': {', '.join(rows[:5])}. Give the time, or leave both time and event empty "
                    "(bad_survival='missing' sets such rows to missing)."
                )
                raise InputError(msg)
        out[f"{kind}_time"] = times
        out[f"{kind}_event"] = events
    recist: list[Any] = [None] * len(frame)
    response: list[Any] = [None] * len(frame)
    if used["recist"]:
        recist = _categorical(frame, used["recist"], _RECIST, "RECIST", path)
    if used["response"]:
        values = [str(v).strip().lower() for v in frame[used["response"]].tolist()]
        if used["recist"] is None and any(v in _RECIST for v in values):
            recist = _categorical(frame, used["response"], _RECIST, "RECIST", path)
            used["recist"] = used["response"]
        else:
            response = _categorical(frame, used["response"], _RESPONSE, "response", path)
    if used["recist"] and (used["response"] is None or used["recist"] == used["response"]):
        response = [{"CR": "R", "PR": "R", "PD": "NR"}.get(r) if r else None for r in recist]
        n_sd = sum(r == "SD" for r in recist)
        autofix(
            "clinical.response_from_recist",
            f"Clinical file '{path}': response derived from RECIST in '{used['recist']}' (CR/PR -> R, PD -> NR); "
            f"{n_sd} SD row(s) left without a response label",
            [s for s, r in zip(out["sample_id"], recist, strict=True) if r == "SD"],
        )
    out["response"] = pd.Series(response, dtype=object)
    out["recist"] = pd.Series(recist, dtype=object)
    for key in ("timepoint", "treatment"):
        col = used[key]
        out[key] = (
            pd.Series([None if _is_missing(v) else str(v).strip() for v in frame[col].tolist()], dtype=object)
            if col
            else pd.Series([None] * len(frame), dtype=object)
        )
    _check_duplicates(out, frame, path)
    originals = frame.drop(columns=[c for c in frame.columns if c in STANDARD_COLUMNS])
    result = pd.concat([out, originals.reset_index(drop=True)], axis=1)
    result.attrs["columns_used"] = {k: v for k, v in used.items()}
    result.attrs["file"] = str(path)
    prov = current()
    if prov is not None:
        prov.add_input(path, role="clinical")
    return result


def _check_duplicates(out: pd.DataFrame, frame: pd.DataFrame, path: Path) -> None:
    dup = out["sample_id"].duplicated(keep=False)
    if dup.any():
        groups = out[dup].groupby("sample_id", sort=False).groups
        shown = "; ".join(
            f"{sid} ({', '.join(_line(frame, int(i)) for i in idx)})" for sid, idx in list(groups.items())[:5]
        )
        msg = (
            f"Clinical file '{path}': {len(groups)} sample ID(s) appear in more than one row: {shown}. Keep one "
            "row per sample (several samples of one patient need distinct sample IDs and a patient column)."
        )
        raise InputError(msg)
    patient_level = ["os_time", "os_event", "pfs_time", "pfs_event", "response", "recist"]
    conflicts: list[str] = []
    for pid, idx in out.groupby("patient_id", sort=False).groups.items():
        if len(idx) < 2:
            continue
        sub = out.loc[idx, patient_level]
        for col in patient_level:
            vals = {v for v in sub[col].tolist() if not _is_missing(v)}
            if len(vals) > 1:
                lines = ", ".join(_line(frame, int(i)) for i in idx)
                conflicts.append(f"patient {pid}, {col}: {sorted(map(str, vals))} ({lines})")
    if conflicts:
        msg = (
            f"Clinical file '{path}': rows of the same patient contradict each other ({len(conflicts)} "
            f"conflict(s)): {'; '.join(conflicts[:5])}. Survival and best response belong to the patient; make "
            "them agree or fix the patient IDs."
        )
        raise InputError(msg)


def match_samples(
    sample_ids: Any, clinical: pd.DataFrame, *, min_overlap: float = 0.5
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Match expression sample IDs to clinical rows.

    Matching goes in order: exact sample ID; normalised sample ID (:func:`normalize_id`: case, ``.``/``_``/space vs
    ``-``, TCGA vial letters; separators are then ignored, so ``patient_105`` meets ``Patient105``); normalised patient ID (a TCGA sample barcode matches its patient). Matches that needed
    normalisation are reported in one warning; unmatched IDs on both sides are listed.

    Parameters
    ----------
    sample_ids
        Expression sample IDs (e.g. ``adata.obs_names``), in the order wanted.
    clinical
        Table from :func:`read_clinical` (needs ``sample_id`` and ``patient_id``).
    min_overlap
        Smallest fraction of expression samples that must match; below it the IDs are taken to be from different
        naming schemes and an error lists examples from both sides.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        The clinical rows for the matched samples, indexed by the expression sample ID (expression order;
        unmatched samples are left out), and a report with ``n_samples``, ``n_clinical``, ``n_matched``,
        ``matched_by`` (counts per rule), ``normalised`` (expression ID -> clinical ID pairs), ``unmatched_samples``
        and ``unmatched_clinical``.

    Examples
    --------
    >>> import pandas as pd
    >>> clin = pd.DataFrame({"sample_id": ["TCGA.AB.0001", "TCGA.AB.0002"], "patient_id": ["TCGA.AB.0001", "TCGA.AB.0002"]})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     table, report = match_samples(["TCGA-AB-0001-01A", "TCGA-AB-0002-01A"], clin)
    >>> list(table.index), report["matched_by"]
    (['TCGA-AB-0001-01A', 'TCGA-AB-0002-01A'], {'exact': 0, 'normalised': 0, 'patient': 2})
    """
    if not isinstance(clinical, pd.DataFrame):
        msg = f"clinical must be a DataFrame from read_clinical; received {type(clinical).__name__}."
        raise InputTypeError(msg)
    for col in ("sample_id", "patient_id"):
        if col not in clinical.columns:
            msg = f"clinical has no '{col}' column; read it with tmescope.io.read_clinical."
            raise MissingKeyError(msg)
    samples = [str(s) for s in sample_ids]
    if not samples:
        msg = "match_samples received no sample IDs."
        raise InputError(msg)
    cl_sid = [str(s) for s in clinical["sample_id"]]
    cl_pid = [str(s) for s in clinical["patient_id"]]
    exact = {s: i for i, s in enumerate(cl_sid)}
    norm: dict[str, list[int]] = {}
    for i, s in enumerate(cl_sid):
        norm.setdefault(_key(s), []).append(i)
    by_patient: dict[str, list[int]] = {}
    for i, p in enumerate(cl_pid):
        by_patient.setdefault(patient_of(p).replace("-", ""), []).append(i)
    rows: list[int] = []
    matched: list[str] = []
    counts = {"exact": 0, "normalised": 0, "patient": 0}
    pairs: dict[str, str] = {}
    ambiguous: list[str] = []
    for s in samples:
        if s in exact:
            i, rule = exact[s], "exact"
        else:
            cand = norm.get(_key(s), [])
            rule = "normalised"
            if not cand:
                cand = by_patient.get(patient_of(s).replace("-", ""), [])
                rule = "patient"
            if len(cand) > 1:
                ambiguous.append(f"{s} -> {', '.join(cl_sid[j] for j in cand[:3])}")
                continue
            if not cand:
                continue
            i = cand[0]
            pairs[s] = cl_sid[i]
        counts[rule] += 1
        rows.append(i)
        matched.append(s)
    if ambiguous:
        msg = (
            f"{len(ambiguous)} expression sample(s) match several clinical rows after normalisation: "
            f"{'; '.join(ambiguous[:5])}. Give the clinical table one row per expression sample (a sample_id "
            "column with the exact expression IDs)."
        )
        raise InputError(msg)
    used_rows = set(rows)
    unmatched_samples = [s for s in samples if s not in set(matched)]
    unmatched_clinical = [cl_sid[i] for i in range(len(cl_sid)) if i not in used_rows]
    report: dict[str, Any] = {
        "n_samples": len(samples),
        "n_clinical": len(cl_sid),
        "n_matched": len(matched),
        "matched_by": counts,
        "normalised": pairs,
        "unmatched_samples": unmatched_samples,
        "unmatched_clinical": unmatched_clinical,
    }
    where = f" of '{clinical.attrs['file']}'" if clinical.attrs.get("file") else ""
    if len(matched) < min_overlap * len(samples) or not matched:
        msg = (
            f"Only {len(matched)} of {len(samples)} expression samples match the clinical table{where} "
            f"({len(cl_sid)} rows), below the {min_overlap:.0%} needed. Expression IDs: "
            f"{format_items(unmatched_samples or samples)}; clinical IDs: {format_items(unmatched_clinical or cl_sid)}. "
            "Check that both files come from the same cohort and name samples the same way (or pass sample_col=)."
        )
        raise InputError(msg)
    if pairs:
        autofix(
            "clinical.normalise_ids",
            f"Matched {len(pairs)} sample ID(s) to the clinical table{where} after normalisation (case, '.'/'_' vs "
            "'-', TCGA barcode cut to sample type or patient)",
            [f"{k}->{v}" for k, v in pairs.items()],
        )
    if unmatched_samples:
        warn(f"{len(unmatched_samples)} expression sample(s) have no clinical row: {format_items(unmatched_samples)}")
    if unmatched_clinical:
        warn(
            f"{len(unmatched_clinical)} clinical row(s){where} have no expression sample: {format_items(unmatched_clinical)}"
        )
    table = clinical.iloc[rows].copy()
    table.index = pd.Index(matched, name="sample")
    return table, report
