"""Model runs written back into the graph: list, show, delete (thin over
:mod:`grapekg.kg.writeback`)."""

from __future__ import annotations

from typing import Any

from grapekg.kg import writeback
from grapekg.kg.store import Store


def list_runs(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Model runs, newest first (optionally only those with ``status``)."""
    return writeback.list_runs(store, status)


def show_run(store: Store, run: str) -> dict[str, Any]:
    """One run's record with its metrics decoded and live edge counts."""
    return writeback.show_run(store, run)


def delete_run(store: Store, run: str) -> int:
    """Delete a run and its learned edges; returns the number of edges deleted."""
    return writeback.delete_run(store, run)
