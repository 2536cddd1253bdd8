"""Download the GEARS-processed perturbation datasets, resumably and with checks.

The files are the ones GEARS's ``PertData.load`` fetches from Harvard Dataverse
(``https://dataverse.harvard.edu/api/access/datafile/<id>``); each is a zip archive that
holds ``<name>/perturb_processed.h5ad``. A transfer is streamed into ``<file>.part``;
a later call resumes it with an HTTP ``Range`` request. The download fails with a clear
:class:`DownloadError` when the server answers with an HTML page (Dataverse's 403 / error
pages, GEARS issue #101), when fewer bytes arrive than announced (truncation), or when the
size or SHA-256 differs from the expected value.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from http.client import IncompleteRead
from os import PathLike
from pathlib import Path

from grapekg.perturb.errors import DownloadError
from grapekg.perturb.progress import Progress, counter

__all__ = ["DATASETS", "DatasetSource", "download", "extract"]

log = logging.getLogger(__name__)

_DATAVERSE = "https://dataverse.harvard.edu/api/access/datafile/{}"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DatasetSource:
    """Where a published dataset lives. ``sha256`` / ``size`` None = not known."""

    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None


# Dataverse file ids as used by GEARS (gears/pertdata.py, REFERENCES 1.1). No sizes or
# SHA-256 sums are recorded for these files, so they are left None here; pass sha256= /
# expected_size= to download() to enforce them.
DATASETS: dict[str, DatasetSource] = {
    "norman": DatasetSource(_DATAVERSE.format(6154020), "norman.zip"),
    "adamson": DatasetSource(_DATAVERSE.format(6154417), "adamson.zip"),
    "replogle_k562": DatasetSource(_DATAVERSE.format(7458695), "replogle_k562_essential.zip"),
    "replogle_rpe1": DatasetSource(_DATAVERSE.format(7458694), "replogle_rpe1_essential.zip"),
}


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:15].lower()
    return start.startswith(b"<!doctype") or start.startswith(b"<html")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, url: str, sha256: str | None, expected_size: int | None) -> None:
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise DownloadError(
            f"size {size} bytes differs from expected {expected_size} (from {url})",
            path=path,
            parameter="expected_size",
        )
    if sha256 is not None:
        got = _sha256(path)
        if got != sha256.lower():
            raise DownloadError(
                f"SHA-256 {got} differs from expected {sha256} (from {url}); file removed",
                path=path,
                parameter="sha256",
            )


def _open(url: str, offset: int, timeout: float):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, headers={"User-Agent": "grape-kg"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
    except urllib.error.HTTPError as err:
        if err.code == 416:
            return err
        body = err.read(512)
        kind = " (an HTML error page)" if _looks_like_html(body) else ""
        raise DownloadError(
            f"HTTP {err.code} {err.reason}{kind} from {url}", parameter="url"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise DownloadError(f"cannot reach {url}: {err}", parameter="url") from None


def _stream(
    response,
    part: Path,
    offset: int,
    url: str,  # type: ignore[no-untyped-def]
    progress: Progress | None,
) -> None:
    status = getattr(response, "status", 200)
    if offset and status != 206:
        log.info("server ignored the Range request (HTTP %s); restarting %s", status, url)
        offset = 0
    ctype = response.headers.get("Content-Type", "")
    if "text/html" in ctype.lower():
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"server sent an HTML page (Content-Type {ctype}) instead of the "
            f"data file from {url}; the link may need a login or be gone",
            path=part,
            parameter="url",
        )
    length = response.headers.get("Content-Length")
    expected = int(length) if length is not None else None
    received = 0
    total = None if expected is None else offset + expected
    with counter(progress, part.name, total) as advance, part.open("ab" if offset else "wb") as out:
        if offset:
            advance(offset)
        while True:
            try:
                block = response.read(_CHUNK)
            except IncompleteRead as err:
                block, expected = err.partial, expected if expected is not None else -1
                out.write(block)
                received += len(block)
                break
            if not block:
                break
            if received == 0 and offset == 0 and _looks_like_html(block[:64]):
                out.close()
                part.unlink(missing_ok=True)
                raise DownloadError(
                    f"server sent an HTML page instead of the data file from {url}",
                    path=part,
                    parameter="url",
                )
            out.write(block)
            received += len(block)
            advance(len(block))
    if expected is not None and received != expected:
        raise DownloadError(
            f"truncated: received {received} of {expected} bytes from {url}; run again to resume",
            path=part,
            parameter="url",
        )


def download(
    name: str,
    dest_dir: str | PathLike[str],
    url: str | None = None,
    sha256: str | None = None,
    expected_size: int | None = None,
    *,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> Path:
    """Download dataset ``name`` (norman | adamson | replogle_k562 | replogle_rpe1) into
    ``dest_dir`` and return the file's path; an existing verified file is reused.

    ``url`` overrides the table's address (mirrors, tests); ``sha256`` and
    ``expected_size`` override / supply the checks (None = not checked). ``progress``
    counts the bytes received (:mod:`~grapekg.perturb.progress`; None = quiet).
    """
    if name not in DATASETS:
        raise DownloadError(
            f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}", parameter="name"
        )
    source = DATASETS[name]
    url = url or source.url
    sha256 = sha256 or source.sha256
    expected_size = expected_size if expected_size is not None else source.size
    dest = Path(dest_dir) / source.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        _verify(dest, url, sha256, expected_size)
        return dest
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset, timeout)
    with response:
        if getattr(response, "code", 200) == 416:  # Range beyond the end: .part is complete?
            if expected_size is None or offset != expected_size:
                part.unlink(missing_ok=True)
                raise DownloadError(
                    f"server rejected resuming at byte {offset} (HTTP 416) "
                    f"from {url}; partial file removed, run again",
                    path=part,
                    parameter="url",
                )
        else:
            _stream(response, part, offset, url, progress)
    try:
        _verify(part, url, sha256, expected_size)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    part.replace(dest)
    log.info("downloaded %s to %s", url, dest)
    return dest


def extract(archive: str | PathLike[str], dest_dir: str | PathLike[str]) -> Path:
    """Unpack a downloaded zip archive into ``dest_dir`` (refusing members that would land
    outside it) and return ``dest_dir``."""
    archive, root = Path(archive), Path(dest_dir).resolve()
    if not zipfile.is_zipfile(archive):
        raise DownloadError(
            "not a zip archive (truncated download or an error page?)",
            path=archive,
            parameter="archive",
        )
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if not (root / member).resolve().is_relative_to(root):
                raise DownloadError(
                    f"archive member {member!r} escapes the target folder",
                    path=archive,
                    parameter="archive",
                )
        zf.extractall(root)
    return root
