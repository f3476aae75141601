"""CLI commands (registered on import by :mod:`mlscore.cli`): ``mlscore features``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from mlscore.cli.app import command, console

__all__ = ["features_command"]


@command("features")
def features_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="project YAML file")],
    as_of: Annotated[
        str,
        typer.Option(
            "--as-of", help="cutoff date (YYYY-MM-DD): features use events before its midnight UTC"
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="output file (.parquet or .csv)")],
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="only customers in this target's population"),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="feature engine: duckdb or spark (overrides config.engine)"),
    ] = None,
) -> None:
    """Write the feature matrix as of a date (events with timestamp < AS_OF midnight UTC)."""
    import pandas as pd

    from mlscore.config import load_config
    from mlscore.data import load_tables
    from mlscore.errors import ConfigError
    from mlscore.features import FeatureSpec, as_epoch, build_features, get_target, population
    from mlscore.io import write_table

    try:
        cutoff = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise ConfigError(f"--as-of {as_of!r} is not a date; use YYYY-MM-DD") from None
    cfg = load_config(config)
    if engine is not None:
        if engine not in ("duckdb", "spark"):
            raise ConfigError(f"--engine must be duckdb or spark; got {engine!r}")
        cfg = cfg.model_copy(update={"engine": engine})
    if target is not None:
        get_target(cfg, target)  # fail fast on an unknown target
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("loading tables", total=4)
        tables = load_tables(cfg)
        progress.update(task, advance=1, description="freezing the feature spec")
        spec = FeatureSpec.from_config(cfg, tables, cutoff=as_epoch(cutoff))
        progress.update(task, advance=1, description="computing features")
        df = build_features(tables, cutoff=cutoff, config=cfg, spec=spec)
        if target is not None:
            _, tgt = get_target(cfg, target)
            ids = set(population(tables, cutoff=cutoff, target=tgt))
            df = df[df["customer_id"].isin(ids)].reset_index(drop=True)
        progress.update(task, advance=1, description=f"writing {out}")
        df.attrs = {}  # the FeatureSpec object is not JSON: keep it out of the Parquet metadata
        write_table(df, out)
        progress.update(task, advance=1)
    console.print(
        f"wrote {len(df):,} customers x {len(spec.feature_names)} features as of "
        f"{cutoff.date()} to {out}",
        highlight=False,
    )
