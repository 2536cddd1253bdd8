"""The local Neo4j server manager, for real."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from grapekg.errors import DatabaseError, ServerError
from grapekg.kg import server
from grapekg.kg.store import Store
from grapekg.settings import Settings


def test_session_server_answers(neo4j_settings):
    st = server.running_state(neo4j_settings)
    assert st is not None and st.port == neo4j_settings.neo4j_port
    with Store.connect(neo4j_settings) as store:
        assert store.server_version().startswith(server.NEO4J_VERSION)
    pw = server.password_file(neo4j_settings)
    assert stat.S_IMODE(pw.stat().st_mode) == 0o600
    conf = (neo4j_settings.neo4j_home / "conf" / "neo4j.conf").read_text()
    assert f"server.bolt.listen_address=127.0.0.1:{st.port}" in conf
    assert "dbms.security.auth_enabled=true" in conf
    cmdline = Path(f"/proc/{st.pid}/cmdline").read_bytes().decode()
    assert server.ENTRY_POINT in cmdline
    assert pw.read_text().strip() not in cmdline  # the password never appears in arguments


def test_wrong_password_is_rejected(neo4j_settings):
    st = server.running_state(neo4j_settings)
    assert st is not None
    with pytest.raises(DatabaseError, match="rejected the credentials"):
        Store(st.uri, "neo4j", "wrong-password", "neo4j").ping()


def test_port_in_use_is_a_clear_error(tmp_path, neo4j_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        other = Settings.load(
            env={}, data_dir=tmp_path, cache_dir=neo4j_settings.cache_dir, neo4j_port=port
        )
        with pytest.raises(ServerError, match=f"port {port} .* in use"):
            server.start(other)


def test_no_server_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="grape db start"):
        Store.connect(Settings.load(env={}, data_dir=tmp_path))


def test_stale_pid_then_clean_start_and_stop(tmp_path, neo4j_settings):
    s = Settings.load(
        env={},
        data_dir=tmp_path,
        cache_dir=neo4j_settings.cache_dir,
        neo4j_port=0,
        neo4j_heap="512m",
        neo4j_pagecache="64m",
    )
    dead = subprocess.Popen(["true"])
    dead.wait()
    run = s.neo4j_home / "run"
    run.mkdir(parents=True)
    (run / "grape-neo4j.json").write_text(
        json.dumps({"pid": dead.pid, "port": 1, "version": "x", "started": 0})
    )
    assert "stale" in server.stop(s)
    (run / "grape-neo4j.json").write_text(
        json.dumps({"pid": dead.pid, "port": 1, "version": "x", "started": 0})
    )
    st, note = server.start(s)
    try:
        assert "stale" in note
        assert st.port != neo4j_settings.neo4j_port
        again, note2 = server.start(s)
        assert again.pid == st.pid and note2 == "already running"
    finally:
        msg = server.stop(s)
    assert msg.startswith("stopped")
    assert server.running_state(s) is None
    with pytest.raises(ProcessLookupError):
        os.kill(st.pid, 0)


def test_restart_after_a_crash_keeps_the_bolt_port(tmp_path, neo4j_settings):
    """The stale state file of a crashed server names its port: the restart takes it again
    (it used to be deleted before the port was chosen, so the port moved)."""
    s = Settings.load(env={}, data_dir=tmp_path, cache_dir=neo4j_settings.cache_dir, neo4j_port=0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stale = server.ServerState(pid=999_999, port=port, version="x", started=0)
    assert server._choose_port(s, stale) == port


def test_store_files_are_not_world_readable(neo4j_settings):
    home = neo4j_settings.neo4j_home
    assert stat.S_IMODE(home.stat().st_mode) & 0o077 == 0
    files = [f for f in (home / "data").rglob("*") if f.is_file()]
    assert files
    loose = [str(f) for f in files if stat.S_IMODE(f.stat().st_mode) & 0o044]
    assert not loose, loose[:3]


def test_server_gone_is_one_database_error():
    """A dead server mid-command is a one-line DatabaseError, not a raw ServiceUnavailable."""
    from grapekg import cypher

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    st = Store(f"bolt://127.0.0.1:{port}", "neo4j", "x", "neo4j")
    try:
        with pytest.raises(DatabaseError) as ei:
            st.run_auto(cypher.internal("wipe"))
    finally:
        st.close()
    assert "\n" not in str(ei.value) and "stopped answering" in str(ei.value)


def test_bad_password_hint_names_a_real_command():
    import inspect

    from grapekg.kg import store as store_mod

    assert "db reset" not in inspect.getsource(store_mod)


def test_browser_needs_a_restart_of_a_server_started_without(neo4j_settings):
    """The session server runs without the Browser: asking for it says how, changes nothing."""
    st = server.running_state(neo4j_settings)
    assert st is not None
    with pytest.raises(ServerError, match="without the Browser .* 'grape db start --browser'"):
        server.start(neo4j_settings, browser=True)
    assert server.running_state(neo4j_settings) == st
    assert server.browser_url(neo4j_settings) is None


def test_browser_port_is_chosen_like_the_bolt_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(ServerError, match=f"port {busy} .* in use.*--browser-port"):
            server._choose_http_port(busy, None, bolt=1)
        with pytest.raises(ServerError, match="is the Bolt port"):
            server._choose_http_port(4242, None, bolt=4242)
        # a busy previous port is passed over; the Bolt port is never taken
        port = server._choose_http_port(None, busy, bolt=server.BROWSER_PORT)
        assert port not in (busy, server.BROWSER_PORT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert server._choose_http_port(None, free, bolt=1) == free


def test_browser_conf_is_loopback_only(tmp_path):
    s = Settings.load(env={}, data_dir=tmp_path)
    conf = server.write_conf(s, 7001, 7002).read_text()
    assert "server.http.enabled=true" in conf and "server.http.enabled=false" not in conf
    assert "server.http.listen_address=127.0.0.1:7002" in conf
    assert "server.http_enabled_modules=BROWSER" in conf
    assert "server.bolt.listen_address=127.0.0.1:7001" in conf
    plain = server.write_conf(s, 7001).read_text()
    assert "server.http.enabled=false" in plain and "7002" not in plain


def test_browser_jar_that_cannot_be_fetched_is_one_line(tmp_path, monkeypatch):
    """A Browser version Maven cannot resolve: one line naming the artifact and the docker
    route; nothing half-written stays in the cache."""
    monkeypatch.setattr(server, "BROWSER_VERSION", "0.0.0-not-published")
    s = Settings.load(env={}, data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    with pytest.raises(ServerError) as ei:
        server.install_browser(s)
    msg = str(ei.value)
    assert "\n" not in msg and "org.neo4j.client:neo4j-browser:0.0.0-not-published" in msg
    assert "docker" in msg
    work = server.browser_lib_dir(s).parent
    assert not server.is_browser_installed(s)
    assert not (work / "lib").exists() and not (work / "lib.partial").exists()
