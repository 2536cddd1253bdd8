"""Neo4j Browser on the local server (`grape db start --browser`), for real: a private server
started by the CLI with the Browser, its HTTP on loopback only, and the Browser page opened in
headless Chromium, connected over Bolt with the generated password, running the text of
cypher/pathway_genes_by_class.cypher on a small KG built from the test fixtures.

Needs Chromium (`make test` installs Debian's `chromium` when missing) and the `playwright`
package (the [test] extra), which drives that Chromium; playwright's own browser download is
never used."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grapekg import cypher
from grapekg.app.build import build_kg
from grapekg.kg import server
from grapekg.kg.store import Store
from grapekg.settings import Settings

#: Chromium flags for a machine without a display, a GPU or outside network
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the query the Browser runs (a file of cypher/) and its parameters
QUERY = "pathway_genes_by_class"
PARAMS = {"name": "apoptosis", "limit": 5}
#: how long one wait in the page may take (ms)
WAIT_MS = 30_000


def _chromium() -> str:
    """The Chromium binary itself (Debian's /usr/bin/chromium is a wrapper script)."""
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium"), "/usr/bin/chromium"):
        if path and Path(path).is_file():
            return path
    raise FileNotFoundError("Chromium not found: 'apt-get install -y chromium' (make test does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cache_dir() -> Path:
    return Path(os.environ.get("GRAPE_CACHE_DIR") or Path.home() / ".cache" / "grape-kg")


def _listen_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for name in ("tcp", "tcp6"):
        f = Path("/proc/net") / name
        if not f.exists():
            continue
        for line in f.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                found.add(addr)
    return found


#: 127.0.0.1 in /proc/net/tcp (little-endian) and as ::ffff:127.0.0.1 in /proc/net/tcp6
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}


@dataclass(frozen=True)
class BrowserServer:
    settings: Settings
    url: str
    bolt: str
    http_port: int
    password: str
    start_output: str


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserServer]:
    """A private local server started with `grape db start --browser` on free ports, holding
    the fixture KG (Ensembl table and Reactome GMT); stopped at the end."""
    data = tmp_path_factory.mktemp("grape-browser")
    bolt_port, http_port = _free_port(), _free_port()
    while http_port == bolt_port:
        http_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "GRAPE_"))}
    env |= {
        "GRAPE_DATA_DIR": str(data),
        "GRAPE_CACHE_DIR": str(_cache_dir()),
        "GRAPE_NEO4J_PORT": str(bolt_port),
        "GRAPE_NEO4J_HEAP": "512m",
        "GRAPE_NEO4J_PAGECACHE": "64m",
        "COLUMNS": "200",
    }
    s = Settings.load(
        env={},
        data_dir=data,
        cache_dir=_cache_dir(),
        neo4j_port=bolt_port,
        neo4j_heap="512m",
        neo4j_pagecache="64m",
    )
    cmd = [sys.executable, "-m", "grapekg", "db", "start", "--browser"]
    proc = subprocess.run(
        [*cmd, "--browser-port", str(http_port)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        assert proc.returncode == 0, proc.stderr
        url = server.browser_url(s)
        assert url == f"http://127.0.0.1:{http_port}/browser/"
        fx = Path(__file__).parent / "fixtures" / "kg"
        with Store.connect(s) as store:
            build_kg(
                store,
                s,
                ["ensembl", "reactome"],
                {
                    "ensembl": {"table": fx / "genes.tsv"},
                    "reactome": {"gmt": fx / "mini.gmt", "relations": fx / "relations.txt"},
                },
            )
        yield BrowserServer(
            s,
            url,
            f"bolt://127.0.0.1:{bolt_port}",
            http_port,
            server.read_password(s),
            proc.stdout + proc.stderr,
        )
    finally:
        server.stop(s)


def test_start_prints_the_browser_url_never_the_password(browser_server):
    out = browser_server.start_output
    assert browser_server.url in out and browser_server.bolt in out
    assert str(server.password_file(browser_server.settings)) in out
    assert browser_server.password not in out
    conf = (browser_server.settings.neo4j_home / "conf" / "neo4j.conf").read_text()
    assert f"server.http.listen_address=127.0.0.1:{browser_server.http_port}" in conf
    assert "server.http.enabled=true" in conf


def test_browser_answers_over_http_on_loopback_only(browser_server):
    port = browser_server.http_port
    with urllib.request.urlopen(browser_server.url, timeout=10) as r:
        assert r.status == 200
        assert "<html" in r.read().decode("utf-8", "replace").lower()
    # discovery names the loopback Bolt address the Browser connects to
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        assert json.loads(r.read())["bolt_direct"] == browser_server.bolt
    # only the Browser module: no Cypher over HTTP
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/db/neo4j/tx", timeout=10)
    assert ei.value.code == 404
    listening = _listen_addresses(port)
    assert listening and listening <= LOOPBACK, listening


def test_no_browser_without_the_option(neo4j_settings):
    """The session server was started without --browser: HTTP stays off."""
    assert server.browser_url(neo4j_settings) is None
    conf = (neo4j_settings.neo4j_home / "conf" / "neo4j.conf").read_text()
    assert "server.http.enabled=false" in conf and "server.http.listen_address" not in conf


def test_browser_runs_a_project_query_in_headless_chromium(browser_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    query = cypher.load(QUERY)
    with Store.connect(browser_server.settings) as store:
        expected = store.read(query, PARAMS)
    assert expected, "the fixture KG has an apoptosis pathway"
    row = dict(expected[0], examples=sorted(expected[0]["examples"]))

    def only_loopback(route) -> None:
        # the page asks for web fonts and scripts on the internet (fonts, analytics); they are
        # refused here, so the test never depends on the network
        host = route.request.url.split("://", 1)[-1].split("/", 1)[0].split(":")[0]
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS
        )
        page = chromium.new_page()
        try:
            page.set_default_timeout(WAIT_MS)
            page.route("**/*", only_loopback)
            page.goto(browser_server.url)
            # the connect form: Bolt (not neo4j://) at the discovered loopback address
            page.get_by_test_id("bolt-scheme-select").select_option("bolt://")
            page.get_by_test_id("boltaddress").fill(browser_server.bolt.removeprefix("bolt://"))
            page.get_by_test_id("username").fill("neo4j")
            page.get_by_test_id("password").fill(browser_server.password)
            page.get_by_test_id("connect").click()
            connected = page.get_by_test_id("frame").filter(has_text="Connected to Neo4j")
            expect(connected).to_be_visible(timeout=WAIT_MS)
            # ':param k => v' evaluates v on the server (an integer stays one; the map form of
            # ':params' would make limit the float 5.0, which LIMIT refuses)
            for key, value in PARAMS.items():
                _run(page, f":param {key} => {json.dumps(value)}")
                shown = page.get_by_test_id("frame").filter(
                    has_text=f'"{key}": {json.dumps(value)}'
                )
                expect(shown.first).to_be_visible(timeout=WAIT_MS)
            _run(page, query.text)
            result = page.get_by_test_id("frame").filter(has_text=row["pathway"]).first
            expect(result).to_be_visible(timeout=WAIT_MS)
            text = result.inner_text()
        except Exception:
            page.screenshot(path=tmp_path / "browser-failure.png")
            raise
        finally:
            chromium.close()
    assert _table(text, list(row)) == [json.dumps(v) for v in row.values()], (text, row)


def _table(text: str, columns: list[str]) -> list[str]:
    """The first row of the result table in a frame's text (tab-separated after the header
    line of ``columns``); the list of examples sorted, as collect() has no order."""
    lines = text.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.split() == columns)
    cells = next(ln for ln in lines[header + 1 :] if ln.startswith("\t")).strip("\t").split("\t")
    out = []
    for col, cell in zip(columns, cells, strict=True):
        out.append(json.dumps(sorted(json.loads(cell))) if col == "examples" else cell)
    return out


def _run(page, text: str) -> None:
    """Put ``text`` in the Browser's editor and run it (Ctrl+Enter)."""
    editor = page.get_by_test_id("activeEditor")
    editor.click()
    page.keyboard.insert_text(text)
    page.keyboard.press("Control+Enter")
