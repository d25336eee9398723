from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tmescope import InputError
from tmescope.io import FEATURE_COLUMNS, features_from_frame, read_features, write_features


def test_features_roundtrip(tmp_path):
    values = pd.DataFrame({"CD8 T": [0.1, 0.2], "B cells": [0.3, np.nan]}, index=["S1", "S2"])
    low = values - 0.05
    high = values + 0.05
    df = features_from_frame(values, prefix="composition", unit="fraction", method="test", ci_low=low, ci_high=high)
    assert list(df.columns) == list(FEATURE_COLUMNS)
    row = df[(df["sample"] == "S1") & (df["feature"] == "composition.cd8_t")].iloc[0]
    assert row["value"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(0.05)
    write_features(df, tmp_path)
    back = read_features(tmp_path)
    pd.testing.assert_frame_equal(back, df)
    tsv = pd.read_csv(tmp_path / "features.tsv", sep="\t")
    assert len(tsv) == 4


def test_read_features_missing(tmp_path):
    with pytest.raises(InputError, match="tmescope profile"):
        read_features(tmp_path)
