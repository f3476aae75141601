"""``mlscore report``: the marketer's scoring board as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from mlscore.cli.app import command, console
from mlscore.config import load_config
from mlscore.errors import ConfigError
from mlscore.io import read_table

__all__ = ["report_command"]


def _previous_points(path: Path | None, targets: list[str]) -> dict[str, pd.DataFrame] | None:
    if path is None:
        return None
    p = read_table(path)
    if "target" in p.columns:
        return {str(t): g.drop(columns="target") for t, g in p.groupby("target")}
    return {t: p for t in targets}


@command("report")
def report_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="project YAML file")],
    predictions: Annotated[
        Path, typer.Option("--predictions", "-p", help="file written by `mlscore predict`")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write")] = Path(
        "report.html"
    ),
    lang: Annotated[str, typer.Option("--lang", help="labels language: en or fr")] = "en",
    previous: Annotated[
        Path | None,
        typer.Option("--previous", help="previous predictions file (changes per segment)"),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="registry URI or bundle directory (default: each target's registry champion)",
        ),
    ] = None,
    points: Annotated[
        bool,
        typer.Option(
            "--points/--no-points",
            help="compute the learned points tables as of the predictions' date",
        ),
    ] = True,
    previous_points: Annotated[
        Path | None,
        typer.Option("--previous-points", help="previous champion's points table (CSV)"),
    ] = None,
) -> None:
    """Write the scoring board: segments, scores, model vs hand-set points, customers."""
    from mlscore.report.inputs import build_report

    if lang not in ("en", "fr"):
        raise ConfigError(f"--lang must be en or fr; got {lang!r}")
    cfg = load_config(config)
    path, inputs = build_report(
        cfg,
        predictions,
        out,
        lang=lang,
        previous=previous,
        model=model,
        points=points,
        previous_points=_previous_points(previous_points, list(cfg.targets)),
    )
    for t, why in {**inputs.missing_models, **inputs.notes}.items():
        console.print(f"[yellow]note[/] {t}: {why}", highlight=False, soft_wrap=True)
    size_kb = path.stat().st_size / 1024
    console.print(f"report: {path} ({size_kb:,.0f} KB)", highlight=False)
    raise typer.Exit(0)
