"""Ligand–receptor benchmark: tmescope's CellPhoneDB-style test side by side with liana's ``li.mt.cellphonedb``.

N cells x 2,000 genes (every gene of the consensus resource plus fillers), 8 groups, 1,000 permutations,
log-normalised sparse values (about 10% non-zero, group-specific rates). Each measurement runs in its own
process after a warm-up call on 2,000 cells (imports and numba compilation excluded); peak RSS is the largest of
that process and its children. tmescope uses 2 threads; liana its default ``n_jobs=1``. Wall time and CPU time
(all threads of the process) are both reported: on a shared, loaded machine the CPU-time ratio is the steadier
figure.

    .venv/bin/python -m benchmarks crosstalk                     # N = 10,000 and 50,000 side by side
    .venv/bin/python -m benchmarks.crosstalk --sizes 500000 --ours-only
    .venv/bin/python -m benchmarks.crosstalk --sizes 50000 --cluster 2   # one sample's permutation blocks as tasks
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

N_GENES = 2_000
N_GROUPS = 8
N_PERMS = 1_000
THREADS = 2
SEED = 0


def make_data(n_obs: int, *, seed: int = SEED):
    """AnnData with a float32 CSR matrix built block by block, ``obs["group"]`` with 8 groups."""
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    from tmescope.crosstalk import load_resource

    res = load_resource()
    lr_genes = sorted({g for col in ("ligand", "receptor") for n in res[col] for g in n.split("_")})
    genes = (lr_genes + [f"FILLER{i:04d}" for i in range(N_GENES)])[:N_GENES]
    rng = np.random.default_rng(seed)
    base = rng.beta(0.6, 4.0, size=N_GENES)  # mean 0.13: about 10% of entries non-zero
    factors = rng.lognormal(0.0, 0.7, size=(N_GROUPS, N_GENES))
    rate = np.clip(base[None, :] * factors, 0.0, 0.95)
    labels = rng.integers(0, N_GROUPS, size=n_obs)
    blocks = []
    for lo in range(0, n_obs, 5000):
        lab = labels[lo : lo + 5000]
        mask = rng.random((lab.size, N_GENES), dtype=np.float32) < rate[lab]
        rows, cols = np.nonzero(mask)
        vals = np.log1p(1.0 + rng.exponential(2.0, size=rows.size)).astype(np.float32)
        blocks.append(sp.csr_matrix((vals, (rows, cols)), shape=(lab.size, N_GENES)))
    x = sp.vstack(blocks, format="csr")
    obs = pd.DataFrame({"group": pd.Categorical([f"g{k}" for k in labels])}, index=[f"c{i}" for i in range(n_obs)])
    return ad.AnnData(x, obs=obs, var=pd.DataFrame(index=genes))


def _peak_rss_gb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kb, child_kb) / 1024**2


def _run_tmescope(adata):
    from tmescope.crosstalk import infer_crosstalk

    infer_crosstalk(adata, groupby="group", n_perms=N_PERMS, seed=SEED, n_jobs=THREADS)
    res = adata.uns["crosstalk"]["results"]
    return res[["source", "target", "ligand", "receptor", "lr_means", "pvalue"]]


def _run_liana(adata):
    import liana as li

    res = li.mt.cellphonedb(
        adata,
        groupby="group",
        resource_name="consensus",
        expr_prop=0.1,
        min_cells=5,
        n_perms=N_PERMS,
        seed=SEED,
        use_raw=False,
        n_jobs=1,
        inplace=False,
        verbose=False,
    )
    res = res[["source", "target", "ligand_complex", "receptor_complex", "lr_means", "cellphone_pvals"]]
    return res.set_axis(["source", "target", "ligand", "receptor", "lr_means", "pvalue"], axis=1)


def worker(tool: str, n_obs: int, out: Path) -> None:
    """One measurement in this process: warm up on 2,000 cells, then time the full call."""
    import warnings

    warnings.simplefilter("ignore")
    adata = make_data(n_obs)
    run = _run_tmescope if tool == "tmescope" else _run_liana
    run(adata[:2000].copy())
    t0, c0 = time.perf_counter(), time.process_time()
    table = run(adata)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    table.to_parquet(out.with_suffix(".parquet"))
    out.write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_rss_gb": _peak_rss_gb()}))


def measure(tool: str, n_obs: int) -> dict | None:
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks.crosstalk", "--worker", tool, str(n_obs), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.exists():
            print(f"  {tool} N={n_obs} failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
            return None
        res = json.loads(out.read_text())
        res["table"] = pd.read_parquet(out.with_suffix(".parquet"))
        return res


def agreement(ours, peer) -> tuple[float, float]:
    """Max |difference| of lr_means over shared rows, and Jaccard index of the p <= 0.05 sets."""
    key = ["source", "target", "ligand", "receptor"]
    merged = ours.merge(peer, on=key, suffixes=("", "_peer"))
    diff = float((merged["lr_means"] - merged["lr_means_peer"]).abs().max()) if len(merged) else float("nan")
    a = set(map(tuple, ours.loc[ours["pvalue"] <= 0.05, key].to_numpy()))
    b = set(map(tuple, peer.loc[peer["pvalue"] <= 0.05, key].to_numpy()))
    return diff, len(a & b) / max(len(a | b), 1)


def cluster_blocks(n_obs: int, n_workers: int) -> None:
    """One sample: in-process threads vs its permutation blocks as tasks on a LocalCluster; same table."""
    import warnings

    from tmescope._execution import use_scheduler

    warnings.simplefilter("ignore")
    adata = make_data(n_obs)
    _run_tmescope(adata[:2000].copy())
    t0 = time.perf_counter()
    local = _run_tmescope(adata.copy())
    t_local = time.perf_counter() - t0
    with use_scheduler(f"local:{n_workers}"):
        _run_tmescope(adata[:2000].copy())  # imports and numba compilation on the workers
        t0 = time.perf_counter()
        remote = _run_tmescope(adata.copy())
        t_remote = time.perf_counter() - t0
    print(
        f"one sample of {n_obs:,} cells, {N_PERMS:,} permutations: in-process ({THREADS} threads) {t_local:.1f} s; "
        f"blocks of 64 permutations on {n_workers} worker processes {t_remote:.1f} s; "
        f"tables identical: {local.equals(remote)}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 50_000])
    parser.add_argument("--ours-only", action="store_true", help="skip liana")
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "N", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--cluster", type=int, metavar="W", help="one sample on a LocalCluster of W workers instead")
    args = parser.parse_args(argv if argv is not None else [])
    if args.cluster:
        for n in args.sizes:
            cluster_blocks(n, args.cluster)
        return
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), Path(args.worker[2]))
        return
    import importlib.util

    has_liana = importlib.util.find_spec("liana") is not None and not args.ours_only
    print(
        f"\nLigand-receptor: CellPhoneDB-style test, N cells x {N_GENES:,} genes, {N_GROUPS} groups, "
        f"{N_PERMS:,} permutations (tmescope {THREADS} threads; liana n_jobs=1)"
    )
    header = (
        f"{'N':>8} | {'tmescope s':>10} | {'CPU s':>7} | {'RSS GB':>6} | {'liana s':>8} | {'CPU s':>7} | "
        f"{'RSS GB':>6} | {'faster':>7} | {'CPU ratio':>9} | {'RSS ratio':>9} | max|d lr_means| | Jaccard p<=0.05"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        ours = measure("tmescope", n)
        peer = measure("liana", n) if has_liana else None
        o = (
            f"{ours['seconds']:10.2f} | {ours['cpu_seconds']:7.1f} | {ours['peak_rss_gb']:6.2f}"
            if ours
            else f"{'failed':>10} | {'':>7} | {'':>6}"
        )
        if peer and ours:
            diff, jac = agreement(ours["table"], peer["table"])
            p = (
                f"{peer['seconds']:8.2f} | {peer['cpu_seconds']:7.1f} | {peer['peak_rss_gb']:6.2f} | "
                f"{peer['seconds'] / ours['seconds']:6.1f}x | {peer['cpu_seconds'] / ours['cpu_seconds']:8.1f}x | "
                f"{ours['peak_rss_gb'] / peer['peak_rss_gb']:9.2f} | {diff:15.2e} | {jac:.3f}"
            )
        else:
            p = f"{'not run':>8} | {'':>7} | {'':>6} | {'':>7} | {'':>9} | {'':>9} | {'':>15} |"
        print(f"{n:>8} | {o} | {p}", flush=True)
    print("Targets: >= 5x faster than liana at 50,000 cells with peak RSS <= half; 500,000 cells under 10 minutes.")


if __name__ == "__main__":
    main(sys.argv[1:])
