"""Shared fixtures. Database tests run against a REAL local Neo4j started once per test
session (never a mock): the same server code `grape db start` uses, on a free loopback port,
with its data in a temporary folder. Each database test starts from an empty graph."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grapekg.cypher import CypherFile
from grapekg.kg import server
from grapekg.kg.store import Store
from grapekg.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
#: the real screens of ../shared/data/real (CI lays shared/ beside the clone; GRAPE_SHARED_DIR
#: points elsewhere)
REAL_DATA = (
    Path(
        os.environ.get("GRAPE_SHARED_DIR") or Path(__file__).resolve().parents[1].parent / "shared"
    )
    / "data"
    / "real"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cache_dir() -> Path:
    return Path(os.environ.get("GRAPE_CACHE_DIR") or Path.home() / ".cache" / "grape-kg")


@pytest.fixture(scope="session")
def neo4j_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of the session's local Neo4j (started here, stopped at the end)."""
    data = tmp_path_factory.mktemp("grape-data")
    s = Settings.load(
        env={},
        data_dir=data,
        cache_dir=_cache_dir(),
        neo4j_port=_free_port(),
        neo4j_heap="1g",
        neo4j_pagecache="512m",
    )
    server.start(s)
    try:
        yield s
    finally:
        server.stop(s)


@pytest.fixture
def store(neo4j_settings: Settings) -> Iterator[Store]:
    """A connection to the session server, with an empty graph."""
    st = Store.connect(neo4j_settings)
    st.wipe()
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def cli_env(neo4j_settings: Settings) -> dict[str, str]:
    """Environment for CLI tests: points `grape` at the session server's data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env["GRAPE_DATA_DIR"] = str(neo4j_settings.data_dir)
    env["GRAPE_CACHE_DIR"] = str(neo4j_settings.cache_dir)
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def kg_fixtures() -> Path:
    return FIXTURES / "kg"


def cy(text: str) -> CypherFile:
    """An ad-hoc statement for a test's own checks on the graph (tests only: the package runs
    only statements of its .cypher files and those grapekg.kg.schema generates)."""
    params = tuple(sorted(set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))))
    return CypherFile("test_adhoc", text, "ad-hoc test statement", params, "internal")


@pytest.fixture
def adhoc() -> Callable[[str], CypherFile]:
    """:func:`cy` as a fixture: ``store.read(adhoc("MATCH ... RETURN ..."))``."""
    return cy


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of the two real CRISPR screens (../shared/data/real); fails loudly if absent."""
    if not (REAL_DATA / "papalexi2021_thp1_eccite.h5ad").exists():
        raise FileNotFoundError(f"real screens not found in {REAL_DATA} (set GRAPE_SHARED_DIR)")
    return REAL_DATA
