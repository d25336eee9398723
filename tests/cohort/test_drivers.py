"""TME-driver scan: partial correlation against an obvious implementation, chunking, refusals, real data."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tmescope._errors import InputError
from tmescope.cohort import partial_correlation, tme_drivers
from tmescope.io import features_from_frame

DATA = Path(__file__).resolve().parents[1] / "data"


def _slow_partial(x: np.ndarray, y: np.ndarray, c: np.ndarray) -> float:
    # ranks, then residuals of simple linear fits on the covariate, then Pearson
    rx, ry, rc = stats.rankdata(x), stats.rankdata(y), stats.rankdata(c)
    ex = rx - np.polyval(np.polyfit(rc, rx, 1), rc)
    ey = ry - np.polyval(np.polyfit(rc, ry, 1), rc)
    return float(np.corrcoef(ex, ey)[0, 1])


def test_partial_spearman_oracle(rng: np.random.Generator) -> None:
    n = 60
    c = rng.random(n)
    y = rng.normal(size=n) + c
    x = np.column_stack([y + rng.normal(0, 1, n), c + rng.normal(0, 0.2, n), rng.normal(size=n)])
    r, p = partial_correlation(x, y, c[:, None])
    for j in range(3):
        assert r[j] == pytest.approx(_slow_partial(x[:, j], y, c), abs=1e-10)
    # p from t with n - 3 df
    t = r[0] * np.sqrt((n - 3) / (1 - r[0] ** 2))
    assert p[0] == pytest.approx(2 * stats.t.sf(abs(t), n - 3))
    # no covariate: plain Spearman
    r0, p0 = partial_correlation(x, y)
    ref = stats.spearmanr(x[:, 0], y)
    assert r0[0] == pytest.approx(ref.statistic)
    assert p0[0] == pytest.approx(ref.pvalue)


def _toy(rng: np.random.Generator, n: int = 50, g: int = 30) -> tuple[ad.AnnData, pd.DataFrame]:
    purity = rng.uniform(0.2, 0.95, n)
    feat = rng.normal(0, 0.5, n) + 3 * (1 - purity)
    x = rng.normal(size=(n, g))
    x[:, 0] += 2 * feat  # a real driver
    x[:, 1] = 5 * (1 - purity) + rng.normal(0, 0.3, n)  # only through purity
    names = [f"s{i}" for i in range(n)]
    adata = ad.AnnData(x, obs=pd.DataFrame(index=names), var=pd.DataFrame(index=[f"G{j}" for j in range(g)]))
    ft = features_from_frame(
        pd.DataFrame({"x": feat, "purity": purity}, index=names), prefix="t", unit="", method="toy"
    )
    return adata, ft


def test_purity_adjustment_removes_confounded_gene(rng: np.random.Generator) -> None:
    adata, ft = _toy(rng)
    res = tme_drivers(adata, features=ft, feature="t.x", purity="t.purity").set_index("gene")
    assert res.index[0] == "G0"
    assert res.loc["G0", "q"] < 1e-6
    assert res.loc["G1", "rho_unadjusted"] > 0.4
    assert abs(res.loc["G1", "rho"]) < 0.3
    unadj = tme_drivers(adata, features=ft, feature="t.x", purity=None).set_index("gene")
    np.testing.assert_allclose(unadj["rho"], unadj["rho_unadjusted"])


def test_chunk_size_and_exclusion(rng: np.random.Generator) -> None:
    adata, ft = _toy(rng, g=57)
    a = tme_drivers(adata, features=ft, feature="t.x", purity="t.purity", chunk_size=1000)
    b = tme_drivers(adata, features=ft, feature="t.x", purity="t.purity", chunk_size=7)
    pd.testing.assert_frame_equal(a, b)
    c = tme_drivers(adata, features=ft, feature="t.x", purity="t.purity", exclude=["G0"])
    assert c.iloc[-1]["gene"] == "G0"
    assert bool(c.iloc[-1]["excluded"])
    assert np.isnan(c.iloc[-1]["q"])


def test_refusals(rng: np.random.Generator) -> None:
    adata, ft = _toy(rng, n=15)
    with pytest.raises(InputError, match=r"Only 15 sample\(s\).*at least 20"):
        tme_drivers(adata, features=ft, feature="t.x", purity="t.purity")
    with pytest.raises(InputError, match=r"estimate\.purity"):
        tme_drivers(adata, features=ft, feature="t.x")


def test_liu2019_cyt_drivers_are_t_cell_genes() -> None:
    from tmescope.datasets import liu2019_melanoma
    from tmescope.io import read_features

    adata, _ = liu2019_melanoma()
    feats = read_features(DATA / "cohort" / "liu2019_features_subset.tsv")
    res = tme_drivers(adata, features=feats, feature="immunotherapy.cyt_rooney2015", exclude=["GZMA", "PRF1"])
    top = set(res["gene"].head(30))
    assert {"CD8A", "CD3E"} <= top
    assert res.attrs["n"] == 121
    assert (res.head(30)["rho"] < res.head(30)["rho_unadjusted"]).all()


def test_cli_drivers(rng: np.random.Generator, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tmescope.cli import main
    from tmescope.io import write_features

    adata, ft = _toy(rng, n=40)
    ft = ft.replace({"feature": {"t.purity": "estimate.purity"}})
    d = tmp_path / "prof"
    d.mkdir()
    adata.write_h5ad(d / "profile.h5ad")
    write_features(ft, d)
    clin = pd.DataFrame({"sample_id": adata.obs_names, "response": np.where(np.arange(40) % 2 == 0, "R", "NR")})
    clin.to_csv(tmp_path / "clin.tsv", sep="\t", index=False)
    args = ["cohort", str(d), "--clinical", str(tmp_path / "clin.tsv"), "-o", str(tmp_path / "o"), "--by", ""]
    res = CliRunner().invoke(main, [*args, "--drivers", "t.x", "--n-boot", "20"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "o" / "drivers_t.x.tsv", sep="\t")
    assert table.loc[0, "gene"] == "G0"
    html = (tmp_path / "o" / "report" / "index.html").read_text()
    assert 'id="drivers"' in html
