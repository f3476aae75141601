"""``mlscore train``, ``promote``, ``rollback`` and ``export-model``: a thin shell
over :func:`mlscore.modeling.train.train` and :mod:`mlscore.tracking`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mlscore.cli.app import command, console
from mlscore.config import load_config
from mlscore.errors import ConfigError

__all__ = [
    "export_model_command",
    "print_train_result",
    "promote_command",
    "rollback_command",
    "train_command",
]

_ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="project YAML file")]
_TargetOpt = Annotated[str, typer.Option("--target", "-t", help="target name in the config")]


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def print_train_result(result: Any) -> None:
    """Comparison table (model vs baselines on the test cutoff) and the gate decision."""
    m = result.metrics
    md = result.bundle.metadata
    test_cutoff = ", ".join(c[:10] for c in md["split"]["test"])
    t = Table(
        title=f"{result.target}: test cutoff {test_cutoff} "
        f"({int(m['test_rows']):,} rows, {int(m['test_positives']):,} positives)"
    )
    for col in ("score", "AUC", "PR AUC", "lift@10%", "log loss", "Brier", "ECE"):
        t.add_column(col, justify="left" if col == "score" else "right")
    t.add_row(
        f"[bold]model[/] ({md['model_kind']}, {md['calibration']})",
        _fmt(m["test_auc"]),
        _fmt(m["test_pr_auc"]),
        _fmt(m["test_lift_at_10"], 2),
        _fmt(m["test_log_loss"]),
        _fmt(m["test_brier"]),
        _fmt(m["test_ece"]),
    )
    names = sorted(
        {
            k.split("_test_")[0][len("baseline_") :]
            for k in m
            if k.startswith("baseline_") and "_test_" in k
        }
    )
    for name in names:
        p = f"baseline_{name}_test_"
        t.add_row(
            f"baseline: {name}",
            _fmt(m.get(p + "auc")),
            _fmt(m.get(p + "pr_auc")),
            _fmt(m.get(p + "lift_at_10"), 2),
            "-",
            "-",
            "-",
        )
    gate = result.gate
    if gate is not None and gate.champion_metrics:
        cm = gate.champion_metrics
        t.add_row(
            f"champion v{gate.champion_version}",
            _fmt(cm["auc"]),
            "-",
            "-",
            _fmt(cm["log_loss"]),
            _fmt(cm["brier"]),
            "-",
        )
    console.print(t)
    kinds = ", ".join(f"{k} {v:.4f}" for k, v in md.get("valid_auc_by_kind", {}).items())
    console.print(f"validation AUC by model kind: {kinds}; kept [bold]{md['model_kind']}[/]")
    if result.run is not None:
        verdict = "[green]champion[/]" if gate.promoted else "[yellow]challenger[/]"
        console.print(
            f"MLflow run {result.run_id}; registered {result.run.model_name} "
            f"v{result.version} -> {verdict}: {gate.reason}",
            highlight=False,
            soft_wrap=True,
        )


@command("train")
def train_command(
    config: _ConfigOpt,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="only this target (default: all)")
    ] = None,
) -> None:
    """Train, calibrate and evaluate each target; log to MLflow; apply the champion gate."""
    from mlscore.data import load_tables
    from mlscore.modeling.train import train

    cfg = load_config(config)
    if target is not None and target not in cfg.targets:
        raise ConfigError(f"unknown target {target!r}; configured: {sorted(cfg.targets)}")
    tables = load_tables(cfg)
    for result in train(tables, config=cfg, target=target):
        print_train_result(result)


@command("promote")
def promote_command(
    config: _ConfigOpt,
    target: _TargetOpt,
    version: Annotated[str, typer.Option("--version", help="registered model version")],
) -> None:
    """Give the ``champion`` alias to a registered version (a human decision)."""
    from mlscore import tracking

    console.print(tracking.promote(load_config(config), target, version), highlight=False)


@command("rollback")
def rollback_command(config: _ConfigOpt, target: _TargetOpt) -> None:
    """Give the ``champion`` alias back to the previous champion."""
    from mlscore import tracking

    console.print(tracking.rollback(load_config(config), target), highlight=False)


@command("export-model")
def export_model_command(
    config: _ConfigOpt,
    target: _TargetOpt,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="bundle directory (default models/<target>)")
    ] = None,
) -> None:
    """Write the champion's scoring bundle as a plain directory (no registry needed)."""
    from mlscore import tracking

    cfg = load_config(config)
    dest = out if out is not None else Path("models") / target
    path, version = tracking.export_model(cfg, target, dest)
    console.print(f"champion v{version} of {target!r} written to {path}", highlight=False)
