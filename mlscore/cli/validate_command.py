"""``mlscore validate``: read and check the project's data, print the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlscore.cli.app import command, console
from mlscore.config import load_config
from mlscore.data.contract import validate
from mlscore.data.validation import ValidationReport

__all__ = ["print_report", "validate_command"]

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def print_report(report: ValidationReport) -> None:
    """Print a validation report as rich tables (findings, then row counts)."""
    findings = Table(title="Validation findings", show_lines=False)
    for col in ("table", "column", "severity", "rows", "examples", "message", "fix"):
        findings.add_column(col, overflow="fold", justify="right" if col == "rows" else "left")
    for f in report.findings:
        findings.add_row(
            f.table,
            f.column or "",
            f"[{_STYLE[f.severity]}]{f.severity}[/]",
            f"{f.rows:,}",
            ", ".join(f.examples),
            f.message,
            f.fix,
        )
    if report.findings:
        console.print(findings)
    counts = Table(title="Rows per table")
    for col in ("table", "rows read", "rows kept"):
        counts.add_column(col, justify="left" if col == "table" else "right")
    for name, n in report.rows.items():
        kept = report.kept_rows.get(name)
        counts.add_row(name, f"{n:,}", "-" if kept is None else f"{kept:,}")
    console.print(counts)
    console.print(
        f"run date (as of): {report.as_of}; customers excluded for lack of consent: "
        f"{report.excluded_no_consent:,}"
    )
    n_err, n_warn = len(report.errors), len(report.warnings)
    if n_err:
        console.print(f"[bold red]{n_err} error(s)[/], {n_warn} warning(s): fix the errors above.")
    else:
        console.print(f"[green]no errors[/], {n_warn} warning(s).")


@command("validate")
def validate_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="project YAML file")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="run (extraction) date YYYY-MM-DD; default: config as_of, else today"
        ),
    ] = None,
) -> None:
    """Check the data against the contract; exit 1 if any error is found."""
    cfg = load_config(config)
    run_date = None
    if as_of is not None:
        try:
            run_date = dt.date.fromisoformat(as_of)
        except ValueError:
            console.print(f"[bold red]error:[/] --as-of {as_of!r} is not a date (YYYY-MM-DD)")
            raise typer.Exit(1) from None
    report = validate(cfg, as_of=run_date)
    print_report(report)
    if report.has_errors:
        raise typer.Exit(1)
