from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tmescope.crosstalk import bh_fdr, robust_rank_aggregate
from tmescope.crosstalk._kernels import BLOCK, draw_permutations, permutation_pvalues


def _oracle(x, codes, n_groups, subunits, src, tgt, lig, rec, perms):
    dense = x.toarray()

    def scores(c):
        means = np.stack([dense[c == g].mean(0) for g in range(n_groups)])
        ent = np.stack([[min(means[g, s] for s in row if s >= 0) for row in subunits] for g in range(n_groups)])
        return 0.5 * (ent[src, lig] + ent[tgt, rec])

    obs = scores(codes)
    hits = sum((scores(p) >= obs).astype(int) for p in perms)
    return obs, hits / len(perms)


@pytest.fixture
def problem(rng):
    n, g, n_groups = 60, 5, 3
    x = sp.random(n, g, density=0.5, random_state=rng, format="csr") * 3
    codes = (np.arange(n) % n_groups).astype(np.int32)
    subunits = np.array([[0, -1], [1, 2], [3, -1], [4, 1]])
    src = np.array([0, 1, 2, 0, 2])
    tgt = np.array([1, 2, 0, 0, 1])
    lig = np.array([0, 0, 2, 3, 1])
    rec = np.array([1, 3, 1, 2, 0])
    return x, codes, n_groups, subunits, src, tgt, lig, rec


def test_kernel_matches_slow_oracle(problem, rng):
    x, codes, *rest = problem
    perms = np.stack([rng.permutation(codes) for _ in range(150)]).astype(np.int32)
    score, p = permutation_pvalues(x, codes, *rest, n_perms=150, seed=0, permutations=perms)
    obs, p_ref = _oracle(x, codes, *rest, perms)
    np.testing.assert_allclose(score[score > 0], obs[score > 0], rtol=1e-12)
    np.testing.assert_array_equal(p, p_ref)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_results_do_not_depend_on_n_jobs(problem, seed):
    runs = [permutation_pvalues(*problem, n_perms=3 * BLOCK + 5, seed=seed, n_jobs=j) for j in (1, 2)]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    again = permutation_pvalues(*problem, n_perms=3 * BLOCK + 5, seed=seed, n_jobs=1)
    np.testing.assert_array_equal(runs[0][1], again[1])


def test_first_block_is_a_prefix_of_longer_runs(problem):
    # Blocks of permutations come from child seeds, so more permutations only add blocks.
    ss = np.random.SeedSequence(3)
    first = draw_permutations(problem[1], ss.spawn(1)[0], 4)
    again = draw_permutations(problem[1], np.random.SeedSequence(3).spawn(5)[0], 4)
    np.testing.assert_array_equal(first, again)
    assert sorted(first[0].tolist()) == sorted(problem[1].tolist())


def test_rra_and_fdr_against_definitions():
    ranks = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]])
    r = robust_rank_aggregate(ranks)
    # item 3 is last everywhere: fractions (1, 1) -> beta cdfs 1 -> rho 1
    assert r[2] == pytest.approx(1.0)
    # item 1: sorted fractions (1/3, 2/3); beta(1,2).cdf(1/3) = 5/9, beta(2,1).cdf(2/3) = 4/9 -> 2 * 4/9
    assert r[0] == pytest.approx(8 / 9)
    p = np.array([0.001, 0.01, 0.02, 0.5, np.nan])
    q = bh_fdr(p)
    np.testing.assert_allclose(q[:4], [0.004, 0.02, 0.02 * 4 / 3, 0.5])
    assert np.isnan(q[4])
