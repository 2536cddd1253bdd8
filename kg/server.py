"""The local Neo4j 5 LTS Community server, run as its own process.

The jars come from Maven Central (``org.neo4j:neo4j``, fetched once by Maven into the cache
folder). The server is started through Neo4j's own entry point,
``org.neo4j.server.CommunityEntryPoint``, with a home and config dir holding a ``neo4j.conf``
written here, as the distribution's scripts do. grape-kg (Apache-2.0) never links Neo4j
(GPL-3) classes: it only talks Bolt to the process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from importlib import resources
from pathlib import Path

from grapekg.errors import ServerError
from grapekg.kg.server_state import (
    ENTRY_POINT,
    ServerState,
    _is_our_server,
    _pid_alive,
    _state_file,
    password_file,
    read_password,
    read_state,
    running_state,
)
from grapekg.kg.store import wait_for_bolt
from grapekg.settings import Settings

__all__ = [
    "ENTRY_POINT",
    "NEO4J_VERSION",
    "ServerState",
    "find_java",
    "install",
    "is_installed",
    "lib_dir",
    "password_file",
    "read_password",
    "read_state",
    "running_state",
    "start",
    "stop",
    "store_size",
    "write_conf",
]

log = logging.getLogger(__name__)

#: newest 5.x LTS; supports Java 17 and 21
NEO4J_VERSION = "5.26.30"
SUPPORTED_JAVA = (17, 21)
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------- install
def _java_major(java: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def find_java() -> tuple[Path, int]:
    """A Java runtime Neo4j 5.26 supports (17 or 21): JAVA_HOME, PATH, then /usr/lib/jvm."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates.extend(sorted(jvm.glob("*/bin/java")))
    seen: list[str] = []
    for java in candidates:
        if not java.exists():
            continue
        major = _java_major(java)
        seen.append(f"{java} ({major})")
        if major in SUPPORTED_JAVA:
            return java, major
    raise ServerError(
        f"Neo4j {NEO4J_VERSION} needs Java 17 or 21; found: {', '.join(seen) or 'no java'}. "
        "Install openjdk-17-jre-headless or set JAVA_HOME."
    )


def lib_dir(settings: Settings) -> Path:
    return settings.cache_dir / "neo4j" / NEO4J_VERSION / "lib"


def is_installed(settings: Settings) -> bool:
    return (lib_dir(settings).parent / ".complete").exists()


