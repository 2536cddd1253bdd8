"""State of the local Neo4j server on disk: its pid/port file and its password file.

Read by :meth:`grapekg.kg.store.Store.connect` (to find the local server) and written by
:mod:`grapekg.kg.server` (which starts and stops it); kept apart so neither imports the other's
callers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from grapekg.errors import ServerError
from grapekg.settings import Settings

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    version: str
    started: float

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"


def _state_file(settings: Settings) -> Path:
    return settings.neo4j_home / "run" / "grape-neo4j.json"


def password_file(settings: Settings) -> Path:
    return settings.neo4j_home / "auth" / "password"


def read_state(settings: Settings) -> ServerState | None:
    f = _state_file(settings)
    if not f.exists():
        return None
    try:
        return ServerState(**json.loads(f.read_text()))
    except (ValueError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0). But a JVM whose main thread has ended while its other
    # threads shut down also shows 'Z' for the group leader: alive while threads remain.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(")")[-1].split()[0] != "Z":
            return True
        return len(list(Path(f"/proc/{pid}/task").iterdir())) > 1
    except OSError:
        return True


def _is_our_server(pid: int, settings: Settings) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return _pid_alive(pid)
    return ENTRY_POINT in cmdline and str(settings.neo4j_home) in cmdline


def running_state(settings: Settings) -> ServerState | None:
    """The state of our server if its process is alive, else None."""
    st = read_state(settings)
    if st and _pid_alive(st.pid) and _is_our_server(st.pid, settings):
        return st
    return None


def read_password(settings: Settings) -> str:
    f = password_file(settings)
    if not f.exists():
        raise ServerError(f"no local Neo4j password at {f}: run 'grape db start' first")
    return f.read_text().strip()
