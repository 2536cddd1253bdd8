"""Console helpers shared by the commands: one rich console, tables, progress bars (rich.progress
is imported by the bars that use it, not by every command)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from grapekg.errors import ConfigError, show

#: machine-readable formats of :func:`render_rows` besides the rich table
FORMATS = ("table", "json", "csv")

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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

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
    from rich.progress import Progress

    with Progress(console=console, transient=True) as prog:
        task = prog.add_task(label, total=total)
        yield lambda n: prog.advance(task, n)


@contextmanager
def download_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A transient bar of bytes received (size, speed) headed ``label``; yields
    ``advance(n)``."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


def check_format(fmt: str, option: str = "--format") -> str:
    """``table``, ``json`` or ``csv`` (checked before a command does anything)."""
    if fmt not in FORMATS:
        raise ConfigError(f"{option} {show(fmt)}: use {', '.join(FORMATS)}")
    return fmt


def _plain(v: Any) -> Any:
    """A JSON-able plain value (numpy scalars and strings as Python ones)."""
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    item = getattr(v, "item", None)
    if callable(item) and type(v).__module__ == "numpy":
        return item()
    if v is None or isinstance(v, bool | int | float):
        return v
    return str(v)


def render_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: str = "table",
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
) -> None:
    """Print ``rows`` (dicts) as a rich table, a JSON list of objects or CSV with a header,
    on stdout. The shared renderer of every ``--format table|json|csv`` option: a command
    builds its rows as dicts and calls ``render_rows(rows, fmt, title=...)``."""
    import csv
    import json
    import sys

    check_format(fmt)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    if fmt == "json":
        sys.stdout.write(json.dumps([_plain(dict(r)) for r in rows], indent=2) + "\n")
    elif fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for r in rows:
            w.writerow(
                [
                    json.dumps(_plain(r.get(c))) if isinstance(r.get(c), list | dict) else r.get(c)
                    for c in cols
                ]
            )
    else:
        console.print(
            table(title, cols or ["(no rows)"], [[r.get(c, "") for c in cols] for r in rows])
        )
