"""Every command that reads an expression file offers the reader's options, so its messages' advice works."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tmescope.cli import main

READER_OPTIONS = ("--orientation", "--scale", "--id-type", "--sep", "--allow-missing", "--clip-negative", "--max-bytes")


@pytest.mark.parametrize(
    "command",
    [["inspect"], ["profile"], ["composition"], ["reference", "build"], ["signatures", "score"]],
    ids=" ".join,
)
def test_reader_options_on_every_expression_command(command: list[str]) -> None:
    res = CliRunner().invoke(main, [*command, "--help"])
    assert res.exit_code == 0, res.output
    missing = [opt for opt in READER_OPTIONS if opt not in res.output]
    assert missing == []


def test_reader_messages_only_name_existing_options() -> None:
    """Each `CLI --option` named in the reader's source exists as a reader option (or a profile option)."""
    import re
    from pathlib import Path

    import tmescope

    root = Path(tmescope.__file__).parent
    named = set()
    for folder in ("io", "genes", "bulk", "profile", "scoring"):
        for path in (root / folder).glob("*.py"):
            named |= set(re.findall(r"CLI (--[a-z-]+)", path.read_text(encoding="utf-8")))
    assert named
    assert named <= {*READER_OPTIONS, "--reference"}
