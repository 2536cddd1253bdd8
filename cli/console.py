"""Console helpers shared by the commands: one rich console, tables, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if i else "left")
    for r in rows:
        t.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in r])
    return t


@contextmanager
def progress_counter(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar (known total) or a counting spinner; yields ``advance(n)``."""
    cols = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
    cols += (
        [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed:,} records")]
    )
    cols.append(TimeElapsedColumn())
    with Progress(
        *cols, console=err_console, transient=False, disable=not err_console.is_terminal
    ) as prog:
        task = prog.add_task(label, total=total)
        yield lambda n: prog.advance(task, n)


@contextmanager
def transient_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A bar on the console that disappears when done (rich's default columns; e.g. the
    cells read by ``grape data import``); yields ``advance(n)``."""
    with Progress(console=console, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda n: prog.advance(task, n)


@contextmanager
def download_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A transient bar of bytes received (size, speed) headed ``label``; yields
    ``advance(n)``."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as prog:
        task = prog.add_task("download", total=total)
        yield lambda n: prog.advance(task, n)


@contextmanager
def epoch_bar(
    label: str = "GRAPE", total: int | None = None
) -> Iterator[Callable[[int, int, float], None]]:
    """A transient bar of training epochs; yields ``update(done, total, val_mse)`` (the
    training loop's per-epoch callback)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as prog:
        task = prog.add_task(label, total=total)

        def update(done: int, total: int, val: float) -> None:
            prog.update(task, completed=done, total=total, description=f"{label} val_mse={val:.4f}")

        yield update


def kv_table(title: str, data: Mapping[str, Any]) -> Table:
    return table(title, ["key", "value"], [(k, v) for k, v in data.items()])
