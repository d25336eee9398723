"""Run every benchmark module side by side with its peers and print the tables."""

from __future__ import annotations

import importlib
import sys

SUITES = ("scoring", "accuracy", "spatial", "crosstalk", "sc")


def main(argv: list[str]) -> int:
    chosen = argv or list(SUITES)
    for name in chosen:
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
