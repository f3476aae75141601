"""Headless Debian chromium driven by Playwright's Python client, for the report tests.

Never downloads a browser: it uses the system chromium (``/usr/bin/chromium``,
installed by ``make test`` with apt) through ``executable_path``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("MLSCORE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = (
    "run `make test` (it installs Debian's chromium when /usr/bin/chromium is missing) or "
    "`apt-get update && apt-get install -y --no-install-recommends chromium`, and "
    "`.venv/bin/pip install -e '.[dev]'` for the playwright client"
)


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or ``None`` if they can."""
    if not CHROMIUM.is_file():
        return f"chromium not found at {CHROMIUM}; {INSTALL_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the playwright Python client is not installed; {INSTALL_HINT}"
    return None


@dataclass
class PageLog:
    """What a page did: console errors, uncaught exceptions, requests, dialogs."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def on_console(msg: Any) -> None:
            if msg.type == "error":
                self.console_errors.append(msg.text)

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("dialog", on_dialog)


@contextlib.contextmanager
def chromium(profile_dir: Path, *, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A fresh headless chromium context (new user-data-dir), closed on exit.

    Any request that is not ``file:`` or ``data:`` is aborted (and still
    recorded by :class:`PageLog`), so a report that tried to reach the network
    would show it in the log and fail to render that resource.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            service_workers="block",
        )

        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:")):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", guard)
        try:
            yield context
        finally:
            context.close()
