from __future__ import annotations

import numpy as np
import pytest

from tmescope.bulk import get_reference
from tmescope.bulk._calibration import interval_coverage, simulate_mixtures
from tmescope.bulk._deconv import MODEL_ERROR, _cls_fit, deconvolve_kernel, residual_scale


def _til10():
    ref = get_reference("til10")
    sig = ref.signature
    use = sig.index.difference(list(ref.rnaseq_exclude), sort=False)
    return sig.loc[use].to_numpy(float), ref.mrna_content[sig.columns].to_numpy(float), ref.other_mrna_content


@pytest.mark.parametrize("tau", [0.3, 0.7])
def test_residual_scale_estimates_reference_error(tau):
    R, content, other = _til10()
    sim = simulate_mixtures(
        R,
        content=content,
        other_content=other,
        n=30,
        rng=np.random.default_rng(1),
        ref_error=tau,
        noise=0.0,
        other_max=0.0,
    )
    recon = _cls_fit(R, sim.Y, np.ones((1, R.shape[0])), 1.0)[0] @ R.T
    scale = np.median(residual_scale(sim.Y, recon, R))
    assert 0.6 * tau < scale < 1.3 * tau


def test_model_error_intervals_cover_simulated_mixtures_with_reference_error():
    R, content, other = _til10()
    sim = simulate_mixtures(R, content=content, other_content=other, n=40, rng=np.random.default_rng(2), ref_error=0.6)
    kw = {"content": content, "other_content": other, "level_weighting": False, "n_boot": 100, "seed": 0}
    plain = deconvolve_kernel(sim.Y, R, model_error=0.0, **kw)
    calibrated = deconvolve_kernel(sim.Y, R, **kw)
    cells = slice(0, R.shape[1])  # the "other" column's bias from tumour expression is not resampling error
    before = interval_coverage(plain.ci_low[:, cells], plain.ci_high[:, cells], sim.cells[:, cells])
    after = interval_coverage(calibrated.ci_low[:, cells], calibrated.ci_high[:, cells], sim.cells[:, cells])
    assert before < 0.93
    assert after >= 0.93, (before, after)
    np.testing.assert_array_equal(plain.fractions, calibrated.fractions)  # the point estimate does not move
    assert MODEL_ERROR > 0
    assert np.median(calibrated.ci_high - calibrated.ci_low) < 0.25  # still informative


def test_model_error_zero_on_exact_mixture():
    R = np.array([[10.0, 0.0], [0.0, 10.0], [5.0, 5.0], [2.0, 1.0]])
    Y = (R @ np.array([0.3, 0.5]))[None, :]
    res = deconvolve_kernel(Y, R, content=np.ones(2), other_content=1.0, n_boot=30, seed=0)
    # an exact fit has no residual spread, so the model-error term adds nothing
    np.testing.assert_allclose(residual_scale(Y, Y, R), 0.0)
    assert np.isfinite(res.ci_low).all()


def test_interval_coverage_counts_pairs():
    low = np.array([[0.0, 0.1], [0.2, 0.0]])
    high = np.array([[0.1, 0.2], [0.3, 0.05]])
    truth = np.array([[0.05, 0.3], [0.25, 0.0]])
    assert interval_coverage(low, high, truth) == 0.75
