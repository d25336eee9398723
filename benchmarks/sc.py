"""Single-cell scale benchmark: annotation, state scoring and pseudobulk on up to 200,000 cells.

The cells are built by resampling the 3,177 real MERFISH lung-cancer cells of Chen et al. 2024 (tessera subset,
479 genes, ../shared/reference/merfish_nsclc_tessera_chen2024) with replacement, each drawn cell binomially
thinned (keep 85 % of its transcripts, seeded) so that no two cells are identical, and spread over 10 samples.
Each size runs in its own process (peak RSS = VmHWM of that process) with 2 threads (OMP/MKL/OpenBLAS/numba),
after a warm-up run on 2,000 cells (imports and numba compilation excluded).

Steps timed: ``prepare_cells`` (scale detection, gene mapping, normalisation), ``annotate_compartments``
(marker scores, HVG/PCA/exact kNN/Leiden, labels), ``score_states`` (mean z of the state programs) and
``pseudobulk`` (sample x compartment sums). Above 50,000 cells the annotator clusters a seeded subsample of
50,000 cells and assigns the others to the nearest cluster centroid (``tmescope.sc.leiden_clusters``). CPU time is
that of the whole process (all threads), so it shows the work regardless of how loaded the machine is.

    .venv/bin/python -m benchmarks sc                      # 20,000 and 200,000 cells
    .venv/bin/python -m benchmarks.sc --sizes 20000
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

THREADS = 2
N_SAMPLES = 10
KEEP = 0.85
HERE = Path(__file__).resolve()
MERFISH = HERE.parents[2] / "shared" / "reference" / "merfish_nsclc_tessera_chen2024"


def make_cells(n: int, seed: int = 0):
    """``n`` cells resampled from the MERFISH cells (raw counts, CSR), in ``N_SAMPLES`` samples."""
    import anndata as ad
    import pandas as pd
    import scipy.io
    from scipy import sparse

    with gzip.open(MERFISH / "counts_genes_x_cells.mtx.gz", "rb") as fh:
        base = sparse.csr_matrix(scipy.io.mmread(fh).T, dtype=np.float32)
    genes = (MERFISH / "genes.txt").read_text().split()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, base.shape[0], size=n)
    X = base[pick].tocsr()
    X.data = rng.binomial(X.data.astype(np.int64), KEEP).astype(np.float32)
    X.eliminate_zeros()
    obs = pd.DataFrame(
        {"patient": [f"P{i:02d}" for i in rng.integers(0, N_SAMPLES, size=n)]},
        index=pd.Index([f"cell{i}" for i in range(n)]),
    )
    return ad.AnnData(X, obs=obs, var=pd.DataFrame(index=genes))


def _pipeline(n: int) -> dict:
    import warnings

    from tmescope import sc as tsc

    def run(m: int) -> dict:
        raw = make_cells(m)
        times = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            c0 = time.process_time()
            cells = tsc.prepare_cells(raw, sample_key="patient")
            times["prepare"] = time.perf_counter() - t0
            t = time.perf_counter()
            tsc.annotate_compartments(cells, seed=0)
            times["annotate"] = time.perf_counter() - t
            t = time.perf_counter()
            tsc.score_states(cells)
            times["states"] = time.perf_counter() - t
            t = time.perf_counter()
            tsc.pseudobulk(cells, groupby="compartment")
            times["pseudobulk"] = time.perf_counter() - t
        times["total"] = time.perf_counter() - t0
        times["cpu"] = time.process_time() - c0
        return times

    run(2000)
    return run(n)


def _worker(n: int) -> None:
    times = _pipeline(n)
    status = Path("/proc/self/status").read_text().splitlines()
    hwm = next(ln for ln in status if ln.startswith("VmHWM"))
    print(json.dumps({"n": n, **times, "rss_gb": int(hwm.split()[1]) / 1024**2}))


def measure(n: int, *, timeout: float = 3600) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE.parents[1]),
        **{
            k: str(THREADS) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
        },
    }
    cmd = [sys.executable, "-W", "ignore", str(HERE), "--worker", str(n)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"n": n, "error": f"over {timeout:.0f} s"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        return {"n": n, "error": (res.stderr.strip().splitlines() or ["?"])[-1][:160]}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv if argv is not None else [])
    if args.worker is not None:
        _worker(args.worker)
        return
    load = os.getloadavg()
    print(
        f"{_dt.datetime.now(_dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{THREADS} threads, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)"
    )
    print("| cells | prepare | annotate | states | pseudobulk | total (wall) | CPU time | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        r = measure(n)
        if "error" in r:
            print(f"| {n:,} | failed: {r['error']} |||||")
            continue
        print(
            f"| {n:,} | {r['prepare']:.1f} s | {r['annotate']:.1f} s | {r['states']:.1f} s | {r['pseudobulk']:.1f} s "
            f"| {r['total']:.1f} s | {r['cpu']:.1f} s | {r['rss_gb']:.2f} GB |"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
