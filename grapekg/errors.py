"""Domain errors. The CLI catches :class:`GrapeError` and prints its message as one line.

Exit codes: :class:`ConfigError` (a bad option or parameter) is a usage error, rc 2; every
other :class:`GrapeError` (bad data, server, database) is rc 1. Messages are one line and cut
long values (:func:`cut`, :func:`show`), so a 10 MB field never becomes a 10 MB error line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: longest value shown in a message
MAX_VALUE = 80
#: longest whole message (one line)
MAX_MESSAGE = 400


def cut(text: str, limit: int = MAX_VALUE) -> str:
    """``text`` on one line, at most ``limit`` characters (``…`` and the dropped length)."""
    s = " ".join(str(text).split())
    if len(s) <= limit:
        return s
    return f"{s[: max(limit - 20, 10)]}… (+{len(s) - max(limit - 20, 10)} chars)"


def show(value: Any, limit: int = MAX_VALUE) -> str:
    """A value for a message: plain strings quoted (never ``np.str_('x')``), numbers as
    written, anything else as its cut ``str``."""
    if isinstance(value, str):  # np.str_ is a str subclass: shown as the plain string
        return repr(cut(str.__str__(value), limit))
    if isinstance(value, bytes):
        return repr(cut(value.decode("utf-8", "replace"), limit))
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        try:
            return show(item(), limit)
        except (TypeError, ValueError):
            pass
    return cut(str(value), limit)


class GrapeError(Exception):
    """Base class of every error a user can fix; its message is one line."""

    exit_code = 1

    def __str__(self) -> str:
        return cut(super().__str__(), MAX_MESSAGE)


class ConfigError(GrapeError):
    """A bad setting or parameter (a usage error: rc 2)."""

    exit_code = 2


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
        where = f"{cut(self.path, 160)}:{line}" if line is not None else cut(self.path, 160)
        super().__init__(f"{where}: {cut(message, MAX_MESSAGE - 40)}")


class OutputError(GrapeError):
    """A file or folder a command was asked to write cannot be written; names the path."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = str(path)
        self.reason = message
        super().__init__(f"{cut(self.path, 160)}: {cut(message, MAX_MESSAGE - 40)}")
