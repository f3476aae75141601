"""The Typer application and its error handling.

Every command is registered with :func:`command`, which turns an
:class:`~mlscore.errors.MlscoreError` into one line on stderr and the error's
exit code (1 data/config, 2 model), and any other exception into one line and
exit code 3. ``mlscore --debug CMD`` re-raises instead, showing the traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from mlscore.errors import MlscoreError

__all__ = ["app", "command", "console", "err_console", "state"]

app = typer.Typer(
    name="mlscore",
    help="Predictive customer scoring: learned weights instead of hand-set points.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class _State:
    debug: bool = False


state = _State()

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="show tracebacks on errors"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log at INFO level"),
) -> None:
    state.debug = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING),
        format="%(levelname)s %(name)s: %(message)s",
    )


def _handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MlscoreError as err:
            if state.debug:
                raise
            err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(err.exit_code) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as err:  # an mlscore bug or an unforeseen environment problem
            if state.debug:
                raise
            err_console.print(
                f"[bold red]internal error:[/] {type(err).__name__}: {err} "
                "(run `mlscore --debug ...` for the traceback and report it)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Register a CLI command with mlscore's error handling."""

    def decorator(fn: F) -> F:
        app.command(*args, **kwargs)(_handle_errors(fn))
        return fn

    return decorator
