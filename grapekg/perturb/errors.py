"""Exceptions raised by the perturbation data layer.

Every message is one line and names the file (when there is one) and the
parameter or column at fault, so a command-line front end can print it as is.
"""

from __future__ import annotations

from os import PathLike

from grapekg.errors import GrapeError

__all__ = ["DataError", "DownloadError"]


class DataError(GrapeError, ValueError):
    """Invalid or unusable perturbation data.

    The message has the form ``"<file>: <parameter>: <problem>"``; the file and
    the parameter parts are left out when not known.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | PathLike[str] | None = None,
        parameter: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.parameter = parameter
        self.problem = problem
        parts = [p for p in (self.path, parameter) if p]
        message = ": ".join([*parts, problem])
        super().__init__(" ".join(message.split()))


class DownloadError(DataError):
    """A dataset download failed (HTTP error, HTML page instead of data, truncation,
    size or checksum mismatch)."""
