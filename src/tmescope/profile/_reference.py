"""Frozen reference cohorts: build, save, load and the shipped default.

Signature scores are cohort-relative: a single patient's score means nothing until it is compared with
a cohort. A reference cohort freezes one cohort's feature distributions, TME subtypes and composition
into one versioned parquet file (feature table + JSON metadata in the parquet footer; no pickle), so a
new sample can be placed against it: percentile of every feature, nearest reference cases and a
k-nearest-neighbour subtype.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tmescope._errors import InputError, InputTypeError, ReferenceMismatchError
from tmescope._provenance import atomic_path, sha256_file
from tmescope.profile._versions import running_versions
from tmescope.subtype._groups import SIGNATURES
from tmescope.subtype._reference import SubtypeReference

if TYPE_CHECKING:
    import os

    from anndata import AnnData

#: Format name and version written into every reference file.
FORMAT = "tmescope-reference"
FORMAT_VERSION = 1
#: Parquet footer key holding the JSON metadata.
METADATA_KEY = b"tmescope_reference"
#: Versions that must match the running tmescope for a reference to be used.
CHECKED_VERSIONS = ("signature_library_version", "gene_table_version")

_SCALED = "scaled:"
_FEATURE = "feature:"
_LABEL = "label:"
_CLINICAL = "clinical:"


@dataclass(frozen=True)
class ReferenceCohort:
    """A frozen reference cohort.

    Attributes
    ----------
    name
        Short name (shown in reports and provenance).
    metadata
        Everything else: description, tumour type, size, versions, subtype parameters, feature units.
    features
        Reference samples x numeric features (dotted names as in the feature table).
    labels
        Reference samples x categorical columns: ``subtype``, ``immune_phenotype`` and ``clinical:*``.
    subtype
        What subtype calling needs (scaling, scaled scores, labels, embedding axes).
    genes
        Genes measured in the reference; new samples are scored on the same genes.
    path
        File the reference was read from, if any.
    """

    name: str
    metadata: dict[str, Any]
    features: pd.DataFrame
    labels: pd.DataFrame
    subtype: SubtypeReference
    genes: tuple[str, ...] = ()
    path: str = field(default="", compare=False)

    @property
    def n_samples(self) -> int:
        """Number of reference samples."""
        return int(self.features.shape[0])

    def describe(self) -> str:
        """One line: name, size, tumour type and versions.

        Examples
        --------
        >>> default_reference().describe().startswith("liu2019_melanoma")
        True
        """
        m = self.metadata
        return (
            f"{self.name}: {self.n_samples} samples, {m.get('tumour_type') or 'tumour type not given'}; "
            f"signature library {m.get('signature_library_version')}, gene table {m.get('gene_table_version')}"
        )

    def percentiles(self, features: pd.DataFrame) -> pd.Series:
        """Percentile (0-100, mid-rank for ties) of each row's value among the reference's values of that feature.

        A row whose ``sample`` is itself a reference case is compared with the other reference cases only
        (leave-one-out).

        Parameters
        ----------
        features
            Tidy feature rows (``feature`` and ``value`` columns; ``sample`` optional).

        Returns
        -------
        Series aligned with ``features`` (NaN where the feature is not in the reference or the value is NaN).
        """
        out = np.full(len(features), np.nan)
        for name, rows in features.groupby("feature", sort=False).indices.items():
            if name not in self.features.columns:
                continue
            column = self.features[name]
            ref = np.sort(column.dropna().to_numpy(dtype=float))
            if ref.size == 0:
                continue
            vals = features["value"].to_numpy(dtype=float)[rows]
            below = np.searchsorted(ref, vals, side="left").astype(float)
            upto = np.searchsorted(ref, vals, side="right").astype(float)
            size = np.full(vals.size, float(ref.size))
            if "sample" in features:
                own = column.reindex(features["sample"].astype(str).to_numpy()[rows]).to_numpy(dtype=float)
                has = np.isfinite(own)
                below -= has & (own < vals)
                upto -= has & (own <= vals)
                size -= has
            with np.errstate(invalid="ignore", divide="ignore"):
                pct = 100.0 * (below + 0.5 * (upto - below)) / size
            pct[size == 0] = np.nan
            pct[~np.isfinite(vals)] = np.nan
            out[rows] = pct
        return pd.Series(out, index=features.index, name="percentile")

    # --- file format ---------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """The reference as one wide table (the parquet body): ``sample``, labels, scaled scores, features."""
        idx = self.features.index.astype(str)
        parts = [
            pd.DataFrame({"sample": idx}, index=idx),
            self.labels.set_axis(idx).add_prefix(_LABEL).astype(str),
            self.subtype.scaled.set_axis(idx).add_prefix(_SCALED),
            self.features.set_axis(idx).add_prefix(_FEATURE).astype(float),
        ]
        return pd.concat(parts, axis=1).reset_index(drop=True)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the reference to one parquet file (atomically) and return its path.

        The JSON metadata (versions, subtype parameters, gene list) sits in the parquet footer under
        ``tmescope_reference``; read it with ``pyarrow.parquet.read_schema(path).metadata``.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        if path.suffix != ".parquet":
            msg = f"Reference files end in .parquet; got {path.name!r}. Use e.g. {path.with_suffix('.parquet').name!r}."
            raise InputError(msg)
        table = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        meta = dict(table.schema.metadata or {})
        payload = {
            **self.metadata,
            "name": self.name,
            "genes": list(self.genes),
            "subtype": _subtype_meta(self.subtype),
        }
        meta[METADATA_KEY] = json.dumps(payload, sort_keys=True).encode("utf-8")
        table = table.replace_schema_metadata(meta)
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        return path


def _subtype_meta(ref: SubtypeReference) -> dict[str, Any]:
    return {
        "signatures": list(ref.signatures),
        "median": [float(v) for v in ref.median],
        "mad": [float(v) for v in ref.mad],
        "clip": float(ref.clip),
        "components": [[float(v) for v in row] for row in ref.components],
        "center": [float(v) for v in ref.center],
        "phenotype_median": dict(ref.phenotype_median),
        "phenotype_mad": dict(ref.phenotype_mad),
    }


def check_versions(metadata: dict[str, Any], *, source: str) -> None:
    """Refuse a reference built with another signature library or gene table than the running ones."""
    running = running_versions()
    diffs = [
        f"{key.replace('_', ' ')}: reference {metadata.get(key)!r}, this tmescope {running[key]!r}"
        for key in CHECKED_VERSIONS
        if metadata.get(key) != running[key]
    ]
    if diffs:
        msg = (
            f"Reference cohort {source} cannot be used: it was built with different versions ({'; '.join(diffs)}). "
            "Scores from different gene sets or gene tables are not comparable. Rebuild it with this tmescope "
            "(`tmescope reference build EXPR -o REF.parquet`), or use the tmescope version "
            f"{metadata.get('tmescope_version', '?')} that built it."
        )
        raise ReferenceMismatchError(msg)


def load_reference(path: str | os.PathLike[str], *, check: bool = True) -> ReferenceCohort:
    """Read a reference cohort written by :meth:`ReferenceCohort.save` (or ``tmescope reference build``).

    Parameters
    ----------
    path
        The ``.parquet`` reference file.
    check
        Refuse (:class:`~tmescope.ReferenceMismatchError`) a reference built with another signature-library
        or gene-table version. Only turn off to inspect an old file.

    Returns
    -------
    :class:`ReferenceCohort`.

    Examples
    --------
    >>> ref = load_reference(default_reference().path)
    >>> ref.n_samples > 100
    True
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        msg = f"No reference cohort file at {path}; build one with `tmescope reference build EXPR -o {path.name}`."
        raise InputError(msg)
    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for non-parquet input
        msg = f"{path} is not a parquet reference cohort file ({exc})."
        raise InputError(msg) from exc
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        msg = f"{path} is a parquet file but not a tmescope reference cohort (no `tmescope_reference` metadata)."
        raise InputError(msg)
    meta = json.loads(raw.decode("utf-8"))
    if meta.get("format") != FORMAT or int(meta.get("format_version", -1)) > FORMAT_VERSION:
        msg = (
            f"{path} has reference format {meta.get('format')!r} version {meta.get('format_version')}; this tmescope "
            f"reads {FORMAT!r} up to version {FORMAT_VERSION}. Upgrade tmescope or rebuild the reference."
        )
        raise ReferenceMismatchError(msg)
    if check:
        check_versions(meta, source=f"{meta.get('name')!r} ({path})")
    frame = pd.read_parquet(path)
    return _from_frame(frame, meta, path=str(path))


