"""``mlscore demo``: the whole loop on an embedded synthetic world, no server needed.

generate → validate → train (MLflow on a SQLite file in the output folder) →
predict twice (four weeks apart, so the second run has alerts) with a CRM export →
explain one customer → learned points table → HTML report (English and French).

The demo runs the same command functions as the CLI, in order, so what it
prints is what a user sees running them one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
import yaml

from mlscore.cli.app import command, console
from mlscore.cli.explain_commands import explain_command, points_command
from mlscore.cli.generate_command import generate
from mlscore.cli.predict_commands import predict_command
from mlscore.cli.report_command import report_command
from mlscore.cli.train_commands import train_command
from mlscore.cli.validate_command import validate_command
from mlscore.io import read_table, write_text

__all__ = ["demo_command"]


def _step(title: str) -> None:
    console.rule(f"[bold]{title}")


def _run(fn: Callable[..., Any], **kwargs: Any) -> None:
    """Call a CLI command function; a clean ``typer.Exit(0)`` is success."""
    try:
        fn(**kwargs)
    except typer.Exit as done:
        if done.exit_code:
            raise


def _demo_config(data_dir: Path, out: Path) -> Path:
    """The generated config, with MLflow tracked in a SQLite file inside ``out``."""
    source = data_dir / "config.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    raw.setdefault("tracking", {})["uri"] = f"sqlite:///{(out / 'mlflow.db').resolve()}"
    path = out / "demo.yaml"
    raw.setdefault("data", {})["base_dir"] = str(data_dir.resolve())
    write_text(yaml.safe_dump(raw, sort_keys=False), path)
    return path


@command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", help="folder for every demo output")] = Path(
        "demo_output"
    ),
    customers: Annotated[int, typer.Option("--customers", min=500)] = 3000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
) -> None:
    """Run the whole loop on a synthetic world: data → train → score → explain → report."""
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "data"

    _step("1. synthetic data with ground truth")
    _run(generate, out=data_dir, customers=customers, days=730, seed=seed)
    config = _demo_config(data_dir, out)
    as_of = dt.date.fromisoformat(str(yaml.safe_load(config.read_text())["as_of"]))

    _step("2. validate the data contract")
    _run(validate_command, config=config, as_of=None)

    _step("3. train, calibrate, compare with the hand-set points, gate the champion")
    _run(train_command, config=config, target=None)

    _step("4. score the base (four weeks ago, then today, with alerts and CRM export)")
    previous = out / "predictions_previous.parquet"
    predictions = out / "predictions.parquet"
    export = out / "crm_export.csv"
    common = {"model": None, "target": None, "lang": None, "no_reasons": False, "engine": None}
    earlier = dt.datetime.combine(as_of - dt.timedelta(days=28), dt.time())
    _run(
        predict_command,
        config=config,
        out=previous,
        as_of=earlier,
        previous=None,
        export=None,
        **common,
    )
    _run(
        predict_command,
        config=config,
        out=predictions,
        as_of=dt.datetime.combine(as_of, dt.time()),
        previous=previous,
        export=export,
        **common,
    )

    _step("5. why? one customer's reasons, in English and French")
    scored = read_table(predictions)
    score_cols = [c for c in scored.columns if c.startswith("score_")]
    pick = scored.sort_values(score_cols[0], ascending=False, kind="stable").iloc[0]
    customer = str(pick["customer_id"])
    for lang in ("en", "fr"):
        _run(
            explain_command,
            config=config,
            customer=customer,
            as_of=dt.datetime.combine(as_of, dt.time()),
            target=None,
            lang=lang,
            model=None,
            top=None,
        )

    _step("6. the learned points table next to the hand-set grid")
    points_csv = out / "points_table.csv"
    _run(
        points_command,
        config=config,
        target=None,
        model=None,
        as_of=None,
        previous=None,
        out=points_csv,
    )

    _step("7. the marketer's scoring board")
    for lang in ("en", "fr"):
        _run(
            report_command,
            config=config,
            predictions=predictions,
            out=out / f"report_{lang}.html",
            lang=lang,
            previous=previous,
            model=None,
            points=True,
            previous_points=None,
        )

    alerts = out / "alerts.csv"
    n_alerts = len(pd.read_csv(alerts)) if alerts.is_file() else 0
    console.rule("[bold]done")
    for label, path in (
        ("predictions", predictions),
        ("alerts", alerts),
        ("CRM export", export),
        ("points table", points_csv),
        ("report (en)", out / "report_en.html"),
        ("report (fr)", out / "report_fr.html"),
        ("MLflow store", out / "mlflow.db"),
    ):
        console.print(f"{label:>13}: {path}", highlight=False)
    console.print(f"{n_alerts} alert(s) since the previous run; {len(scored):,} customers scored.")
    console.print(
        f"Open {(out / 'report_en.html').resolve()} in a browser. "
        f"MLflow UI: mlflow ui --backend-store-uri sqlite:///{(out / 'mlflow.db').resolve()}",
        highlight=False,
        soft_wrap=True,
    )
