"""Command-line interface: a thin shell over the library (one module per command group)."""

from __future__ import annotations

from mlscore.cli import (  # noqa: F401  (importing registers the commands)
    demo_command,
    explain_commands,
    feature_commands,
    generate_command,
    predict_commands,
    report_command,
    train_commands,
    validate_command,
)
from mlscore.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point (``mlscore``)."""
    app()
