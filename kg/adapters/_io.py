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


def csv_fields(path: str | Path, lineno: int, line: str, *, sep: str = ",", n: int) -> list[str]:
    """Split a delimited line (no quoting: the knowledge files never quote) and check it has
    exactly ``n`` columns."""
    cols = line.split(sep)
    if len(cols) != n:
        what = "comma" if sep == "," else "tab" if sep == "\t" else repr(sep)
        raise InputError(path, f"expected {n} {what}-separated columns, found {len(cols)}", lineno)
    return cols


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def fetch_url(url: str, folder: Path, *, timeout: float = 120.0) -> Path:
    """Download ``url`` once into ``folder`` (streamed into ``.part``, renamed when complete;
    an HTML error page or a short transfer is refused) and return the local file. A file
    already downloaded from the same address is reused."""
    import hashlib
    import re
    import urllib.error
    import urllib.request

    tail = re.sub(r"[^A-Za-z0-9._-]", "_", url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    dest = folder / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{tail[:80] or 'file'}"
    if dest.exists():
        return dest
    folder.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    req = urllib.request.Request(url, headers={"User-Agent": "grape-kg"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(part, "wb") as out:  # noqa: S310
            size = resp.headers.get("Content-Length")
            got = 0
            first = True
            while block := resp.read(1 << 20):
                if first and block.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
                    raise InputError(url, "the server answered with an HTML page, not the file")
                first = False
                out.write(block)
                got += len(block)
        if size is not None and got != int(size):
            raise InputError(url, f"truncated download: {got} of {size} bytes")
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise InputError(url, f"cannot download ({exc})") from None
    except InputError:
        part.unlink(missing_ok=True)
        raise
    part.rename(dest)
    return dest
