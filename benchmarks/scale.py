"""Scale-out benchmark: chunked reference-mode profiling on a dask LocalCluster, 1 and 2 workers.

A synthetic cohort is built from the bundled Liu 2019 melanoma cohort (16,737 genes, log2(TPM+0.001)): each
sample is a random real sample plus N(0, 0.3) noise, written as one parquet file (genes in rows). ``--genes N``
pads the genes to N with further approved symbols, each carrying a random real gene's values. It is
profiled with :func:`tmescope.profile.profile_chunks` against the shipped reference (signature scores, CYT/TIDE,
ESTIMATE, deconvolution with 100 bootstraps, MCP-counter, reference-mode subtypes, immune phenotype,
percentiles, insights) with ``--chunk-size`` samples per task on a LocalCluster of single-threaded worker
processes. Recorded per run: wall time, samples/s, each worker's peak RSS (``VmHWM`` of the worker process,
which is started fresh for the run), per-chunk compute time from the task stream, and the scheduler's cost per
task (200 empty tasks). Identity of the tables across worker counts is checked.

    .venv/bin/python -m benchmarks scale                                   # 2,000 samples, chunks of 250
    .venv/bin/python -m benchmarks.scale --samples 5000 --chunk-size 250 --workers 1 2
    .venv/bin/python -m benchmarks.scale --samples 50000 --genes 20000 --chunk-size 500 --workers 2
    .venv/bin/python -m benchmarks.scale --memory 100 400                   # peak RSS vs chunk size, 1 worker
    .venv/bin/python -m benchmarks.scale --spatial 4 500000                 # 4 slides x 500k cells, 2 workers
    .venv/bin/python -m benchmarks.scale --spatial-adata 4 200000           # one AnnData, in-process vs 2 workers

Spatial mode: one slide = one chunk of :func:`tmescope._execution.map_chunks` on a LocalCluster of
single-threaded worker processes. Each worker builds its slide (uniform cells at 5,000 cells/mm², 10 cell types,
seeded by slide index) and runs the whole per-slide module (:func:`tmescope.spatial.analyze_spatial`: Delaunay
graph, enrichment with 1,000 permutations, co-occurrence, neighbourhoods, infiltration, mixing score). Recorded:
wall time, per-slide compute time, peak RSS of each worker; extrapolation to more slides as
``ceil(n_slides / W) × t_slide``.

The extrapolation to W workers uses the measured numbers:
``T(W) ≈ startup + ceil(n_chunks / W) × t_chunk + n_chunks × t_sched``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 0
N_BOOT = 100


def make_cohort(path: Path, n_samples: int, *, n_genes: int | None = None, seed: int = SEED) -> int:
    """Write the synthetic cohort (genes in rows, float32) and return its number of genes.

    With ``n_genes`` above the cohort's 16,737, further approved HGNC symbols of the shipped gene table (in sorted
    order) are added, each carrying the values of a randomly chosen real gene, so every row is a real gene name.
    """
    from tmescope.datasets import liu2019_melanoma
    from tmescope.genes._tables import approved_symbols

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata, _ = liu2019_melanoma()
    X = np.asarray(adata.X, dtype=np.float32)
    names = list(adata.var_names)
    if n_genes is not None and n_genes > len(names):
        have = set(names)
        extra = [g for g in sorted(approved_symbols()) if g not in have][: n_genes - len(names)]
        donors = np.random.default_rng(seed + 1).integers(0, X.shape[1], len(extra))
        X = np.hstack([X, X[:, donors]])
        names += extra
    floor = float(X.min())
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for lo in range(0, n_samples, 500):
        hi = min(lo + 500, n_samples)
        block = X[rng.integers(0, X.shape[0], hi - lo)] + rng.normal(0.0, 0.3, (hi - lo, X.shape[1])).astype(np.float32)
        np.maximum(block, floor, out=block)
        for i, row in enumerate(block, start=lo):
            cols[f"S{i:06d}"] = row
    table = pd.DataFrame(cols, index=pd.Index(names, name="gene"))
    table.to_parquet(path, row_group_size=len(table))
    return int(X.shape[1])


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: a spawned process inherits its parent's ru_maxrss."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _noop(x: int) -> int:
    return x


def run(path: Path, *, n_workers: int, chunk_size: int, limit: int | None = None) -> dict[str, Any]:
    """Profile the cohort on a fresh LocalCluster; returns timings, peak RSS per worker and the features."""
    from distributed import Client, LocalCluster, get_task_stream

    from tmescope._execution import map_chunks
    from tmescope._settings import settings
    from tmescope.profile import ChunkedSource, open_source, profile_chunks

    full = open_source(path)
    source = ChunkedSource(full.path, full.kind, full.samples[:limit], full.label_column)
    warm = ChunkedSource(full.path, full.kind, full.samples[: 4 * n_workers], full.label_column)

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    client = Client(cluster)
    startup = time.perf_counter() - t0
    settings.client = client
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # warm-up: imports and numba compilation on the workers, excluded from the timing
            profile_chunks(warm, chunk_size=2, n_boot=N_BOOT, seed=SEED)
        t1 = time.perf_counter()
        map_chunks(_noop, list(range(200)), key="noop")
        t_sched = (time.perf_counter() - t1) / 200
        with warnings.catch_warnings(), get_task_stream(client) as ts:
            warnings.simplefilter("ignore")
            t2 = time.perf_counter()
            features = profile_chunks(source, chunk_size=chunk_size, n_boot=N_BOOT, seed=SEED)
            wall = time.perf_counter() - t2
        chunk_times = [
            sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
            for task in ts.data
            if str(task["key"]).startswith("profile-")
        ]
        rss = client.run(_peak_rss_mb)
    finally:
        settings.client = None
        client.close()
        cluster.close()
    n = len(source.samples)
    return {
        "workers": n_workers,
        "samples": n,
        "chunk_size": chunk_size,
        "n_chunks": math.ceil(n / chunk_size),
        "startup_s": round(startup, 2),
        "wall_s": round(wall, 1),
        "samples_per_s": round(n / wall, 2),
        "chunk_compute_s_median": round(float(np.median(chunk_times)), 2) if chunk_times else None,
        "chunk_compute_s_max": round(float(np.max(chunk_times)), 2) if chunk_times else None,
        "sched_s_per_task": round(t_sched, 4),
        "peak_rss_mb_per_worker": sorted(round(v) for v in rss.values()),
        "driver_peak_rss_mb": round(_peak_rss_mb()),
        "features": features,
    }


SPATIAL_DENSITY_PER_MM2 = 5000.0
SPATIAL_TYPES = 10


def spatial_slide(args: tuple[int, int]) -> dict[str, Any]:
    """Build slide ``i`` of ``n`` cells and run the per-slide module on it (a chunk function; runs on a worker)."""
    from tmescope.spatial import analyze_spatial, read_spatial

    i, n = args
    rng = np.random.default_rng([SEED, i])
    side = np.sqrt(n / SPATIAL_DENSITY_PER_MM2) * 1000.0
    table = pd.DataFrame({"x": rng.uniform(0.0, side, n), "y": rng.uniform(0.0, side, n)})
    table["cell_type"] = pd.Categorical.from_codes(
        rng.integers(0, SPATIAL_TYPES, n), [f"type{k}" for k in range(SPATIAL_TYPES)]
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = read_spatial(table, unit="um")
        features, timing = analyze_spatial(adata, tumor_types=["type0"], n_perms=1000, seed=SEED, n_jobs=1)
    features["sample"] = f"slide{i:03d}"
    return {"seconds": time.perf_counter() - t0, "timing": timing, "features": features}


def spatial_adata(n_slides: int, n_cells: int, *, n_workers: int = 2) -> None:
    """``analyze_spatial`` on one AnnData of ``n_slides`` slides, in-process and with a LocalCluster client."""
    from distributed import Client, LocalCluster

    from tmescope._settings import settings
    from tmescope.spatial import analyze_spatial, read_spatial

    def once() -> tuple[pd.DataFrame, float]:
        parts = []
        for i in range(n_slides):
            rng = np.random.default_rng([SEED, i])
            side = np.sqrt(n_cells / SPATIAL_DENSITY_PER_MM2) * 1000.0
            t = pd.DataFrame({"x": rng.uniform(0.0, side, n_cells), "y": rng.uniform(0.0, side, n_cells)})
            t["cell_type"] = pd.Categorical.from_codes(
                rng.integers(0, SPATIAL_TYPES, n_cells), [f"type{k}" for k in range(SPATIAL_TYPES)]
            )
            t["slide"] = f"slide{i:03d}"
            parts.append(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = read_spatial(pd.concat(parts, ignore_index=True), unit="um")
            t0 = time.perf_counter()
            features, timing = analyze_spatial(adata, tumor_types=["type0"], n_perms=1000, seed=SEED, n_jobs=1)
        wall = time.perf_counter() - t0
        print(json.dumps({"client": settings.client is not None, "wall_s": round(wall, 1), "steps_s": timing}))
        return features, wall

    local, _ = once()
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    client = Client(cluster)
    settings.client = client
    try:
        remote, _ = once()
    finally:
        settings.client = None
        client.close()
        cluster.close()
    print(f"features identical, in-process vs {n_workers} workers: {local.equals(remote)}")


def run_spatial(n_slides: int, n_cells: int, *, n_workers: int = 2) -> dict[str, Any]:
    """Slides in parallel on a fresh LocalCluster; returns wall time, per-slide seconds and peak RSS per worker."""
    from distributed import Client, LocalCluster

    from tmescope._execution import map_chunks
    from tmescope._settings import settings

    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    client = Client(cluster)
    settings.client = client
    try:
        # warm-up: imports and numba compilation on every worker, excluded from the timing
        map_chunks(spatial_slide, [(10_000 + w, 5000) for w in range(2 * n_workers)], key="warm")
        t0 = time.perf_counter()
        out = map_chunks(
            spatial_slide,
            [(i, n_cells) for i in range(n_slides)],
            ids=[f"slide{i}" for i in range(n_slides)],
            key="slide",
        )
        wall = time.perf_counter() - t0
        rss = client.run(_peak_rss_mb)
    finally:
        settings.client = None
        client.close()
        cluster.close()
    per_slide = [o["seconds"] for o in out]
    steps = pd.DataFrame([o["timing"] for o in out]).median().round(1).to_dict()
    return {
        "slides": n_slides,
        "cells_per_slide": n_cells,
        "workers": n_workers,
        "wall_s": round(wall, 1),
        "slide_s_median": round(float(np.median(per_slide)), 1),
        "slide_s_max": round(float(np.max(per_slide)), 1),
        "step_s_median": steps,
        "peak_rss_mb_per_worker": sorted(round(v) for v in rss.values()),
        "driver_peak_rss_mb": round(_peak_rss_mb()),
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "features": pd.concat([o["features"] for o in out], ignore_index=True),
    }


def extrapolate(res: dict[str, Any], *, n_samples: int, n_workers: int) -> float:
    """Hours for ``n_samples`` on ``n_workers`` from one run's per-chunk cost and scheduler cost per task."""
    n_chunks = math.ceil(n_samples / res["chunk_size"])
    t_chunk = res["chunk_compute_s_median"]
    seconds = res["startup_s"] + math.ceil(n_chunks / n_workers) * t_chunk + n_chunks * res["sched_s_per_task"]
    return seconds / 3600.0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--chunk-size", type=int, default=250)
    p.add_argument("--genes", type=int, default=None, help="pad the 16,737 cohort genes with real symbols to N")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--memory", type=int, nargs="*", default=[], help="chunk sizes for a peak-RSS series (1 worker)")
    p.add_argument("--spatial", type=int, nargs=2, metavar=("SLIDES", "CELLS"), help="spatial mode (2 workers)")
    p.add_argument("--spatial-adata", type=int, nargs=2, metavar=("SLIDES", "CELLS"), help="one multi-slide AnnData")
    args = p.parse_args(argv if argv is not None else [])
    if args.spatial_adata:
        spatial_adata(*args.spatial_adata, n_workers=max(args.workers))
        return
    if args.spatial:
        n_slides, n_cells = args.spatial
        res = run_spatial(n_slides, n_cells, n_workers=max(args.workers))
        print(json.dumps({k: v for k, v in res.items() if k != "features"}))
        for target in (20,):
            hours = math.ceil(target / res["workers"]) * res["slide_s_median"] / 3600.0
            print(f"extrapolated: {target} slides x {n_cells:,} cells on {res['workers']} workers ~ {hours:.2f} h")
        return
    with tempfile.TemporaryDirectory(prefix="tmescope-scale-") as tmp:
        path = Path(tmp) / "cohort.parquet"
        n_genes = make_cohort(path, args.samples, n_genes=args.genes)
        print(f"cohort: {n_genes} genes x {args.samples} samples, {path.stat().st_size / 1e6:.0f} MB parquet")
        results = []
        for w in args.workers:
            res = run(path, n_workers=w, chunk_size=args.chunk_size)
            results.append(res)
            print(json.dumps({k: v for k, v in res.items() if k != "features"}))
        for res in results[1:]:
            a, b = results[0]["features"], res["features"]
            same = a.equals(b)
            print(f"features identical, {results[0]['workers']} vs {res['workers']} worker(s): {same}")
            if not same and a.shape == b.shape:
                diff = a["value"].ne(b["value"]) & ~(a["value"].isna() & b["value"].isna())
                print("  differing values:", int(diff.sum()), a.loc[diff, "feature"].value_counts().head(5).to_dict())
                print("  largest difference:", float((a["value"] - b["value"]).abs().max()))
                print("  other columns differing:", [c for c in a.columns if c != "value" and not a[c].equals(b[c])])
        if len(results) > 1:
            print(
                f"scaling {results[0]['workers']}->{results[-1]['workers']} workers: "
                f"{results[-1]['samples_per_s'] / results[0]['samples_per_s']:.2f}x"
            )
        base = results[0]
        for n, w in ((50_000, 2), (50_000, 100), (1_000_000, 100)):
            hours = extrapolate(base, n_samples=n, n_workers=w)
            print(f"extrapolated: {n:,} samples on {w} workers ~ {hours:.3f} h ({60 * hours:.1f} min)")
        for size in args.memory:
            res = run(path, n_workers=1, chunk_size=size, limit=2 * size)
            print(json.dumps({"memory_series": True, **{k: v for k, v in res.items() if k != "features"}}))


if __name__ == "__main__":
    main(sys.argv[1:])
