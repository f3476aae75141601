"""Data: canonical tables, readers, validation and the ingestion contract."""

from __future__ import annotations

from mlscore.data.contract import extraction_date, load_tables, validate
from mlscore.data.readers import column_mapping, infer_format, read_source
from mlscore.data.tables import CANONICAL_COLUMNS, Tables, to_epoch_seconds
from mlscore.data.validation import Finding, ValidationReport, validate_tables

__all__ = [
    "CANONICAL_COLUMNS",
    "Finding",
    "Tables",
    "ValidationReport",
    "column_mapping",
    "extraction_date",
    "infer_format",
    "load_tables",
    "read_source",
    "to_epoch_seconds",
    "validate",
    "validate_tables",
]
