"""Domain errors. The CLI catches :class:`GrapeError` and prints its message as one line."""

from __future__ import annotations

from pathlib import Path


class GrapeError(Exception):
    """Base class of every error a user can fix; its message is one line."""


class ConfigError(GrapeError):
    """A bad setting or parameter."""


class ServerError(GrapeError):
    """The local Neo4j server could not be installed, started, stopped or reached."""


class DatabaseError(GrapeError):
    """Neo4j answered with an error or cannot be reached."""


class InputError(GrapeError):
    """Malformed input file; names the file and, where known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
