"""The TME profile of each sample, and frozen reference cohorts to place single samples against.

Examples
--------
>>> from tmescope import profile
>>> profile.default_reference().n_samples
121
"""

from __future__ import annotations

from tmescope.profile._chunked import ChunkedSource, open_source, profile_chunks, run_profile_chunked
from tmescope.profile._profile import ProfileResult, build_reference, profile, run_profile, write_profile
from tmescope.profile._reference import ReferenceCohort, default_reference, load_reference

__all__ = [
    "ChunkedSource",
    "ProfileResult",
    "ReferenceCohort",
    "build_reference",
    "default_reference",
    "load_reference",
    "open_source",
    "profile",
    "profile_chunks",
    "run_profile",
    "run_profile_chunked",
    "write_profile",
]
