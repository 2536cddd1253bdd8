"""Resumable downloads against a loopback HTTP server (full, truncated, HTML, Range)."""

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grapekg.perturb import download as dl
from grapekg.perturb.errors import DownloadError


def _payload() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("norman/perturb_processed.h5ad", b"synthetic fixture " * 5000)
    return buf.getvalue()


PAYLOAD = _payload()
SHA = hashlib.sha256(PAYLOAD).hexdigest()
HTML = b"<!DOCTYPE html><html><body>403 Forbidden</body></html>"


class _Handler(http.server.BaseHTTPRequestHandler):
    ranges: list[str] = []
    cut = len(PAYLOAD) // 3

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/zip",
        length: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        rng = self.headers.get("Range")
        _Handler.ranges.append(f"{self.path} {rng}")
        if self.path == "/file.zip":
            if rng:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(PAYLOAD):
                    self._send(416, b"", length=0)
                    return
                self._send(
                    206,
                    PAYLOAD[start:],
                    extra={"Content-Range": f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"},
                )
            else:
                self._send(200, PAYLOAD)
        elif self.path == "/truncated.zip":  # announces the full length, sends a third
            self._send(200, PAYLOAD[: self.cut], length=len(PAYLOAD))
            self.close_connection = True
        elif self.path == "/html":
            self._send(200, HTML, ctype="text/html; charset=utf-8")
        elif self.path == "/sniff":  # wrong content type, HTML body
            self._send(200, b"\n  " + HTML, ctype="application/octet-stream")
        elif self.path == "/forbidden":
            self._send(403, HTML, ctype="text/html")
        else:
            self._send(404, b"", length=0)


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.timeout = 5
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    _Handler.ranges = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _get(url: str, dest: Path, **kw: object) -> Path:
    return dl.download("norman", dest, url=url, timeout=5, **kw)


def test_table_has_the_published_urls() -> None:
    assert dl.DATASETS["norman"].url == "https://dataverse.harvard.edu/api/access/datafile/6154020"
    assert dl.DATASETS["adamson"].url.endswith("/6154417")
    assert dl.DATASETS["replogle_k562"].url.endswith("/7458695")
    assert dl.DATASETS["replogle_rpe1"].url.endswith("/7458694")


def test_full_download_with_checks(server: str, tmp_path: Path) -> None:
    seen: list[tuple[str, int | None, int]] = []

    @contextmanager
    def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        seen.append((label, total, 0))
        yield lambda n: seen.append((label, total, n))

    path = _get(
        f"{server}/file.zip", tmp_path, sha256=SHA, expected_size=len(PAYLOAD), progress=progress
    )
    assert seen[0][:2] == ("norman.zip.part", len(PAYLOAD))
    assert sum(n for _, _, n in seen) == len(PAYLOAD)  # bytes counted by the callback
    assert path.read_bytes() == PAYLOAD and path.name == "norman.zip"
    assert not (tmp_path / "norman.zip.part").exists()
    out = dl.extract(path, tmp_path / "x")
    assert (out / "norman" / "perturb_processed.h5ad").is_file()
    # a second call reuses the verified file without a request
    n = len(_Handler.ranges)
    assert _get(f"{server}/file.zip", tmp_path, sha256=SHA) == path
    assert len(_Handler.ranges) == n


def test_truncated_then_resumed(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"truncated: received \d+ of \d+ bytes"):
        _get(f"{server}/truncated.zip", tmp_path)
    part = tmp_path / "norman.zip.part"
    assert part.stat().st_size == _Handler.cut
    path = _get(f"{server}/file.zip", tmp_path, sha256=SHA)
    assert path.read_bytes() == PAYLOAD
    assert _Handler.ranges[-1] == f"/file.zip bytes={_Handler.cut}-"


def test_complete_part_file_gets_416_and_is_finalised(server: str, tmp_path: Path) -> None:
    (tmp_path / "norman.zip.part").write_bytes(PAYLOAD)
    path = _get(f"{server}/file.zip", tmp_path, sha256=SHA, expected_size=len(PAYLOAD))
    assert path.read_bytes() == PAYLOAD


@pytest.mark.parametrize("route", ["/html", "/sniff"])
def test_html_page_is_an_error(server: str, tmp_path: Path, route: str) -> None:
    with pytest.raises(DownloadError, match="HTML page"):
        _get(f"{server}{route}", tmp_path)
    assert not (tmp_path / "norman.zip").exists()
    assert not (tmp_path / "norman.zip.part").exists()


def test_http_error_page(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"HTTP 403 .*HTML error page"):
        _get(f"{server}/forbidden", tmp_path)


def test_checksum_and_size_mismatch(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"sha256: SHA-256 .* differs"):
        _get(f"{server}/file.zip", tmp_path, sha256="0" * 64)
    assert not (tmp_path / "norman.zip").exists()
    with pytest.raises(DownloadError, match="expected_size"):
        _get(f"{server}/file.zip", tmp_path, expected_size=len(PAYLOAD) + 1)


def test_unknown_name_and_bad_archive(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unknown dataset 'dixit'"):
        dl.download("dixit", tmp_path)
    (tmp_path / "bad.zip").write_bytes(HTML)
    with pytest.raises(DownloadError, match="not a zip archive"):
        dl.extract(tmp_path / "bad.zip", tmp_path / "out")
