"""The local Neo4j 5 LTS Community server, run as its own process.

The jars come from Maven Central (``org.neo4j:neo4j``, fetched once by Maven into the cache
folder). The server is started through Neo4j's own entry point,
``org.neo4j.server.CommunityEntryPoint``, with a home and config dir holding a ``neo4j.conf``
written here, as the distribution's scripts do. grape-kg (Apache-2.0) never links Neo4j
(GPL-3) classes: it only talks Bolt to the process.

Bolt listens on 127.0.0.1 and HTTP is off, unless the server is started with the Browser
(``grape db start --browser``): then the ``org.neo4j.client:neo4j-browser`` jar (its static web
files, fetched once like the server jars) joins the classpath and the HTTP connector listens on
127.0.0.1 too, serving only the Browser module at ``/browser/``. Its port is kept in a second
state file beside the pid file (``run/grape-neo4j-browser.json``).
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
import zipfile
from importlib import resources
from pathlib import Path

from grapekg.errors import ServerError, cut
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
    "BROWSER_VERSION",
    "ENTRY_POINT",
    "NEO4J_VERSION",
    "ServerState",
    "browser_lib_dir",
    "browser_url",
    "find_java",
    "install",
    "install_browser",
    "is_browser_installed",
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
#: newest Neo4j Browser on Maven Central (org.neo4j.client:neo4j-browser); 5.x Browsers talk
#: Bolt to any 5.x server
BROWSER_VERSION = "5.24.0"
#: the HTTP port the Browser gets when it is free (Neo4j's default)
BROWSER_PORT = 7474
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


def _maven_fetch(work: Path, pom_name: str, placeholders: dict[str, str], coord: str) -> Path:
    """Copy the runtime dependencies of the packaged pom ``pom_name`` into ``work/lib`` with
    Maven, all or nothing: they land in ``lib.partial``, which becomes ``lib`` only when Maven
    succeeded (the caller checks the jars, then marks ``work/.complete``)."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServerError(f"Maven ('mvn') is needed once to fetch {coord} from Maven Central")
    work.mkdir(parents=True, exist_ok=True)
    pom = resources.files("grapekg.kg").joinpath(pom_name).read_text()
    for key, value in placeholders.items():
        pom = pom.replace(f"@{key}@", value)
    (work / "pom.xml").write_text(pom)
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
    log.info("fetching %s with Maven", coord)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ServerError(
            f"Maven could not fetch {coord}: {_maven_reason(proc.stdout + proc.stderr)}"
        )
    return tmp


def _maven_reason(output: str) -> str:
    """Maven's first [ERROR] line, from its 'Could not ...' part (the cause), without the
    help link, cut to 200 characters; else the last lines of its output."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in output.splitlines()]
    errs = [ln.removeprefix("[ERROR]").strip() for ln in lines if ln.startswith("[ERROR]")]
    errs = [e for e in errs if e]
    if not errs:
        return " | ".join([ln for ln in lines if ln][-3:]) or "mvn exited without output"
    first = re.sub(r"\s*-> \[Help \d+\]$", "", errs[0])
    cause = first.rfind("Could not")
    return cut(first[cause:] if cause > 0 else first, 200)


def _publish(work: Path, tmp: Path, version: str) -> Path:
    lib = work / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    tmp.rename(lib)
    (work / ".complete").write_text(version + "\n")
    return lib


def install(settings: Settings) -> Path:
    """Fetch the Neo4j Community jars with Maven into the cache folder (once)."""
    lib = lib_dir(settings)
    if is_installed(settings):
        return lib
    find_java()
    tmp = _maven_fetch(
        lib.parent,
        "neo4j-runtime.pom.xml",
        {"NEO4J_VERSION": NEO4J_VERSION},
        f"org.neo4j:neo4j:{NEO4J_VERSION}",
    )
    if not any(tmp.glob(f"neo4j-{NEO4J_VERSION}.jar")):
        raise ServerError(f"Maven finished but neo4j-{NEO4J_VERSION}.jar is missing in {tmp}")
    return _publish(lib.parent, tmp, NEO4J_VERSION)


def browser_lib_dir(settings: Settings) -> Path:
    return settings.cache_dir / "neo4j" / f"browser-{BROWSER_VERSION}" / "lib"


def is_browser_installed(settings: Settings) -> bool:
    return (browser_lib_dir(settings).parent / ".complete").exists()


def _browser_jar_ok(jar: Path) -> bool:
    """The jar opens as a zip and holds the Browser's page (``browser/index.html``)."""
    try:
        with zipfile.ZipFile(jar) as z:
            return "browser/index.html" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def install_browser(settings: Settings) -> Path:
    """Fetch the Neo4j Browser jar with Maven into the cache folder (once), checked (a zip
    holding ``browser/index.html``) and all or nothing like :func:`install`."""
    lib = browser_lib_dir(settings)
    if is_browser_installed(settings):
        return lib
    coord = f"org.neo4j.client:neo4j-browser:{BROWSER_VERSION}"
    try:
        tmp = _maven_fetch(
            lib.parent, "neo4j-browser.pom.xml", {"BROWSER_VERSION": BROWSER_VERSION}, coord
        )
    except ServerError as e:
        raise ServerError(
            f"Neo4j Browser is not available: {e}; start without --browser, or use the "
            "docker route (README, 'Using your own Neo4j')"
        ) from None
    jar = tmp / f"neo4j-browser-{BROWSER_VERSION}.jar"
    if not _browser_jar_ok(jar):
        shutil.rmtree(tmp, ignore_errors=True)
        raise ServerError(
            f"Maven finished but {jar.name} is missing or holds no browser/index.html: "
            "Neo4j Browser is not available"
        )
    return _publish(lib.parent, tmp, BROWSER_VERSION)


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


