"""Run every benchmark module side by side with its peers and print the tables.

python -m benchmarks                          # every suite with its defaults (what `make bench` runs)
python -m benchmarks scoring spatial          # some suites
python -m benchmarks scale --samples 50000 --genes 20000 --chunk-size 500 --workers 2   # one suite, its options
"""

from __future__ import annotations

import importlib
import sys

SUITES = ("scoring", "accuracy", "spatial", "crosstalk", "sc", "scale")


def main(argv: list[str]) -> int:
    options = [a for a in argv if a.startswith("-")]
    chosen = [a for a in argv if not a.startswith("-")] if not options else argv[:1]
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        print(f"unknown suite(s) {unknown}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    if options:  # one suite with its own options
        importlib.import_module(f"benchmarks.{chosen[0]}").main(argv[1:])
        return 0
    for name in chosen or SUITES:
        importlib.import_module(f"benchmarks.{name}").main([])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
