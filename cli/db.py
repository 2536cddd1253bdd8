"""``grape db``: the local Neo4j server (or the one NEO4J_URI names)."""

from __future__ import annotations

import typer

from grapekg.app import db as db_flow
from grapekg.cli.common import settings
from grapekg.cli.console import console, kv_table

app = typer.Typer(help="Manage the local Neo4j 5 LTS Community server.", no_args_is_help=True)


@app.command()
def install() -> None:
    """Check the JDK and fetch the Neo4j jars from Maven Central (once, into the cache)."""
    lib, java, major = db_flow.install(settings())
    console.print(f"Neo4j {db_flow.NEO4J_VERSION} community jars in {lib} (Java {major}: {java})")


@app.command()
def start() -> None:
    """Start the local server and wait until Bolt answers."""
    s = settings()
    if s.uses_external_server:
        console.print(f"NEO4J_URI is set ({s.neo4j_uri}): that server is used; nothing to start")
        return
    with console.status("starting Neo4j…"):
        st, note, password_file = db_flow.start(s)
    if note:
        console.print(f"[yellow]{note}[/]")
    console.print(
        f"Neo4j {st.version} running at [bold]{st.uri}[/] (pid {st.pid}); "
        f"password in {password_file}"
    )


@app.command()
def stop() -> None:
    """Stop the local server cleanly."""
    s = settings()
    if s.uses_external_server:
        console.print(f"NEO4J_URI is set ({s.neo4j_uri}): grape does not manage that server")
        return
    console.print(db_flow.stop(s))


@app.command()
def status() -> None:
    """URI, version and store size of the server in use."""
    console.print(kv_table("Neo4j", db_flow.status(settings())))
