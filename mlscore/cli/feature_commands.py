"""CLI commands (registered on import by :mod:`mlscore.cli`)."""

from __future__ import annotations
