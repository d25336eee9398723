from __future__ import annotations

import numpy as np
import pytest

from tmescope.bulk import deconvolve, get_reference
from tmescope.bulk._calibration import interval_coverage, simulate_mixtures
from tmescope.bulk._deconv import (
    MODEL_ERROR,
    POOR_FIT,
    POOR_FIT_BY_CONFIG,
    _cls_fit,
    deconvolve_kernel,
    residual_scale,
)

from .conftest import synthetic_mixtures


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


@pytest.mark.filterwarnings("ignore::tmescope.AutoFixWarning")
def test_poor_fit_flag_is_calibrated_on_real_tumours():
    # The demo cohort (Liu 2019, 121 melanomas) was not used to calibrate the thresholds.
    from tmescope.datasets import liu2019_melanoma

    adata, _ = liu2019_melanoma()
    deconvolve(adata, n_boot=0)
    flagged = (adata.obs["deconvolution_flag"] == "poor_fit").mean()
    assert 0 < flagged <= 0.1, flagged  # the worst-fitting few, not every tumour (0.5 flagged 120 of 121)
    threshold = adata.uns["deconvolution"]["poor_fit_threshold"]
    assert threshold == POOR_FIT_BY_CONFIG["epic", "til10"]
    fit = adata.obs["deconvolution_fit"]
    assert (fit[adata.obs["deconvolution_flag"] == "poor_fit"] < threshold).all()
    assert (fit[adata.obs["deconvolution_flag"] == ""] >= threshold).all()


def test_user_reference_uses_default_threshold():
    from tmescope.bulk import Reference

    til = get_reference("til10")
    mine = Reference(name="til10", signature=til.signature, mrna_content=til.mrna_content, other_mrna_content=1.0)
    adata, _ = synthetic_mixtures("til10", 3, seed=1)
    deconvolve(adata, reference=mine, n_boot=0)
    assert adata.uns["deconvolution"]["poor_fit_threshold"] == POOR_FIT


def test_every_shipped_configuration_has_a_threshold():
    from tmescope.bulk import DECONVOLUTION_METHODS, references

    for method in DECONVOLUTION_METHODS:
        for ref in references()["name"]:
            assert -1 <= POOR_FIT_BY_CONFIG[method, ref] < POOR_FIT
