"""Line readers shared by adapters: every malformed line becomes one InputError naming the
file and line number."""

from __future__ import annotations

import gzip
import io
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path

from grapekg.errors import InputError


def _open_binary(path: Path) -> io.BufferedIOBase:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if path.suffix == ".xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115


def lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` (1-based, newline stripped) of a UTF-8 text file.

    gzip/xz are read transparently. Wrong encoding, a truncated archive and an empty file
    raise :class:`InputError` with the file and line.
    """
    p = Path(path)
    n = 0
    any_line = False
    try:
        with _open_binary(p) as fh:
            for n, raw in enumerate(fh, start=1):  # noqa: B007
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(p, "not UTF-8 text", n) from None
                any_line = True
                yield n, text.rstrip("\r\n")
    except (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError) as exc:
        raise InputError(p, f"truncated or corrupt archive ({exc})", n + 1) from None
    if not any_line:
        raise InputError(p, "file is empty")


def tsv_fields(
    path: str | Path, lineno: int, line: str, *, min_cols: int, max_cols: int | None = None
) -> list[str]:
    """Split a TSV line and check its column count."""
    cols = line.split("\t")
    if len(cols) < min_cols or (max_cols is not None and len(cols) > max_cols):
        want = f"{min_cols}" if max_cols == min_cols else f"{min_cols}..{max_cols or 'n'}"
        raise InputError(path, f"expected {want} tab-separated columns, found {len(cols)}", lineno)
    return cols
