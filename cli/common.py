"""Settings, workspace paths and database handles for commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from grapekg.app.workspace import Workspace
from grapekg.kg.store import Store
from grapekg.settings import Settings


def settings() -> Settings:
    return Settings.load()


def workspace(s: Settings | None = None) -> Workspace:
    """Every path a command reads or writes, from the settings."""
    return Workspace(s or settings())


@contextmanager
def open_store(s: Settings | None = None) -> Iterator[Store]:
    store = Store.connect(s or settings())
    try:
        yield store
    finally:
        store.close()
