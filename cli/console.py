"""Console helpers shared by the commands: one rich console, tables, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn,
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
    cols += [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed:,} records")]
    cols.append(TimeElapsedColumn())
    with Progress(*cols, console=err_console, transient=False,
                  disable=not err_console.is_terminal) as prog:
        task = prog.add_task(label, total=total)
        yield lambda n: prog.advance(task, n)


def kv_table(title: str, data: Mapping[str, Any]) -> Table:
    return table(title, ["key", "value"], [(k, v) for k, v in data.items()])
