"""Every AnnData key tmescope writes, in one place.

Analyses write their results under these keys; the report and the feature table read them.
"""

from __future__ import annotations

#: ``uns`` entry with what the readers detected and fixed (orientation, scale, gene mapping).
UNS_INPUT = "tmescope_input"
#: ``uns`` entry with run parameters and versions of every analysis.
UNS_RUNS = "tmescope_runs"
#: ``layers`` entry with linear TPM-like values when the input was log-transformed.
LAYER_LINEAR = "linear"
#: ``layers`` entry with log2(x + 1) values.
LAYER_LOG2 = "log2"

#: ``obsm`` prefix for gene-set scores: ``obsm["scores_<method>"]`` (samples x sets DataFrame).
OBSM_SCORES = "scores_{method}"
#: ``uns`` entry with per-set gene coverage of the last scoring run: ``uns["coverage_<method>"]``.
UNS_COVERAGE = "coverage_{method}"
