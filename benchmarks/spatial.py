"""Spatial benchmark: tmescope.spatial side by side with squidpy in the same run.

Uniform random cells at 5,000 cells/mm² (a CosMx-like density; coordinates in µm), 10 cell types. Each
measurement runs in its own process (peak RSS is that tool's), after a warm-up call on 2,000 cells (imports and
numba compilation excluded), with 2 threads for tmescope and squidpy's defaults (n_jobs=1: its n_jobs=2 crashes
above ~100k cells, squidpy #867).

Steps: kNN graph (k = 6) + neighbourhood enrichment (1,000 permutations); co-occurrence over 0-200 µm in
10 µm steps (the same thresholds for both tools); tmescope's whole module (``analyze_spatial``).

squidpy is not a tmescope dependency: it runs from its own virtual environment (default /work/venvs/squidpy,
or $SQUIDPY_PYTHON), since installing it would change the shared environment.

    .venv/bin/python -m benchmarks spatial                  # 10k and 100k cells side by side
    .venv/bin/python -m benchmarks.spatial --sizes 1000000  # 10^6 cells (slow for squidpy)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DENSITY_PER_MM2 = 5000.0
N_TYPES = 10
N_PERMS = 1000
THREADS = 2
INTERVAL = np.linspace(0.0, 200.0, 21)
SQUIDPY_PYTHON = os.environ.get("SQUIDPY_PYTHON", "/work/venvs/squidpy/bin/python")
HERE = Path(__file__).resolve()


def make_cells(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    side = np.sqrt(n / DENSITY_PER_MM2) * 1000.0
    return rng.uniform(0.0, side, size=(n, 2)), rng.integers(0, N_TYPES, size=n)


def _adata(n: int):
    import anndata as ad
    import pandas as pd

    xy, codes = make_cells(n)
    obs = pd.DataFrame(
        {"cell_type": pd.Categorical.from_codes(codes, [f"type{i}" for i in range(N_TYPES)])},
        index=pd.Index([str(i) for i in range(n)]),
    )
    a = ad.AnnData(obs=obs)
    a.obsm["spatial"] = xy
    return a


def _tmescope(step: str, n: int) -> float:
    from tmescope import spatial as sp

    def run(m: int) -> float:
        a = sp.read_spatial(_adata(m), unit="um")
        t0 = time.perf_counter()
        if step == "graph_nhood":
            sp.spatial_neighbors(a, n_neighs=6, n_jobs=THREADS)
            sp.nhood_enrichment(a, n_perms=N_PERMS, seed=0, n_jobs=THREADS)
        elif step == "co_occurrence":
            sp.co_occurrence(a, interval=INTERVAL, n_jobs=THREADS)
        elif step == "module":
            sp.analyze_spatial(a, tumor_types=["type0"], n_perms=N_PERMS, seed=0, n_jobs=THREADS)
        return time.perf_counter() - t0

    run(2000)
    return run(n)


def _squidpy(step: str, n: int) -> float:
    import squidpy as sq

    def run(m: int) -> float:
        a = _adata(m)
        t0 = time.perf_counter()
        if step == "graph_nhood":
            sq.gr.spatial_neighbors(a, coord_type="generic", n_neighs=6)
            sq.gr.nhood_enrichment(a, cluster_key="cell_type", n_perms=N_PERMS, seed=0, show_progress_bar=False)
        elif step == "co_occurrence":
            sq.gr.co_occurrence(a, cluster_key="cell_type", interval=INTERVAL)
        return time.perf_counter() - t0

    run(2000)
    return run(n)


def _worker(tool: str, step: str, n: int) -> None:
    seconds = (_tmescope if tool == "tmescope" else _squidpy)(step, n)
    # VmHWM is this process's own peak; ru_maxrss may carry the launching process's peak across exec
    status = Path("/proc/self/status")
    hwm = [ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM")] if status.exists() else []
    rss = int(hwm[0].split()[1]) / 1024**2 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"tool": tool, "step": step, "n": n, "seconds": seconds, "rss_gb": rss}))


def measure(tool: str, step: str, n: int, *, timeout: float = 3600) -> dict:
    python = sys.executable if tool == "tmescope" else SQUIDPY_PYTHON
    if tool == "squidpy" and not Path(python).exists():
        return {"tool": tool, "step": step, "n": n, "error": f"no squidpy environment at {python}"}
    cmd = [python, "-W", "ignore", str(HERE), "--worker", tool, step, str(n)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1])}
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "step": step, "n": n, "error": f"over {timeout:.0f} s"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        tail = (res.stderr.strip().splitlines() or ["?"])[-1][:120]
        return {"tool": tool, "step": step, "n": n, "error": tail}
    return json.loads(lines[-1])


def _fmt(r: dict | None) -> str:
    if r is None:
        return "—"
    if "error" in r:
        return f"failed: {r['error']}"
    return f"{r['seconds']:.2f} s / {r['rss_gb']:.2f} GB"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--steps", nargs="+", default=["graph_nhood", "co_occurrence", "module"])
    p.add_argument("--no-squidpy", action="store_true")
    p.add_argument("--squidpy-max-cooc", type=int, default=100_000, help="Largest n for squidpy's co-occurrence.")
    args = p.parse_args(argv if argv is not None else [])
    print("| step | cells | tmescope | squidpy 1.8.2 | ratio |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        for step in args.steps:
            t = measure("tmescope", step, n)
            s = None
            peer = step != "module" and not args.no_squidpy
            if step == "co_occurrence" and n > args.squidpy_max_cooc:
                peer = False
            if peer:
                s = measure("squidpy", step, n)
            ratio = "—"
            if s is not None and "error" not in s and "error" not in t:
                ratio = f"{s['seconds'] / t['seconds']:.1f}x"
            print(f"| {step} | {n:,} | {_fmt(t)} | {_fmt(s)} | {ratio} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(sys.argv[1:])
