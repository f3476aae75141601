"""The marketer's scoring board: a self-contained HTML report.

>>> from mlscore.report import render_report, write_report, ModelCard  # doctest: +SKIP
"""

from __future__ import annotations

from mlscore.report.board import (
    REASON_SEPARATOR,
    ModelCard,
    render_report,
    report_targets,
    write_report,
)

__all__ = ["REASON_SEPARATOR", "ModelCard", "render_report", "report_targets", "write_report"]
