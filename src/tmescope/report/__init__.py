"""The HTML report of a TME profile: a cohort overview and one page per sample, readable offline.

:func:`write_report` assembles the figures of :mod:`tmescope.pl` from what the analyses stored in the
profile AnnData and the tidy feature table; it computes nothing itself. :func:`write_summary_report` draws a
one-page cohort summary from a feature table alone (the report of chunked profiles).
"""

from __future__ import annotations

from tmescope.report._summary import write_summary_report
from tmescope.report._write import write_report

__all__ = ["write_report", "write_summary_report"]
