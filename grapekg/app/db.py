"""The Neo4j server in use: install, start, stop and describe the local one (or the one
``NEO4J_URI`` names)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grapekg.errors import ServerError
from grapekg.kg import server
from grapekg.kg.store import Store
from grapekg.settings import Settings

NEO4J_VERSION = server.NEO4J_VERSION


@contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    """A connection to the server in use, closed on exit (every flow that needs the KG gets
    its store from here)."""
    store = Store.connect(settings)
    try:
        yield store
    finally:
        store.close()


def human_size(n: int) -> str:
    f = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if f < 1024 or unit == "GiB":
            return f"{f:.1f} {unit}"
        f /= 1024
    return f"{f:.1f} GiB"


def install(settings: Settings) -> tuple[Path, Path, int]:
    """Check the JDK and fetch the Neo4j jars; returns (lib dir, java, Java major)."""
    java, major = server.find_java()
    lib = server.install(settings)
    return lib, java, major


def start(
    settings: Settings, *, browser: bool = False, browser_port: int | None = None
) -> tuple[server.ServerState, str, Path, str | None]:
    """Start the local server: (state, note, password file, Neo4j Browser URL or None).

    ``browser`` also serves Neo4j Browser over HTTP on 127.0.0.1 (the jar is fetched once)."""
    st, note = server.start(settings, browser=browser, browser_port=browser_port)
    return st, note, server.password_file(settings), server.browser_url(settings)


def stop(settings: Settings) -> str:
    return server.stop(settings)


def status(settings: Settings) -> dict[str, Any]:
    """URI, database, version (and for the local server: pid, store size, home)."""
    if not settings.uses_external_server and server.running_state(settings) is None:
        raise ServerError(
            f"the local Neo4j is not running (data dir {settings.data_dir}): 'grape db start'"
        )
    with Store.connect(settings) as store:
        info: dict[str, Any] = {
            "uri": store.uri,
            "database": store.database,
            "version": store.server_version(),
        }
    if not settings.uses_external_server:
        st = server.running_state(settings)
        info["pid"] = st.pid if st else "?"
        info["browser"] = server.browser_url(settings) or "off ('grape db start --browser')"
        info["user"] = "neo4j"
        info["password"] = f"in {server.password_file(settings)} (mode 0600)"
        info["store size"] = human_size(server.store_size(settings))
        info["home"] = str(settings.neo4j_home)
    return info
