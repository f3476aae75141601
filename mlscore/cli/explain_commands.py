"""``mlscore explain`` (one customer's reasons) and ``mlscore points`` (learned points table)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from mlscore.cli.app import command, console
from mlscore.config import load_config
from mlscore.errors import ConfigError

__all__ = ["explain_command", "points_command"]

_MODEL_HELP = (
    "registry URI (models:/mlscore-conversion@champion) or bundle directory; "
    "default: each target's registry champion"
)


@command("explain")
def explain_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="project YAML file")],
    customer: Annotated[str, typer.Option("--customer", help="customer id")],
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="date (default: config or today)"),
    ] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="one target")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="en or fr")] = None,
    model: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
    top: Annotated[int | None, typer.Option("--top", help="reasons per direction")] = None,
) -> None:
    """Explain one customer's score: baseline, top reasons in words, points."""
    from mlscore.explain.service import explain_customer

    cfg = load_config(config)
    if lang is not None and lang not in ("en", "fr"):
        raise ConfigError(f"--lang must be en or fr; got {lang!r}")
    results = explain_customer(
        cfg,
        customer,
        as_of=as_of.date() if as_of else None,
        target=target,
        lang=lang,
        model=model,
        top_k=top,
    )
    fr = (lang or cfg.explain.language) == "fr"
    for r in results:
        head = (
            f"[bold]{r.customer_id}[/] — {r.target} "
            f"{'au' if fr else 'as of'} {r.as_of}: "
            f"[bold]{r.score:.0f}/100[/] ({r.tier}"
            + ("" if r.eligible else ", not in the target population")
            + ")"
        )
        console.print(head, highlight=False)
        base = "score de référence" if fr else "baseline (average customer)"
        console.print(f"  {base}: {r.baseline:.0f}", highlight=False)
        if r.reasons.empty:
            console.print("  (no reason worth half a point)")
        for row in r.reasons.itertuples(index=False):
            colour = "green" if row.direction == "+" else "red"
            console.print(f"  [{colour}]{row.direction}[/] {row.text}", highlight=False)
        rest = r.score - r.baseline - float(r.reasons["points"].sum() if len(r.reasons) else 0.0)
        other = "autres raisons" if fr else "other reasons"
        console.print(f"  {other}: {rest:+.1f}", highlight=False)
        console.print(f"  [dim]model: {r.model}[/]", highlight=False)


def _fmt(v: float, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:+.1f}" if signed else f"{v:.1f}"


@command("points")
def points_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="project YAML file")],
    target: Annotated[str | None, typer.Option("--target", "-t", help="one target")] = None,
    model: Annotated[str | None, typer.Option("--model", help=_MODEL_HELP)] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="date (default: config or today)"),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", help="previous champion's points table (CSV) for the change"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the table(s) as CSV here")
    ] = None,
) -> None:
    """The learned points table: score points for one more event today, vs the hand-set grid."""
    from mlscore.explain.service import points_tables

    cfg = load_config(config)
    prev = None
    if previous is not None:
        if not previous.is_file():
            raise ConfigError(f"--previous {str(previous)!r} is not a file")
        p = pd.read_csv(previous)
        if "target" in p.columns:
            prev = {str(t): g.drop(columns="target") for t, g in p.groupby("target")}
        else:
            prev = {t: p for t in cfg.targets}
    tables = points_tables(
        cfg, as_of=as_of.date() if as_of else None, target=target, model=model, previous=prev
    )
    frames = []
    for t, (table, label) in tables.items():
        tab = Table(title=f"Learned points — {t} ({label})")
        for col, justify in (
            ("event", "left"),
            ("level", "left"),
            ("customers", "right"),
            ("learned", "right"),
            ("hand-set", "right"),
            ("change", "right"),
        ):
            tab.add_column(col, justify=justify)  # type: ignore[arg-type]
        for row in table.itertuples(index=False):
            tab.add_row(
                str(row.event),
                str(row.level),
                f"{int(row.n_customers):,}",
                _fmt(row.learned_points, signed=True),
                _fmt(row.handset_points),
                _fmt(row.change_since_previous, signed=True),
            )
        console.print(tab)
        frames.append(table.assign(target=t))
    console.print(
        "[dim]learned = mean change of the 0–100 score when one more such event happens "
        "today; hand-set = the grid's points (its own scale)[/]"
    )
    if out is not None:
        from mlscore.io import write_table

        write_table(pd.concat(frames, ignore_index=True), out)
        console.print(f"points table: {out}")
