from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope._errors import InputError
from tmescope.report._spatial import write_spatial_report
from tmescope.spatial import analyze_spatial, read_spatial


def test_report_subsamples_large_slides_and_refuses_foreign_folders(tmp_path):
    r = np.random.default_rng(0)
    t = pd.DataFrame({"x": r.uniform(0, 800, 3000), "y": r.uniform(0, 800, 3000)})
    t["cell_type"] = np.where(t["x"] < 400, "Tumor", r.choice(["CD8 T", "Fibroblast"], 3000))
    a = read_spatial(t, unit="um")
    analyze_spatial(a, tumor_types=["Tumor"], n_perms=20, n_neighborhoods=3)
    page = write_spatial_report(a, tmp_path / "rep", max_points=1000)
    html = page.read_text()
    assert "1,000 of 3,000 cells shown" in html
    assert html.count('"type":"scattergl"') >= 3
    assert (tmp_path / "rep" / "assets" / "plotly.min.js").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        write_spatial_report(a, tmp_path / "other")