def install(settings: Settings) -> Path:
    """Fetch the Neo4j Community jars with Maven into the cache folder (once)."""
    lib = lib_dir(settings)
    if is_installed(settings):
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServerError("Maven ('mvn') is needed once to fetch Neo4j from Maven Central")
    find_java()
    work = lib.parent
    work.mkdir(parents=True, exist_ok=True)
    pom = resources.files("grapekg.kg").joinpath("neo4j-runtime.pom.xml").read_text()
    (work / "pom.xml").write_text(pom.replace("@NEO4J_VERSION@", NEO4J_VERSION))
    tmp = work / "lib.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(work / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    log.info("fetching Neo4j %s jars with Maven", NEO4J_VERSION)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise ServerError(
            f"Maven could not fetch org.neo4j:neo4j:{NEO4J_VERSION}: {' | '.join(tail)}"
        )
    if not any(tmp.glob(f"neo4j-{NEO4J_VERSION}.jar")):
        raise ServerError(f"Maven finished but neo4j-{NEO4J_VERSION}.jar is missing in {tmp}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp.rename(lib)
    (work / ".complete").write_text(NEO4J_VERSION + "\n")
    return lib


def _ensure_password(settings: Settings) -> tuple[str, bool]:
    """The generated password, kept in a 0600 file; True when newly generated."""
    f = password_file(settings)
    if f.exists():
        return f.read_text().strip(), False
    f.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(f.parent, 0o700)
    pw = secrets.token_urlsafe(24)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(pw + "\n")
    return pw, True


# --------------------------------------------------------------------------- start / stop
def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _choose_port(settings: Settings, prev: ServerState | None = None) -> int:
    """The Bolt port: the configured one, else the previous run's (also after a crash, whose
    stale state file still names it) when free, else 7687, else any free port."""
    if settings.neo4j_port:
        if not _port_free(settings.neo4j_port):
            raise ServerError(
                f"port {settings.neo4j_port} on 127.0.0.1 is in use: stop what holds it or set "
                "GRAPE_NEO4J_PORT to another port (0 picks a free one)"
            )
        return settings.neo4j_port
    # keep the previous port when it is free, so a URI people copied stays valid
    prev = prev or read_state(settings)
    if prev and _port_free(prev.port):
        return prev.port
    return 7687 if _port_free(7687) else _free_port()


def write_conf(settings: Settings, port: int) -> Path:
    """The neo4j.conf grape-kg writes for its local server (Bolt on loopback only)."""
    home = settings.neo4j_home
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)  # the store, its logs and its config are the user's alone
    for sub in ("conf", "data", "logs", "run", "plugins", "import"):
        (home / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(home / sub, 0o700)
    conf = home / "conf" / "neo4j.conf"
    lines = [
        "# written by grape-kg; edits are overwritten at every 'grape db start'",
        "server.default_listen_address=127.0.0.1",
        "server.default_advertised_address=127.0.0.1",
        f"server.bolt.listen_address=127.0.0.1:{port}",
        f"server.bolt.advertised_address=127.0.0.1:{port}",
        "server.bolt.tls_level=DISABLED",
        "server.http.enabled=false",
        "server.https.enabled=false",
        f"server.directories.data={home / 'data'}",
        f"server.directories.logs={home / 'logs'}",
        f"server.directories.run={home / 'run'}",
        f"server.directories.plugins={home / 'plugins'}",
        f"server.directories.import={home / 'import'}",
        f"server.memory.heap.initial_size={settings.neo4j_heap}",
        f"server.memory.heap.max_size={settings.neo4j_heap}",
        f"server.memory.pagecache.size={settings.neo4j_pagecache}",
        "dbms.security.auth_enabled=true",
        "dbms.usage_report.enabled=false",
        "db.tx_log.rotation.retention_policy=1 files",
        "server.jvm.additional=-XX:+UseG1GC",
        "",
    ]
    conf.write_text("\n".join(lines))
    return conf


def _jvm_memory(value: str) -> str:
    """'1g' / '512m' -> a JVM size (the distribution's launcher does the same mapping)."""
    v = value.strip().lower().rstrip("b")
    if not re.fullmatch(r"\d+[kmg]?", v):
        raise ServerError(f"setting 'neo4j_heap': '{value}' is not a size like 1g or 512m")
    return v


def _log_tail(settings: Settings, n: int = 5) -> str:
    for name in ("console.log", "neo4j.log"):
        f = settings.neo4j_home / "logs" / name
        if f.exists():
            lines = [ln for ln in f.read_text(errors="replace").splitlines() if ln.strip()]
            errs = [ln for ln in lines if "ERROR" in ln or "Exception" in ln]
            pick = (errs or lines)[-n:]
            if pick:
                return " | ".join(pick)
    return "(no log)"


def _bolt_ready(port: int, password: str, new_password: bool, timeout: float) -> None:
    wait_for_bolt(f"bolt://127.0.0.1:{port}", password, set_initial=new_password, timeout=timeout)


def start(settings: Settings, timeout: float = START_TIMEOUT_S) -> tuple[ServerState, str]:
    """Start the local server and wait until Bolt answers. Returns (state, note)."""
    st = running_state(settings)
    if st:
        return st, "already running"
    note = ""
    stale = read_state(settings)
    if stale:
        note = f"removed stale pid file (pid {stale.pid} is not running)"
        _state_file(settings).unlink(missing_ok=True)
    lib = install(settings)
    java, _ = find_java()
    port = _choose_port(settings, stale)
    write_conf(settings, port)
    password, new_password = _ensure_password(settings)
    if new_password and (settings.neo4j_home / "data" / "dbms").exists():
        # a store whose password file was lost: the old password cannot be recovered
        shutil.rmtree(settings.neo4j_home / "data" / "dbms")
    home = settings.neo4j_home
    heap = _jvm_memory(settings.neo4j_heap)
    cmd = [
        str(java),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djdk.tls.ephemeralDHKeySize=2048",
        "--add-opens=java.base/java.nio=ALL-UNNAMED",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "-Dfile.encoding=UTF-8",
        "-cp",
        f"{home / 'plugins'}/*:{home / 'conf'}/*:{lib}/*",
        ENTRY_POINT,
        f"--home-dir={home}",
        f"--config-dir={home / 'conf'}",
    ]
    console = open(home / "logs" / "console.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=console,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=home,
            umask=0o077,  # store files 0600, not world-readable 0644
        )
    finally:
        console.close()
    state = ServerState(pid=proc.pid, port=port, version=NEO4J_VERSION, started=time.time())
    _state_file(settings).write_text(json.dumps(state.__dict__))
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            _state_file(settings).unlink(missing_ok=True)
            raise ServerError(f"Neo4j exited with code {proc.returncode}: {_log_tail(settings)}")
        try:
            _bolt_ready(port, password, new_password, timeout=2.0)
            break
        except ServerError:
            if time.monotonic() > deadline:
                stop(settings)
                raise ServerError(
                    f"Neo4j did not answer on Bolt port {port} within {timeout:.0f} s: "
                    f"{_log_tail(settings)}"
                ) from None
            time.sleep(0.5)
    return state, note


def stop(settings: Settings, timeout: float = STOP_TIMEOUT_S) -> str:
    """Stop the local server cleanly (SIGTERM, then SIGKILL after ``timeout``)."""
    st = read_state(settings)
    if st is None:
        return "not running"
    if not _pid_alive(st.pid) or not _is_our_server(st.pid, settings):
        _state_file(settings).unlink(missing_ok=True)
        return f"not running (removed stale pid file for pid {st.pid})"
    os.kill(st.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(st.pid):
        _reap(st.pid)
        if time.monotonic() > deadline:
            os.kill(st.pid, signal.SIGKILL)
            _reap(st.pid)
            _state_file(settings).unlink(missing_ok=True)
            return f"killed pid {st.pid} after {timeout:.0f} s without a clean shutdown"
        time.sleep(0.2)
    _reap(st.pid)
    _state_file(settings).unlink(missing_ok=True)
    return f"stopped (pid {st.pid})"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def store_size(settings: Settings) -> int:
    """Bytes used by the local server's data directory."""
    root = settings.neo4j_home / "data"
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) if root.exists() else 0
