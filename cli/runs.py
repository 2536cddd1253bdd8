"""``grape runs list|show|delete``: model runs written back into the graph."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from grapekg.cli.common import open_store
from grapekg.cli.console import check_format, console, kv_table, render_rows, table

app = typer.Typer(help="Model runs written back into the graph.", no_args_is_help=True)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="Only runs with this status.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Model runs, newest first."""
    from grapekg.app.runs import list_runs

    check_format(fmt)
    with open_store() as store:
        rows = list_runs(store, status)
    if fmt != "table":
        render_rows(rows, fmt)
        return
    console.print(
        table(
            "Model runs",
            ["id", "model", "dataset", "split", "seed", "status", "created", "edges"],
            [
                (
                    r["id"],
                    r["model"],
                    r["dataset"],
                    r["split"],
                    r["seed"],
                    r["status"],
                    r["created"],
                    r["counts"] or "",
                )
                for r in rows
            ],
        )
    )


@app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="Run id.")],
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """One run's record, metrics and edge counts."""
    from grapekg.app.runs import show_run

    check_format(fmt)
    with open_store() as store:
        rec = show_run(store, run)
    if fmt != "table":
        render_rows([rec], fmt)
        return
    console.print(
        kv_table(
            f"run {run}", {k: json.dumps(v) if isinstance(v, dict) else v for k, v in rec.items()}
        )
    )


@app.command("delete")
def delete(
    run: Annotated[str, typer.Argument(help="Run id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a run and all its learned edges."""
    from grapekg.app.runs import delete_run

    if not yes:
        typer.confirm(f"delete run {run} and its learned edges?", abort=True)
    with open_store() as store:
        n = delete_run(store, run)
    console.print(f"deleted run {run} ({n:,} edges)")
