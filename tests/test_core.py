from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

import tmescope
from tmescope._logging import autofix
from tmescope._provenance import Provenance, atomic_path, collect, output_file, safe_name
from tmescope.cli import main


def test_errors_subclass_builtins():
    assert issubclass(tmescope.InputError, ValueError)
    assert issubclass(tmescope.ScaleError, ValueError)
    assert issubclass(tmescope.InputTypeError, TypeError)
    assert issubclass(tmescope.MissingKeyError, KeyError)
    assert str(tmescope.MissingKeyError("Key `x` missing")) == "Key `x` missing"


def test_autofix_warns_once_and_records(tmp_path: Path):
    prov = Provenance("test", seed=3)
    with collect(prov), pytest.warns(tmescope.AutoFixWarning, match=r"3 item\(s\): A, B, C") as rec:
        autofix("demo.fix", "Trimmed spaces", ["A", "B", "C"])
    assert len(rec) == 1
    assert rec[0].filename == __file__
    assert prov.fixes[0]["step"] == "demo.fix"
    assert prov.fixes[0]["n_items"] == 3
    path = prov.write(tmp_path)
    data = json.loads(path.read_text())
    assert data["seed"] == 3
    assert data["automatic_fixes"][0]["items"] == ["A", "B", "C"]
    assert data["versions"]["numpy"]


def _unlog_steps(calls: list[tuple[str, str]]) -> None:
    for message, key in calls:
        autofix("scale.unlog", message, once=key)


def test_autofix_once_warns_for_the_first_step_and_records_every_step():
    calls = [(f"{m}: un-logged the input", "log2(x + 1)") for m in ("scores", "deconvolve", "mcp_counter")]
    calls.append(("other: un-logged another input", "ln(x + 1)"))
    prov = Provenance("test")
    with collect(prov), pytest.warns(tmescope.AutoFixWarning) as rec:
        _unlog_steps(calls)
    assert [str(w.message) for w in rec] == ["scores: un-logged the input", "other: un-logged another input"]
    assert [f["message"].split(":")[0] for f in prov.fixes] == ["scores", "deconvolve", "mcp_counter", "other"]
    # without a provenance record every call warns
    with pytest.warns(tmescope.AutoFixWarning) as rec:
        _unlog_steps([("a", "k"), ("b", "k")])
    assert len(rec) == 2


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sample", ["../x", "a/b", "CON", "..", "", "x" * 300, "nul.txt"])
def test_output_file_never_leaves_folder(tmp_path: Path, sample: str):
    path = output_file(tmp_path, sample, ".html")
    assert path.parent == tmp_path.resolve()
    assert "/" not in safe_name(sample)


def test_safe_name_distinct_for_distinct_ids():
    assert safe_name("a/b") != safe_name("a_b")


def test_cli_help_and_version():
    runner = CliRunner()
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "--seed" in result.output
    result = runner.invoke(main, ["--version"])
    assert tmescope.__version__ in result.output


def test_warnings_are_not_swallowed():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        autofix("x", "no items")
    assert len(rec) == 1
