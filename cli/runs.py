"""``grape runs list|show|delete``: model runs, in the graph and in their folders."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from grapekg.cli.common import open_store, workspace
from grapekg.cli.console import check_format, console, kv_table, render_rows, table

app = typer.Typer(help="Model runs: in the graph and in their folders.", no_args_is_help=True)

STATUS_HELP = "Only runs with this status: complete, running, writing, failed or deleting."


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help=STATUS_HELP)] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Model runs, newest first: every run of the graph and every run folder (failed runs
    too, with the reason)."""
    from grapekg.app.runs import check_status, list_runs

    check_status(status)
    check_format(fmt)
    ws = workspace()
    with open_store(ws.settings) as store:
        rows = list_runs(store, status, ws)
    if fmt != "table":
        render_rows(rows, fmt)
        return
    cols = ["id", "model", "dataset", "split", "seed", "status", "created", "edges", "stored"]
    reasons = any(r["reason"] for r in rows)
    console.print(
        table(
            "Model runs",
            cols + (["reason"] if reasons else []),
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
                    r["stored"],
                    *([r["reason"]] if reasons else []),
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
    """One run's record, status (and why it failed), metrics and edge counts."""
    from grapekg.app.runs import show_run

    check_format(fmt)
    ws = workspace()
    with open_store(ws.settings) as store:
        rec = show_run(store, run, ws)
    if fmt != "table":
        render_rows([rec], fmt)
        return
    console.print(
        kv_table(
            f"run {run}",
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in rec.items()},
        )
    )


@app.command("delete")
def delete(
    run: Annotated[str, typer.Argument(help="Run id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a run: its learned edges and node in the graph and its folder, all or
    nothing."""
    from grapekg.app.runs import delete_run

    if not yes:
        typer.confirm(f"delete run {run}, its learned edges and its folder?", abort=True)
    ws = workspace()
    with open_store(ws.settings) as store:
        n, folder = delete_run(store, run, ws)
    console.print(f"deleted run {run} ({n:,} edges" + (", its folder)" if folder else ")"))