def _from_frame(frame: pd.DataFrame, meta: dict[str, Any], *, path: str) -> ReferenceCohort:
    idx = pd.Index(frame["sample"].astype(str), name="sample")
    frame = frame.set_index(idx)

    def part(prefix: str) -> pd.DataFrame:
        cols = [c for c in frame.columns if c.startswith(prefix)]
        return frame.loc[:, cols].rename(columns=lambda c: c[len(prefix) :])

    sub = meta.get("subtype", {})
    labels = part(_LABEL)
    scaled = part(_SCALED)
    subtype = SubtypeReference(
        name=str(meta["name"]),
        signatures=tuple(sub.get("signatures", SIGNATURES)),
        median=np.asarray(sub["median"], dtype=float),
        mad=np.asarray(sub["mad"], dtype=float),
        clip=float(sub["clip"]),
        scaled=scaled.astype(float),
        labels=labels["subtype"].astype(str).rename("subtype"),
        components=np.asarray(sub["components"], dtype=float),
        center=np.asarray(sub["center"], dtype=float),
        phenotype_median={k: float(v) for k, v in sub.get("phenotype_median", {}).items()},
        phenotype_mad={k: float(v) for k, v in sub.get("phenotype_mad", {}).items()},
    )
    metadata = {k: v for k, v in meta.items() if k not in {"genes", "subtype", "name"}}
    return ReferenceCohort(
        name=str(meta["name"]),
        metadata=metadata,
        features=part(_FEATURE).astype(float),
        labels=labels,
        subtype=subtype,
        genes=tuple(meta.get("genes", ())),
        path=path,
    )


