"""``mlscore predict``: score the whole base, write predictions, alerts and the CRM export."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from mlscore.cli.app import command, console, err_console
from mlscore.config import load_config
from mlscore.errors import ConfigError
from mlscore.predict.batch import PredictResult, run_predict

__all__ = ["predict_command", "print_summary"]


def _interactive() -> bool:
    """A progress bar only for a human at a terminal (never in CI)."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        return False
    return sys.stderr.isatty()


@contextmanager
def _progress() -> Iterator[object]:
    if not _interactive():
        yield None
        return
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task("scoring customers", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def print_summary(result: PredictResult) -> None:
    """Print the counts and the segment summary of a batch run."""
    table = Table(title=f"Segments as of {result.as_of.date()}")
    for col in result.summary.columns:
        table.add_column(
            col, justify="right" if col != "segment" and col != "next_action" else "left"
        )
    for row in result.summary.itertuples(index=False):
        cells = []
        for col, v in zip(result.summary.columns, row, strict=True):
            if col == "customers":
                cells.append(f"{int(v):,}")
            elif col.startswith("mean_score_"):
                cells.append("-" if v != v else f"{v:.1f}")
            else:
                cells.append(str(v))
        table.add_row(*cells)
    console.print(table)
    console.print(
        f"scored {result.scored:,} customers; not eligible {result.not_eligible:,}; "
        f"excluded for lack of consent {result.excluded_no_consent:,}"
    )
    for t, label in result.models.items():
        console.print(f"model {t}: {label}")
    console.print(f"predictions: {result.out}")
    if result.alerts is not None:
        console.print(f"alerts: {result.alerts} ({result.n_alerts:,} customers crossed a tier)")
    if result.export is not None:
        console.print(f"CRM export: {result.export}")


@command("predict")
def predict_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="project YAML file")],
    out: Annotated[Path, typer.Option("--out", "-o", help="predictions file (.parquet or .csv)")],
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="run date (default: config or today)"),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="registry URI (models:/mlscore-conversion@champion) or bundle directory; "
            "default: each target's registry champion",
        ),
    ] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="score one target")] = None,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", help="previous predictions file; alerts.csv goes next to --out"),
    ] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="CRM/ESP CSV with contact-property names")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="reasons language: en or fr")] = None,
    no_reasons: Annotated[
        bool, typer.Option("--no-reasons", help="skip the reasons columns (faster)")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="feature engine: duckdb or spark (overrides config.engine)"),
    ] = None,
) -> None:
    """Score every eligible customer as of a date: scores, tiers, segments, actions, reasons."""
    cfg = load_config(config)
    if engine is not None:
        if engine not in ("duckdb", "spark"):
            raise ConfigError(f"--engine must be duckdb or spark; got {engine!r}")
        cfg = cfg.model_copy(update={"engine": engine})
    if lang is not None and lang not in ("en", "fr"):
        raise ConfigError(f"--lang must be en or fr; got {lang!r}")
    if target is not None and target not in cfg.targets:
        raise ConfigError(f"unknown target {target!r}; configured targets: {sorted(cfg.targets)}")
    when = as_of.date() if as_of is not None else (cfg.as_of or dt.date.today())
    with _progress() as update:
        result = run_predict(
            cfg,
            as_of=when,
            out=out,
            model=model,
            target=target,
            previous=previous,
            export=export,
            lang=lang,
            with_reasons=False if no_reasons else None,
            progress=update,  # type: ignore[arg-type]
        )
    print_summary(result)
    raise typer.Exit(0)
