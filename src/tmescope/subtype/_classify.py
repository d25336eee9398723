"""TME subtypes (Bagaev et al. 2021): AnnData wrapper over the de novo and reference kernels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import pandas as pd

from tmescope import _keys
from tmescope._errors import CoverageWarning, InputError, InputTypeError, MissingKeyError
from tmescope._logging import warn
from tmescope._registry import register
from tmescope._settings import settings
from tmescope.subtype._denovo import DEFAULT_THRESHOLDS, cluster_samples, knn_vote, name_clusters
from tmescope.subtype._groups import IMMUNE, SIGNATURES, STROMAL, SUBTYPES
from tmescope.subtype._reference import SubtypeReference, as_subtype_reference, pca2
from tmescope.subtype._scaling import DEFAULT_CLIP, median_scale, scale_parameters

if TYPE_CHECKING:
    from anndata import AnnData

#: Signatures that may be missing (low gene coverage) before the call is refused.
MAX_MISSING_SIGNATURES = 3
#: Fewest samples for de novo subtypes.
MIN_DE_NOVO_SAMPLES = 20

_CITATION = "Bagaev et al., Cancer Cell 2021;39:845-865 (doi:10.1016/j.ccell.2021.04.014)"


def score_subtype_signatures(
    adata: AnnData, *, layer: str | None = None, key_added: str | None = None, reference: Any = None
) -> pd.DataFrame:
    """Score the 29 TME-subtype signatures by unnormalised ssGSEA and store them for :func:`classify_subtype`.

    Unnormalised ssGSEA sums over the ranked gene list, so its scale grows with the number of genes ranked.
    Samples to be placed against a reference must be scored on the reference's genes: pass ``reference``
    (genes the reference lacks are left out; :func:`tmescope.profile.profile` does this itself).

    Parameters
    ----------
    adata
        Samples x genes expression (any monotone scale; ssGSEA uses ranks).
    layer
        Layer to score instead of ``X``.
    key_added
        ``obsm`` key to write; default ``"scores_bagaev2021"``.
    reference
        Reference cohort whose gene list the ranking is restricted to.

    Returns
    -------
    Samples x 29 DataFrame, also written to ``adata.obsm[key_added]`` (and the gene coverage to
    ``adata.uns["coverage_<key_added>"]``).
    """
    from tmescope.scoring import score_signatures

    key = key_added or _keys.OBSM_SUBTYPE_SCORES
    genes = tuple(getattr(reference, "genes", ()) or ())
    target = adata
    if genes:
        keep = adata.var_names.isin(pd.Index(genes))
        if not keep.any():
            msg = "None of the reference's genes are in `adata.var_names`; are both on HGNC symbols?"
            raise InputError(msg)
        target = adata[:, keep].copy() if not keep.all() else adata
    scores = score_signatures(target, sets="bagaev2021", method="ssgsea", normalize=False, layer=layer, key_added=key)
    if not isinstance(scores, pd.DataFrame):  # pragma: no cover - copy=False always returns the frame
        scores = target.obsm[key]
    if target is not adata:
        adata.obsm[key] = scores
        cov = _keys.UNS_COVERAGE.format(method=key)
        adata.uns[cov] = target.uns[cov]
    return scores.loc[:, list(SIGNATURES)]


def _scores_frame(adata: AnnData, scores_key: str) -> pd.DataFrame:
    if scores_key not in adata.obsm:
        msg = (
            f"Key `{scores_key}` not in `adata.obsm`; score the 29 TME-subtype signatures first with "
            f"`tmescope.subtype.score_subtype_signatures(adata, key_added={scores_key!r})`."
        )
        raise MissingKeyError(msg)
    raw = adata.obsm[scores_key]
    if not isinstance(raw, pd.DataFrame):
        msg = (
            f"`adata.obsm[{scores_key!r}]` must be a DataFrame with one column per signature; got {type(raw).__name__}."
        )
        raise InputTypeError(msg)
    missing = [s for s in SIGNATURES if s not in raw.columns]
    if missing:
        msg = (
            f"`adata.obsm[{scores_key!r}]` lacks {len(missing)} of the 29 TME-subtype signatures "
            f"(first: {', '.join(missing[:5])}); score them with `tmescope.subtype.score_subtype_signatures(adata)`."
        )
        raise InputError(msg)
    frame = raw.loc[:, list(SIGNATURES)].astype(float)
    frame.index = adata.obs_names
    return frame


def _handle_missing(frame: pd.DataFrame) -> np.ndarray:
    """NaN mask; refuse when too many signatures are missing, warn when a few are (they count as median)."""
    nan = frame.isna().to_numpy()
    per_sample = nan.sum(axis=1)
    bad = frame.index[per_sample > MAX_MISSING_SIGNATURES].tolist()
    if bad:
        msg = (
            f"{len(bad)} sample(s) lack more than {MAX_MISSING_SIGNATURES} of the 29 TME-subtype signature scores "
            f"(first: {', '.join(map(str, bad[:5]))}); too few signature genes are measured. Check gene coverage "
            "in `adata.uns['coverage_ssgsea']`."
        )
        raise InputError(msg)
    if nan.any():
        cols = frame.columns[nan.any(axis=0)].tolist()
        warn(
            f"TME-subtype signature(s) {', '.join(cols)} missing for {int((per_sample > 0).sum())} sample(s) "
            "(low gene coverage); they are set to the median (0 after scaling).",
            CoverageWarning,
        )
    return nan


def _nearest_table(
    samples: pd.Index,
    ref_ids: pd.Index,
    ref_labels: np.ndarray,
    nn: np.ndarray,
    dist: np.ndarray,
    *,
    n: int,
    source: str,
) -> pd.DataFrame:
    n = min(n, nn.shape[1])
    rows = {
        "sample": np.repeat(samples.astype(str).to_numpy(), n),
        "rank": np.tile(np.arange(1, n + 1), len(samples)),
        "neighbour": ref_ids.astype(str).to_numpy()[nn[:, :n]].ravel(),
        "distance": dist[:, :n].ravel(),
        "subtype": ref_labels[nn[:, :n]].ravel().astype(str),
        "source": source,
    }
    return pd.DataFrame(rows)


def _categorical(values: Any) -> pd.Categorical:
    return pd.Categorical(np.asarray(values, dtype=object), categories=list(SUBTYPES))


@overload
def classify_subtype(
    adata: AnnData,
    *,
    scores_key: str = ...,
    reference: Any = ...,
    k: int = ...,
    seed: int | None = ...,
    method: str = ...,
    clip: float = ...,
    thresholds: tuple[float, ...] = ...,
    n_nearest: int = ...,
    copy: Literal[False] = ...,
) -> pd.DataFrame: ...
@overload
def classify_subtype(
    adata: AnnData,
    *,
    scores_key: str = ...,
    reference: Any = ...,
    k: int = ...,
    seed: int | None = ...,
    method: str = ...,
    clip: float = ...,
    thresholds: tuple[float, ...] = ...,
    n_nearest: int = ...,
    copy: Literal[True],
) -> AnnData: ...


@register(
    name="bagaev2021",
    topic="subtype",
    modality="bulk",
    citation=_CITATION,
    scale="unnormalised ssGSEA of log2(TPM+1); rank-based",
)
def classify_subtype(
    adata: AnnData,
    *,
    scores_key: str = _keys.OBSM_SUBTYPE_SCORES,
    reference: Any = None,
    k: int = 35,
    seed: int | None = None,
    method: str = "louvain",
    clip: float = DEFAULT_CLIP,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
    n_nearest: int = 10,
    copy: bool = False,
) -> pd.DataFrame | AnnData:
    """Call the four pan-cancer TME subtypes IE/F, IE, F and D (Bagaev et al. 2021).

    The 29 functional signatures (unnormalised ssGSEA, see :func:`score_subtype_signatures`) are scaled
    per signature as ``(x - median) / MAD``, where MAD is the mean absolute deviation around the mean (the
    pandas < 2.0 ``DataFrame.mad`` that the original code used).

    - ``reference=None`` (de novo): median and MAD come from this cohort; samples are linked when the
      Pearson correlation of their scaled profiles exceeds a threshold; communities are found by seeded
      Louvain (the paper's choice; or Leiden) over a scan of thresholds, and the four-cluster partition with the best
      ``Calinski-Harabasz / Davies-Bouldin / shifted silhouette`` is kept. Clusters are named by their mean
      immune and stromal signal. Confidence is the share of the ``k`` nearest cohort samples in the same
      subtype.
    - ``reference=<ReferenceCohort>``: median and MAD come from the reference; scaled scores are clipped to
      ``±clip`` and each sample takes the majority subtype of its ``k`` nearest reference samples
      (Euclidean); confidence is the neighbours' vote share. ``k`` is capped at half the size of the
      smallest reference subtype so that every subtype can win a neighbourhood (35 is kept for
      TCGA-sized references; ``uns["tme_subtype"]["k"]`` holds the value used). A sample whose ID is a
      reference case is left out of its own neighbours (leave-one-out).

    Parameters
    ----------
    adata
        Samples x genes with the raw signature scores in ``adata.obsm[scores_key]``.
    scores_key
        ``obsm`` key of the samples x signatures DataFrame of raw scores.
    reference
        A reference cohort (:func:`tmescope.profile.load_reference`, :func:`tmescope.profile.default_reference`)
        or ``None`` for de novo subtypes within this cohort (at least 20 samples).
    k
        Neighbours voting (reference mode) or measuring agreement (de novo mode).
    seed
        Seed of the community detection; default ``tmescope.settings.seed``.
    method
        Community detection for de novo calls: ``"louvain"`` (default, as in the paper) or ``"leiden"``.
    clip
        Clip of scaled scores before the neighbour search.
    thresholds
        Edge thresholds scanned in de novo mode.
    n_nearest
        Nearest cases kept per sample in the ``nearest`` table.
    copy
        Return a changed copy of ``adata`` instead of writing into it.

    Returns
    -------
    DataFrame indexed like ``adata.obs`` with ``subtype`` and ``confidence`` (or the changed copy when
    ``copy=True``). Writes ``obs["tme_subtype"]`` (categorical IE/F, IE, F, D),
    ``obs["tme_subtype_confidence"]``, ``obsm["tme_subtype_scaled"]`` (clipped scaled scores),
    ``obsm["X_tme_embedding"]`` (2-D PCA of the scaled scores; the reference's axes in reference mode) and
    ``uns["tme_subtype"]`` (``method``, ``reference``, ``k``, ``clip``, ``seed``, ``threshold``, ``scan``,
    ``nearest``: tidy table sample, rank, neighbour, distance, subtype, source; and in reference mode
    ``reference_embedding``: the reference samples' coordinates and subtypes).

    Examples
    --------
    >>> import anndata as ad
    >>> from tmescope.subtype import simulate_scores
    >>> scores, truth = simulate_scores(n_per_subtype=15, seed=0)
    >>> adata = ad.AnnData(obs=pd.DataFrame(index=scores.index))
    >>> adata.obsm["scores_bagaev2021"] = scores
    >>> table = classify_subtype(adata, seed=0)
    >>> sorted(table["subtype"].unique())
    ['D', 'F', 'IE', 'IE/F']
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        msg = f"`k` must be a positive integer; got {k!r}."
        raise InputError(msg)
    if not (np.isfinite(clip) and clip > 0):
        msg = f"`clip` must be a positive number; got {clip!r}."
        raise InputError(msg)
    target = adata.copy() if copy else adata
    frame = _scores_frame(target, scores_key)
    nan = _handle_missing(frame)
    seed = settings.seed if seed is None else int(seed)
    info: dict[str, Any] = {"signatures": list(SIGNATURES), "k": k, "clip": float(clip), "scores_key": scores_key}

    if reference is None:
        n = frame.shape[0]
        if n < MIN_DE_NOVO_SAMPLES:
            msg = (
                f"De novo TME subtypes need at least {MIN_DE_NOVO_SAMPLES} samples; got {n}. Classify against a "
                "reference cohort instead: classify_subtype(adata, reference=tmescope.profile.default_reference())."
            )
            raise InputError(msg)
        median, mad = scale_parameters(frame.to_numpy())
        scaled = median_scale(frame.to_numpy(), median, mad)
        scaled[nan] = 0.0
        result = cluster_samples(scaled, thresholds=thresholds, method=method, seed=seed, k=k)
        imm = [SIGNATURES.index(s) for s in IMMUNE]
        strom = [SIGNATURES.index(s) for s in STROMAL]
        names = name_clusters(scaled, result.clusters, imm, strom)
        labels = np.array([names[int(c)] for c in result.clusters], dtype=object)
        x = np.clip(scaled, -clip, clip)
        _, _, nn, dist = knn_vote(x, labels, x, k=k, exclude_self=True)
        # Agreement of each sample's nearest cohort samples with its own cluster's subtype.
        confidence = (labels[nn] == labels[:, None]).mean(axis=1)
        comps, center = pca2(x)
        info.update(
            method="de_novo",
            community_method=method,
            reference="",
            seed=seed,
            threshold=result.threshold,
            n_clusters=len(np.unique(result.clusters)),
            cluster_names={str(c): v for c, v in names.items()},
            scan=result.scan,
            nearest=_nearest_table(frame.index, frame.index, labels, nn, dist, n=n_nearest, source="cohort"),
        )
    else:
        ref: SubtypeReference = as_subtype_reference(reference)
        if tuple(ref.signatures) != SIGNATURES:
            msg = (
                f"Reference {ref.name!r} holds signatures {list(ref.signatures)[:3]}…, not the 29 TME-subtype "
                "signatures in the expected order; rebuild it with tmescope.profile.build_reference."
            )
            raise InputError(msg)
        x = median_scale(frame.to_numpy(), ref.median, ref.mad, clip=clip)
        x[nan] = 0.0
        ref_x = ref.scaled.loc[:, list(SIGNATURES)].to_numpy(dtype=float)
        ref_labels = ref.labels.astype(str).to_numpy(dtype=object)
        counts = {s: int((ref_labels == s).sum()) for s in SUBTYPES}
        present = [c for c in counts.values() if c > 0]
        # A neighbourhood must be winnable by every subtype: cap k at half the smallest reference subtype
        # (k = 35 stays as is for TCGA-sized references; a 121-sample cohort gets a smaller k).
        k_used = max(1, min(k, min(present) // 2)) if present else k
        # A sample that is itself a reference case (same ID) is not its own neighbour (leave-one-out).
        same = ref.scaled.index.astype(str).get_indexer(frame.index.astype(str))
        labels, confidence, nn, dist = knn_vote(ref_x, ref_labels, x, k=k_used, exclude=same)
        comps, center = ref.components, ref.center
        ref_emb = (ref_x - center) @ comps.T
        info.update(
            method="reference_knn",
            reference=ref.name,
            seed=seed,
            n_reference=int(ref_x.shape[0]),
            k=k_used,
            k_requested=k,
            n_in_reference=int((same >= 0).sum()),
            reference_counts=pd.DataFrame({"subtype": list(counts), "n": list(counts.values())}),
            nearest=_nearest_table(frame.index, ref.scaled.index, ref_labels, nn, dist, n=n_nearest, source=ref.name),
            reference_embedding=pd.DataFrame(
                {
                    "sample": ref.scaled.index.astype(str),
                    "x": ref_emb[:, 0],
                    "y": ref_emb[:, 1],
                    "subtype": ref_labels.astype(str),
                }
            ),
        )
    emb = (x - center) @ comps.T
    target.obs[_keys.OBS_SUBTYPE] = _categorical(labels)
    target.obs[_keys.OBS_SUBTYPE_CONFIDENCE] = np.asarray(confidence, dtype=float)
    target.obsm[_keys.OBSM_SUBTYPE_SCALED] = pd.DataFrame(x, index=target.obs_names, columns=list(SIGNATURES))
    target.obsm[_keys.OBSM_EMBEDDING] = pd.DataFrame(emb, index=target.obs_names, columns=["PC1", "PC2"])
    target.uns[_keys.UNS_SUBTYPE] = info
    if copy:
        return target
    return pd.DataFrame(
        {"subtype": target.obs[_keys.OBS_SUBTYPE], "confidence": target.obs[_keys.OBS_SUBTYPE_CONFIDENCE]},
        index=target.obs_names,
    )
