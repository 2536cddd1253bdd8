"""``grape db``: the local Neo4j server (or the one NEO4J_URI names)."""

from __future__ import annotations

from typing import Annotated

import typer

from grapekg.cli.common import settings
from grapekg.cli.console import console, kv_table
from grapekg.errors import ConfigError

app = typer.Typer(help="Manage the local Neo4j 5 LTS Community server.", no_args_is_help=True)


@app.command()
def install() -> None:
    """Check the JDK and fetch the Neo4j jars from Maven Central (once, into the cache)."""
    from grapekg.app import db as db_flow

    lib, java, major = db_flow.install(settings())
    console.print(f"Neo4j {db_flow.NEO4J_VERSION} community jars in {lib} (Java {major}: {java})")


@app.command()
def start(
    browser: Annotated[
        bool,
        typer.Option(
            "--browser",
            help="Also serve Neo4j Browser over HTTP on 127.0.0.1 (its jar is fetched once "
            "from Maven Central).",
        ),
    ] = False,
    browser_port: Annotated[
        int,
        typer.Option(
            "--browser-port",
            min=0,
            max=65535,
            help="HTTP port of the Browser (0: the previous one, else 7474, else a free one).",
        ),
    ] = 0,
) -> None:
    """Start the local server and wait until Bolt answers."""
    from grapekg.app import db as db_flow

    s = settings()
    if s.uses_external_server:
        console.print(f"NEO4J_URI is set ({s.neo4j_uri}): that server is used; nothing to start")
        return
    if browser_port and not browser:
        raise ConfigError("--browser-port needs --browser")
    with console.status("starting Neo4j…"):
        st, note, password_file, url = db_flow.start(
            s, browser=browser, browser_port=browser_port or None
        )
    if note:
        console.print(f"[yellow]{note}[/]")
    console.print(
        f"Neo4j {st.version} running at [bold]{st.uri}[/] (pid {st.pid}); "
        f"user neo4j, password in {password_file}"
    )
    if url:
        console.print(
            f"Neo4j Browser at [bold]{url}[/] (connect to {st.uri} as neo4j with that password)"
        )


@app.command()
def stop() -> None:
    """Stop the local server cleanly."""
    from grapekg.app import db as db_flow

    s = settings()
    if s.uses_external_server:
        console.print(f"NEO4J_URI is set ({s.neo4j_uri}): grape does not manage that server")
        return
    console.print(db_flow.stop(s))


@app.command()
def status() -> None:
    """URI, version and store size of the server in use."""
    from grapekg.app import db as db_flow

    console.print(kv_table("Neo4j", db_flow.status(settings())))
