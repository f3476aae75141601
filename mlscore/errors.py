"""The one exception tree of mlscore.

Every error a user can cause derives from :class:`MlscoreError` and from the
matching builtin, so ``except ValueError`` keeps working for callers that do not
know mlscore. Messages say what was expected, what came, and the fix. The CLI
turns them into a single line and an exit code (:attr:`MlscoreError.exit_code`).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "IncompatibleModelError",
    "InsufficientDataError",
    "MlscoreError",
    "ModelNotFoundError",
    "SchemaError",
    "TrackingError",
    "ValidationFailed",
]


class MlscoreError(Exception):
    """Base class of every error mlscore raises on purpose.

    ``exit_code`` is what the CLI returns: 1 for data or config problems,
    2 for a model that is missing or does not fit the data.
    """

    exit_code: int = 1


class ConfigError(MlscoreError, ValueError):
    """The YAML configuration is invalid (unknown key, wrong type, bad value)."""


class DataError(MlscoreError, ValueError):
    """Input data cannot be used as it is (unreadable file, empty table ...)."""


class SchemaError(DataError):
    """A table lacks a column or a column has the wrong type."""


class ValidationFailed(DataError):
    """Validation found errors; ``report`` holds every finding."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class InsufficientDataError(MlscoreError, ValueError):
    """Too few positives or negatives (or rows) to train or evaluate a model."""


class ModelNotFoundError(MlscoreError, LookupError):
    """No model at the given URI, path, registry name or alias."""

    exit_code = 2


class IncompatibleModelError(MlscoreError, ValueError):
    """The model needs something the scoring data does not have."""

    exit_code = 2


class TrackingError(MlscoreError, RuntimeError):
    """MLflow tracking or registry operation failed (server down, bad URI ...)."""
