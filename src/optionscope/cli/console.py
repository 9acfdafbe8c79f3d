"""The one console every command prints to."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PIPE_WIDTH = 160
"""Columns used when output is not a terminal (CI logs, pipes), where rich would assume 80."""


def make_console() -> Console:
    """Return a console: terminal width on a terminal, `PIPE_WIDTH` columns otherwise."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPE_WIDTH)
    return console


console = make_console()


def make_progress() -> Progress:
    """Return the progress bar every long command shows (removed from the screen when done)."""
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
