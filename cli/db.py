"""``grape db``: the local Neo4j server (or the one NEO4J_URI names)."""

from __future__ import annotations

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, kv_table
from grapekg.errors import ServerError
from grapekg.kg import server

app = typer.Typer(help="Manage the local Neo4j 5 LTS Community server.", no_args_is_help=True)


def _human(n: int) -> str:
    f = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if f < 1024 or unit == "GiB":
            return f"{f:.1f} {unit}"
        f /= 1024
    return f"{f:.1f} GiB"


@app.command()
def install() -> None:
    """Check the JDK and fetch the Neo4j jars from Maven Central (once, into the cache)."""
    s = settings()
    java, major = server.find_java()
    lib = server.install(s)
    console.print(f"Neo4j {server.NEO4J_VERSION} community jars in {lib} (Java {major}: {java})")


@app.command()
def start() -> None:
    """Start the local server and wait until Bolt answers."""
    s = settings()
    if s.uses_external_server:
        console.print(f"NEO4J_URI is set ({s.neo4j_uri}): that server is used; nothing to start")
        return
    with console.status("starting Neo4j…"):
        st, note = server.start(s)
    if note:
        console.print(f"[yellow]{note}[/]")
    console.print(f"Neo4j {st.version} running at [bold]{st.uri}[/] (pid {st.pid}); "
                  f"password in {server.password_file(s)}")


@app.command()
def stop() -> None:
    """Stop the local server cleanly."""
    s = settings()
    if s.uses_external_server:
        console.print(f"NEO4J_URI is set ({s.neo4j_uri}): grape does not manage that server")
        return
    console.print(server.stop(s))


@app.command()
def status() -> None:
    """URI, version and store size of the server in use."""
    s = settings()
    if not s.uses_external_server and server.running_state(s) is None:
        raise ServerError(f"the local Neo4j is not running (data dir {s.data_dir}): 'grape db start'")
    with open_store(s) as store:
        info = {"uri": store.uri, "database": store.database, "version": store.server_version()}
    if not s.uses_external_server:
        st = server.running_state(s)
        info["pid"] = st.pid if st else "?"
        info["store size"] = _human(server.store_size(s))
        info["home"] = str(s.neo4j_home)
    console.print(kv_table("Neo4j", info))
