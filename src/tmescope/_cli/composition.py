"""Command-line commands of the `composition` topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

COMMANDS: list[click.Command] = []
