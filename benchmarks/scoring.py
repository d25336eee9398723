"""Gene-set scoring benchmark: tmescope ssGSEA side by side with gseapy.ssgsea in the same run.

20,000 genes x N samples, 50 sets of 20-200 genes, log-scale values with 20% zeros (ties). Each measurement
runs in its own process (so peak RSS is that tool's), after a warm-up call on 10 samples (imports and numba
compilation excluded), on 2 threads.

    .venv/bin/python -m benchmarks scoring                 # N = 1,000 side by side, N = 10,000 tmescope only
    .venv/bin/python -m benchmarks.scoring --full          # also gseapy at N = 10,000 in 1,000-sample chunks (slow)
    .venv/bin/python -m benchmarks.scoring --sizes 100 1000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_GENES = 20_000
N_SETS = 50
THREADS = 2
SEED = 0


def make_data(n_obs: int, *, seed: int = SEED) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """float32 (n_obs, N_GENES) log-scale matrix built block by block (no float64 copy of the whole matrix)."""
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i:05d}" for i in range(N_GENES)]
    base = rng.normal(3.0, 2.0, size=N_GENES)
    X = np.empty((n_obs, N_GENES), dtype=np.float32)
    for lo in range(0, n_obs, 500):
        hi = min(lo + 500, n_obs)
        block = np.maximum(base + rng.normal(0.0, 1.0, size=(hi - lo, N_GENES)), 0.0)
        block[rng.random(block.shape) < 0.2] = 0.0
        X[lo:hi] = block
    set_rng = np.random.default_rng(seed + 1)
    sets = {
        f"set{j:02d}": [genes[k] for k in set_rng.choice(N_GENES, size=int(set_rng.integers(20, 201)), replace=False)]
        for j in range(N_SETS)
    }
    return X, genes, sets


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _run_tmescope(X: np.ndarray, genes: list[str], sets: dict[str, list[str]]) -> np.ndarray:
    import anndata as ad
    import pandas as pd

    from tmescope.scoring import score_signatures

    adata = ad.AnnData(X, var=pd.DataFrame(index=genes))
    return score_signatures(adata, sets=sets, method="ssgsea", n_jobs=THREADS, chunk_size=1000).to_numpy()


def _run_gseapy(X: np.ndarray, genes: list[str], sets: dict[str, list[str]], *, chunk: int | None) -> np.ndarray:
    import gseapy
    import pandas as pd

    parts = []
    step = chunk or X.shape[0]
    for lo in range(0, X.shape[0], step):
        block = X[lo : lo + step]
        names = [f"s{i}" for i in range(lo, lo + block.shape[0])]
        data = pd.DataFrame(block.T.astype(np.float64), index=genes, columns=names)
        res = gseapy.ssgsea(
            data=data,
            gene_sets=sets,
            outdir=None,
            sample_norm_method="rank",
            weight=0.25,
            min_size=1,
            max_size=1000,
            permutation_num=0,
            no_plot=True,
            threads=THREADS,
            verbose=False,
        )
        es = res.res2d.astype({"ES": float}).pivot_table(index="Name", columns="Term", values="ES", aggfunc="first")
        parts.append(es.loc[names, list(sets)].to_numpy())
    return np.vstack(parts)


def worker(tool: str, n_obs: int, out: Path, chunk: int | None) -> None:
    """One measurement in this process: warm up on 10 samples, then time the full call."""
    X, genes, sets = make_data(n_obs)
    run = _run_tmescope if tool == "tmescope" else (lambda a, g, s: _run_gseapy(a, g, s, chunk=chunk))
    run(X[:10], genes, sets)
    t0 = time.perf_counter()
    scores = run(X, genes, sets)
    seconds = time.perf_counter() - t0
    np.save(out.with_suffix(".npy"), scores)
    out.write_text(json.dumps({"seconds": seconds, "peak_rss_gb": _peak_rss_gb()}))


def measure(tool: str, n_obs: int, *, chunk: int | None = None) -> dict[str, float] | None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks.scoring", "--worker", tool, str(n_obs), str(out)]
        if chunk:
            cmd += ["--chunk", str(chunk)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            print(f"  {tool} N={n_obs} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
            return None
        res = json.loads(out.read_text())
        res["scores"] = np.load(out.with_suffix(".npy"))
        return res


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--full", action="store_true", help="also run gseapy (chunked) at N >= 10,000")
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "N", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), Path(args.worker[2]), args.chunk)
        return

    print(
        f"\nGene-set scoring: ssGSEA, {N_GENES:,} genes x N samples, {N_SETS} sets of 20-200 genes, {THREADS} threads"
    )
    rows = []
    for n in args.sizes:
        ours = measure("tmescope", n)
        peer_chunk = 1000 if n > 1000 else None
        peer = measure("gseapy", n, chunk=peer_chunk) if (n <= 1000 or args.full) else None
        r = {
            "n": n,
            "ours": ours,
            "peer": peer,
            "peer_label": "gseapy" + (" (1,000-sample chunks)" if peer_chunk else ""),
        }
        if ours is not None and peer is not None:
            r["pearson"] = float(np.corrcoef(ours["scores"].ravel(), peer["scores"].ravel())[0, 1])
        rows.append(r)

    header = f"{'N':>7} | {'tmescope s':>10} | {'RSS GB':>6} | {'peer':<30} | {'peer s':>8} | {'RSS GB':>6} | {'speed-up':>8} | r(ES)"
    print(header)
    print("-" * len(header))
    for r in rows:
        o, p = r["ours"], r["peer"]
        os_ = f"{o['seconds']:10.2f} | {o['peak_rss_gb']:6.2f}" if o else f"{'failed':>10} | {'':>6}"
        if p:
            ps = f"{r['peer_label']:<30} | {p['seconds']:8.2f} | {p['peak_rss_gb']:6.2f}"
            ratio = f"{p['seconds'] / o['seconds']:7.1f}x" if o else ""
            corr = f"{r.get('pearson', float('nan')):.6f}"
        else:
            ps = f"{'gseapy (not run; --full)':<30} | {'':>8} | {'':>6}"
            ratio, corr = "", ""
        print(f"{r['n']:>7} | {os_} | {ps} | {ratio:>8} | {corr}")
    print("Targets: >= 10x faster than gseapy at N = 1,000; N = 10,000 under 20 s with peak RSS under 3 GB.")


if __name__ == "__main__":
    main(sys.argv[1:])