def _browser_file(settings: Settings) -> Path:
    """The Browser's state beside the pid file: ``{"pid": ..., "http_port": ...}``."""
    return settings.neo4j_home / "run" / "grape-neo4j-browser.json"


def _read_browser(settings: Settings) -> dict[str, int] | None:
    try:
        d = json.loads(_browser_file(settings).read_text())
        return {"pid": int(d["pid"]), "http_port": int(d["http_port"])}
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _clear_state(settings: Settings) -> None:
    _state_file(settings).unlink(missing_ok=True)
    _browser_file(settings).unlink(missing_ok=True)


def browser_url(settings: Settings) -> str | None:
    """The Neo4j Browser of the running local server, or None (not running, or started
    without ``--browser``)."""
    st = running_state(settings)
    b = _read_browser(settings)
    if st is None or b is None or b["pid"] != st.pid:
        return None
    return f"http://127.0.0.1:{b['http_port']}/browser/"


def _choose_http_port(requested: int | None, prev: int | None, bolt: int) -> int:
    """The Browser's HTTP port, chosen like the Bolt port: the requested one (``--browser-port``),
    else the previous run's when free, else 7474, else any free port; never the Bolt port."""
    if requested:
        if requested == bolt:
            raise ServerError(f"--browser-port {requested} is the Bolt port: choose another")
        if not _port_free(requested):
            raise ServerError(
                f"port {requested} on 127.0.0.1 is in use: stop what holds it or pass another "
                "--browser-port (0 picks one)"
            )
        return requested
    for port in (prev, BROWSER_PORT):
        if port and port != bolt and _port_free(port):
            return port
    port = _free_port()
    while port == bolt:
        port = _free_port()
    return port


def write_conf(settings: Settings, port: int, http_port: int | None = None) -> Path:
    """The neo4j.conf grape-kg writes for its local server: Bolt on loopback only; with
    ``http_port``, also HTTP on loopback serving only the Neo4j Browser module."""
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
        *(_http_conf(http_port) if http_port else ["server.http.enabled=false"]),
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


def _http_conf(http_port: int) -> list[str]:
    """HTTP on loopback for the Browser alone: no HTTP Cypher endpoints, cross-origin requests
    only from the Browser's own page, no telemetry from the Browser."""
    origin = f"http://127.0.0.1:{http_port}"
    return [
        "server.http.enabled=true",
        f"server.http.listen_address=127.0.0.1:{http_port}",
        f"server.http.advertised_address=127.0.0.1:{http_port}",
        "server.http_enabled_modules=BROWSER",
        f"dbms.security.http_access_control_allow_origin={origin}",
        "client.allow_telemetry=false",
    ]


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


def start(
    settings: Settings,
    timeout: float = START_TIMEOUT_S,
    *,
    browser: bool = False,
    browser_port: int | None = None,
) -> tuple[ServerState, str]:
    """Start the local server and wait until Bolt answers. Returns (state, note).

    With ``browser``, the Neo4j Browser jar is fetched (once) and HTTP listens on 127.0.0.1
    (``browser_port``, else as :func:`_choose_http_port` picks); :func:`browser_url` names it.
    """
    st = running_state(settings)
    if st:
        if browser and browser_url(settings) is None:
            raise ServerError(
                f"the local Neo4j is already running without the Browser (pid {st.pid}): "
                "'grape db stop', then 'grape db start --browser'"
            )
        return st, "already running"
    note = ""
    stale = read_state(settings)
    stale_browser = _read_browser(settings)
    if stale:
        note = f"removed stale pid file (pid {stale.pid} is not running)"
    _clear_state(settings)
    lib = install(settings)
    browser_lib = install_browser(settings) if browser else None
    java, _ = find_java()
    port = _choose_port(settings, stale)
    http_port = None
    if browser:
        prev_http = stale_browser["http_port"] if stale_browser else None
        http_port = _choose_http_port(browser_port, prev_http, port)
    write_conf(settings, port, http_port)
    password, new_password = _ensure_password(settings)
    if new_password and (settings.neo4j_home / "data" / "dbms").exists():
        # a store whose password file was lost: the old password cannot be recovered
        shutil.rmtree(settings.neo4j_home / "data" / "dbms")
    home = settings.neo4j_home
    heap = _jvm_memory(settings.neo4j_heap)
    classpath = f"{home / 'plugins'}/*:{home / 'conf'}/*:{lib}/*"
    if browser_lib:
        classpath += f":{browser_lib}/*"
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
        classpath,
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
    if http_port:
        _browser_file(settings).write_text(json.dumps({"pid": proc.pid, "http_port": http_port}))
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            _clear_state(settings)
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
        _clear_state(settings)
        return f"not running (removed stale pid file for pid {st.pid})"
    os.kill(st.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(st.pid):
        _reap(st.pid)
        if time.monotonic() > deadline:
            os.kill(st.pid, signal.SIGKILL)
            _reap(st.pid)
            _clear_state(settings)
            return f"killed pid {st.pid} after {timeout:.0f} s without a clean shutdown"
        time.sleep(0.2)
    _reap(st.pid)
    _clear_state(settings)
    return f"stopped (pid {st.pid})"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def store_size(settings: Settings) -> int:
    """Bytes used by the local server's data directory."""
    root = settings.neo4j_home / "data"
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) if root.exists() else 0
