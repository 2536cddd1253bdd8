"""Neo4j access: the only module that imports the ``neo4j`` driver.

Reads and writes go through managed transactions (the driver retries transient errors),
always with an explicit database, always with parameters; never string-built values.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, LiteralString, cast

import neo4j
from neo4j import GraphDatabase, RoutingControl
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable, SessionExpired

from grapekg.errors import DatabaseError, ServerError
from grapekg.settings import Settings

log = logging.getLogger(__name__)


def wait_for_bolt(uri: str, password: str, *, set_initial: bool, timeout: float) -> None:
    """Return once Bolt at ``uri`` accepts ``neo4j``/``password``.

    With ``set_initial`` the server is new and still has the default password: it is changed
    to ``password`` through the expired-credentials path Neo4j offers for that.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with GraphDatabase.driver(uri, auth=("neo4j", password)) as drv:
                drv.verify_connectivity()
                return
        except AuthError as exc:
            last = exc
            if set_initial:
                try:
                    with GraphDatabase.driver(uri, auth=("neo4j", "neo4j")) as drv, drv.session(
                        database="system"
                    ) as s:
                        s.run(
                            "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
                            old="neo4j", new=password,
                        ).consume()
                    continue
                except (AuthError, Neo4jError) as exc2:
                    last = exc2
            else:
                raise ServerError(
                    "the local Neo4j rejected the password in its password file; "
                    "'grape db reset' recreates the store"
                ) from None
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            last = exc
        time.sleep(0.3)
    raise ServerError(f"no Bolt answer at {uri}: {type(last).__name__ if last else 'timeout'}")


class Store:
    """A connection to one Neo4j database.

    Use :meth:`connect` to resolve the server from settings: ``NEO4J_URI`` when set,
    else the local server started by ``grape db start``.
    """

    def __init__(self, uri: str, user: str, password: str, database: str) -> None:
        self.uri = uri
        self.database = database
        # notifications (e.g. "label does not exist yet") are not errors: not logged to users
        self._driver = GraphDatabase.driver(uri, auth=(user, password), max_connection_pool_size=8,
                                            notifications_min_severity="OFF")

    @classmethod
    def connect(cls, settings: Settings) -> Store:
        from grapekg.kg import server

        if settings.neo4j_uri:
            if settings.neo4j_password is None:
                raise DatabaseError("NEO4J_URI is set but NEO4J_PASSWORD is not")
            store = cls(
                settings.neo4j_uri, settings.neo4j_user,
                settings.neo4j_password.get_secret_value(), settings.neo4j_database,
            )
        else:
            st = server.running_state(settings)
            if st is None:
                raise DatabaseError(
                    f"no Neo4j server: run 'grape db start' (data dir {settings.data_dir}) "
                    "or set NEO4J_URI"
                )
            store = cls(st.uri, "neo4j", server.read_password(settings), settings.neo4j_database)
        store.ping()
        return store

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> None:
        try:
            self._driver.verify_connectivity()
        except AuthError:
            raise DatabaseError(f"Neo4j at {self.uri} rejected the credentials") from None
        except (ServiceUnavailable, OSError) as exc:
            raise DatabaseError(f"Neo4j at {self.uri} is not reachable: {exc}") from None

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query in a managed transaction; returns rows as dicts."""
        try:
            records, _, _ = self._driver.execute_query(
                cast(LiteralString, query), dict(params or {}),
                database_=self.database, routing_=RoutingControl.READ,
            )
        except Neo4jError as exc:
            raise DatabaseError(f"query failed: {exc.message or exc}") from None
        return [r.data() for r in records]

    def write(self, query: str, params: Mapping[str, Any] | None = None) -> neo4j.SummaryCounters:
        """Run one write query in a managed (retried) transaction; returns its counters."""

        def work(tx: neo4j.ManagedTransaction) -> neo4j.SummaryCounters:
            return tx.run(cast(LiteralString, query), dict(params or {})).consume().counters

        try:
            with self._driver.session(database=self.database) as s:
                return s.execute_write(work)
        except Neo4jError as exc:
            raise DatabaseError(f"write failed: {exc.message or exc}") from None

    def read_write(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one write query that RETURNs rows, in a managed (retried) transaction."""

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [r.data() for r in tx.run(cast(LiteralString, query), dict(params or {}))]

        try:
            with self._driver.session(database=self.database) as s:
                return s.execute_write(work)
        except Neo4jError as exc:
            raise DatabaseError(f"write failed: {exc.message or exc}") from None

    def write_many(
        self, steps: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> None:
        """Run several write queries in ONE transaction: all of them or none."""
        steps = list(steps)

        def work(tx: neo4j.ManagedTransaction) -> None:
            for q, p in steps:
                tx.run(cast(LiteralString, q), dict(p)).consume()

        try:
            with self._driver.session(database=self.database) as s:
                s.execute_write(work)
        except Neo4jError as exc:
            raise DatabaseError(f"write failed: {exc.message or exc}") from None

    def run_auto(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        """Auto-commit query (needed for ``CALL {} IN TRANSACTIONS`` and schema commands)."""
        try:
            with self._driver.session(database=self.database) as s:
                s.run(cast(LiteralString, query), dict(params or {})).consume()
        except Neo4jError as exc:
            raise DatabaseError(f"query failed: {exc.message or exc}") from None

    @contextmanager
    def session(self) -> Iterator[neo4j.Session]:
        with self._driver.session(database=self.database) as s:
            yield s

    def server_version(self) -> str:
        rows = self.read("CALL dbms.components() YIELD name, versions, edition "
                         "RETURN name, versions[0] AS version, edition")
        return f"{rows[0]['version']} {rows[0]['edition']}" if rows else "unknown"

    def wipe(self) -> None:
        """Delete every node and relationship (schema stays). For tests and ``kg reset``."""
        self.run_auto("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
