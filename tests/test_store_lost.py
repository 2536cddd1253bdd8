"""A Neo4j killed in the middle of a write: the client gives up within a bounded time (the
driver's connection, acquisition and retry timeouts of grapekg.kg.store) with one line, and
the command prints no stray driver log line. Against a REAL server of this module's own (on a
free loopback port, its data in a temporary folder), killed with SIGKILL; never the session's.
The gene table loaded is SYNTHETIC (generated ids and symbols)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grapekg.errors import DatabaseError
from grapekg.kg import server, server_state
from grapekg.kg import store as store_mod
from grapekg.kg.store import Store
from grapekg.settings import Settings
from tests.conftest import _cache_dir, _free_port, cy

#: the most seconds a client may take to give up after the server died (retry time, one
#: connection attempt and the command's exit, with room for a loaded 2-core machine)
GIVE_UP_S = store_mod.RETRY_TIME + store_mod.CONNECT_TIMEOUT + 15


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A server of this test alone (it is killed): started here, its pid file cleaned after."""
    s = Settings.load(
        env={},
        data_dir=tmp_path_factory.mktemp("grape-lost"),
        cache_dir=_cache_dir(),
        neo4j_port=_free_port(),
        neo4j_heap="512m",
        neo4j_pagecache="128m",
    )
    server.start(s)
    try:
        yield s
    finally:
        server.stop(s)


def _kill(settings: Settings) -> None:
    st = server_state.running_state(settings)
    assert st is not None, "the test server is not running"
    os.kill(st.pid, signal.SIGKILL)


def test_driver_timeouts_are_bounded():
    assert store_mod.RETRY_TIME <= 10 and store_mod.CONNECT_TIMEOUT <= 10
    assert store_mod.ACQUIRE_TIMEOUT <= 15


def test_store_gives_up_soon_after_the_server_is_killed_mid_write(own_server):
    st = Store.connect(own_server)
    outcome: dict[str, object] = {}

    def long_write() -> None:
        try:  # a write transaction that runs for minutes without holding memory
            st.write(cy("UNWIND range(1, 2000000000) AS i WITH i WHERE i < 0 CREATE (:Junk)"))
            outcome["error"] = None
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    t = threading.Thread(target=long_write, daemon=True)
    t.start()
    time.sleep(3.0)
    assert t.is_alive(), f"the write ended before the kill: {outcome}"
    killed = time.monotonic()
    _kill(own_server)
    t.join(timeout=120)
    assert not t.is_alive(), "the client still waits 120 s after the server died"
    gave_up = float(outcome["at"]) - killed  # type: ignore[arg-type]
    err = outcome["error"]
    print(f"store: gave up {gave_up:.1f} s after the kill: {err}")
    assert isinstance(err, DatabaseError) and "stopped answering" in str(err), err
    assert "\n" not in str(err) and gave_up < GIVE_UP_S
    # a later call fails at once instead of waiting out its own retries
    t0 = time.monotonic()
    with pytest.raises(DatabaseError):
        st.read(cy("MATCH (n) RETURN count(n) AS n"))
    assert time.monotonic() - t0 < store_mod.CONNECT_TIMEOUT + 3
    st.close()


def _gene_table(path: Path, n: int) -> Path:
    """A SYNTHETIC Ensembl gene table of ``n`` genes (generated ids and symbols)."""
    with path.open("w") as f:
        f.write(
            "ensembl_id\tsymbol\tbiotype\tdescription\tchrom\tstart\tend\tstrand\tentrez_id"
            "\tuniprot_ids\n"
        )
        for i in range(n):
            kind = "protein_coding" if i % 3 else "lncRNA"
            f.write(
                f"ENSG9{i:010d}\tSYNTH{i}\t{kind}\tsynthetic gene {i}\t1\t{1000 + i * 10}\t"
                f"{1005 + i * 10}\t+\t\t\n"
            )
    return path


def test_cli_killed_server_mid_build_one_line_no_driver_log(own_server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "GRAPE_"))}
    env["GRAPE_DATA_DIR"] = str(own_server.data_dir)
    env["GRAPE_CACHE_DIR"] = str(own_server.cache_dir)
    table = _gene_table(tmp_path / "genes.tsv", 400_000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "grapekg", "kg", "build", "-s", "ensembl", "-p",
         f"ensembl.table={table}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    watch = Store.connect(own_server)
    try:  # wait until genes are being written, then kill the server
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            n = watch.read(cy("MATCH (g:Gene) RETURN count(g) AS n"))[0]["n"]
            if n > 0:
                break
            time.sleep(0.5)
    finally:
        watch.close()
    assert proc.poll() is None, f"the build ended before the kill: {proc.communicate()}"
    killed = time.monotonic()
    _kill(own_server)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("grape kg build still waits 120 s after the server died")
    gave_up = time.monotonic() - killed
    print(f"cli: gave up {gave_up:.1f} s after the kill, rc {proc.returncode}: {err.strip()}")
    assert proc.returncode == 1, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and "stopped answering" in lines[-1], err
    # no driver log line (``ERROR neo4j.io: ...``, retry warnings); the loader's own note that
    # its rollback could not run (the next build cleans up) may precede the error
    assert not [ln for ln in lines if " neo4j" in ln.split(":")[0] or ln.startswith("ERROR")], err
    assert all(ln.startswith("WARNING grapekg.kg.loader: could not roll back") for ln in lines[:-1])
    assert gave_up < GIVE_UP_S, gave_up