#: Package data file of the shipped default reference.
DEFAULT_REFERENCE_FILE = "reference.parquet"


@functools.cache
def _default_path() -> Path:
    return Path(str(resources.files("tmescope") / "data" / "reference_default" / DEFAULT_REFERENCE_FILE))


def default_reference() -> ReferenceCohort:
    """The shipped default reference: the bundled Liu et al. 2019 metastatic-melanoma cohort (121 samples).

    Built by ``scripts/build_default_reference.py`` from :func:`tmescope.datasets.liu2019_melanoma`; see
    ``tmescope/data/reference_default/SOURCE.md``. It is a melanoma cohort: percentiles of other tumour
    types against it describe the sample relative to melanoma, not to its own tumour type.

    Returns
    -------
    :class:`ReferenceCohort`.

    Examples
    --------
    >>> ref = default_reference()
    >>> ref.metadata["tumour_type"]
    'metastatic melanoma'
    """
    path = _default_path()
    if not path.is_file():  # pragma: no cover - a broken install
        msg = f"The default reference is missing from this installation ({path}); reinstall tmescope."
        raise InputError(msg)
    return load_reference(path)


def resolve_reference(reference: Any) -> ReferenceCohort | None:
    """``"default"`` -> the shipped reference; a path -> :func:`load_reference`; a cohort as is; ``None`` -> None."""
    if reference is None or isinstance(reference, ReferenceCohort):
        return reference
    if isinstance(reference, str) and reference == "default":
        return default_reference()
    if isinstance(reference, str | Path):
        return load_reference(reference)
    msg = (
        "`reference` must be 'default', a path to a reference .parquet file, a ReferenceCohort or None; "
        f"got {type(reference).__name__}."
    )
    raise InputTypeError(msg)


def freeze(
    adata: AnnData,
    features: pd.DataFrame,
    *,
    name: str,
    description: str = "",
    tumour_type: str = "",
    clinical_columns: tuple[str, ...] = (),
    source_sha256: str = "",
) -> ReferenceCohort:
    """Turn a cohort-relative profile (de novo subtypes) into a :class:`ReferenceCohort`."""
    from tmescope import _keys
    from tmescope.subtype._reference import make_subtype_reference

    if not name or not str(name).strip():
        msg = "A reference cohort needs a `name` (e.g. 'tcga_skcm_2024')."
        raise InputError(msg)
    # Subtype confidence of a de novo call is not comparable with a later vote share: no percentile for it.
    numeric = features[(features["label"] == "") & ~features["feature"].str.startswith("subtype.")]
    wide = numeric.pivot_table(index="sample", columns="feature", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(index=adata.obs_names.astype(str), columns=numeric["feature"].unique())
    units = numeric.drop_duplicates("feature").set_index("feature")[["unit", "method"]]
    labels = pd.DataFrame(
        {
            "subtype": adata.obs[_keys.OBS_SUBTYPE].astype(str).to_numpy(),
            "immune_phenotype": adata.obs[_keys.OBS_IMMUNE_PHENOTYPE].astype(str).to_numpy(),
        },
        index=adata.obs_names.astype(str),
    )
    for col in clinical_columns:
        labels[f"clinical:{col}"] = adata.obs[col].astype(str).replace({"nan": "", "None": ""}).to_numpy()
    info = adata.uns[_keys.UNS_SUBTYPE]
    sub = make_subtype_reference(
        adata.obsm[_keys.OBSM_SUBTYPE_SCORES],
        adata.obs[_keys.OBS_SUBTYPE].astype(str),
        name=name,
        clip=float(info["clip"]),
        phenotype=adata.obsm[_keys.OBSM_IMMUNE_PHENOTYPE].loc[:, ["cd8_signal", "stromal_tgfb_signal"]],
    )
    versions = running_versions()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "description": description,
        "tumour_type": tumour_type,
        "n_samples": int(adata.n_obs),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **versions,
        "source_sha256": source_sha256,
        "subtype_method": {
            k: info[k] for k in ("method", "community_method", "k", "clip", "seed", "threshold") if k in info
        },
        "subtype_counts": labels["subtype"].value_counts().to_dict(),
        "feature_units": {f: {"unit": str(r.unit), "method": str(r.method)} for f, r in units.iterrows()},
    }
    return ReferenceCohort(
        name=name,
        metadata=meta,
        features=wide.astype(float),
        labels=labels,
        subtype=sub,
        genes=tuple(str(g) for g in adata.var_names),
    )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a reference file, for provenance."""
    return sha256_file(path)
