"""``mlscore generate``: write a synthetic world with ground truth and a ready config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlscore.cli.app import command, console
from mlscore.data.synthetic import generate_world

__all__ = ["generate"]


@command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="folder to write the world into")],
    customers: Annotated[int, typer.Option("--customers", min=1, help="customers")] = 2000,
    days: Annotated[int, typer.Option("--days", min=7, help="simulated days")] = 730,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same files)")] = 0,
    dirty: Annotated[
        bool, typer.Option("--dirty", help="inject data defects for validation")
    ] = False,
    start: Annotated[str, typer.Option("--start", help="first simulated day")] = "2024-01-01",
    truth_every_days: Annotated[
        int, typer.Option("--truth-every-days", min=1, help="truth period (7+ for huge worlds)")
    ] = 1,
) -> None:
    """Generate interactions, transactions, customers, truth and config.yaml."""
    with Progress(
        TextColumn("[bold]generating[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("customers"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("generate", total=customers)
        world = generate_world(
            out,
            customers=customers,
            days=days,
            seed=seed,
            dirty=dirty,
            start=start,
            truth_every_days=truth_every_days,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    table = Table(title=f"synthetic world (seed {seed}{', dirty' if dirty else ''})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("file")
    table.add_row("customers", f"{world.customers:,}", str(world.paths["customers"]))
    table.add_row("interactions", f"{world.interactions:,}", str(world.paths["interactions"]))
    table.add_row("transactions", f"{world.transactions:,}", str(world.paths["transactions"]))
    table.add_row("truth", f"{world.truth_rows:,}", str(world.paths["truth"]))
    console.print(table)
    for name, count in world.defects.items():
        console.print(f"injected defect {name}: {count:,} rows")
    console.print(f"{world.start} .. {world.as_of} (as_of); config: {world.config_path}")
