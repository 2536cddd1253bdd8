"""The `grape` command end to end, in a subprocess, against the session's real Neo4j."""

from __future__ import annotations

import subprocess
import sys

from grapekg.kg import server
from tests.conftest import cy


def grape(env, *args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "grapekg", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_version_and_help(cli_env):
    assert "grape-kg" in grape(cli_env, "--version").stdout
    out = grape(cli_env, "--help").stdout
    for cmd in ("db", "kg", "query"):
        assert cmd in out


def test_build_status_query(cli_env, store, kg_fixtures):
    fx = kg_fixtures
    out = grape(
        cli_env,
        "kg",
        "build",
        "--path",
        f"ensembl.table={fx / 'genes.tsv'}",
        "--path",
        f"go.obo={fx / 'mini.obo'}",
        "--path",
        f"go.gaf={fx / 'mini.gaf'}",
        "--path",
        f"reactome.gmt={fx / 'mini.gmt'}",
        "--path",
        f"reactome.relations={fx / 'relations.txt'}",
    ).stdout
    assert "(:Gene)" in out and "complete" in out
    status = grape(cli_env, "kg", "status").stdout
    assert "biotype_class=c" in status
    q = grape(
        cli_env, "query", "gene_go_terms", "-p", "symbol=TP53", "-p", "limit=10", "--format", "csv"
    ).stdout.splitlines()
    assert q[0].startswith("gene,class,namespace,go_id,term,evidence")
    assert len(q) == 4  # header + 3 TP53 annotations


def test_errors_are_one_line_without_traceback(cli_env, tmp_path, store):
    bad = tmp_path / "genes.tsv"
    bad.write_text("ensembl_id\tbiotype\nENSG00000000001\tprotein_coding\textra\n")
    p = grape(
        cli_env, "kg", "build", "-s", "ensembl", "--path", f"ensembl.table={bad}", check=False
    )
    assert p.returncode == 1
    assert f"{bad}:2" in p.stderr and "Traceback" not in p.stderr
    p = grape(cli_env, "query", "gene_go_terms", "-p", "symbol=TP53", check=False)
    assert p.returncode == 2 and "limit" in p.stderr and "Traceback" not in p.stderr
    p = grape(cli_env, "-v", "query", "nope", check=False)
    assert p.returncode == 2 and "Traceback" in p.stderr  # -v shows it


def test_db_status(cli_env):
    out = grape(cli_env, "db", "status").stdout
    assert "bolt://127.0.0.1:" in out and server.NEO4J_VERSION in out and "store size" in out


def test_neo4j_uri_switch(cli_env, neo4j_settings, tmp_path, store, kg_fixtures):
    """With NEO4J_URI set, commands use that server and ignore the local data dir."""
    st = server.running_state(neo4j_settings)
    assert st is not None
    env = dict(cli_env)
    env["GRAPE_DATA_DIR"] = str(tmp_path / "nothing-here")
    env["NEO4J_URI"] = st.uri
    env["NEO4J_PASSWORD"] = server.read_password(neo4j_settings)
    grape(
        env, "kg", "build", "-s", "ensembl", "--path", f"ensembl.table={kg_fixtures / 'genes.tsv'}"
    )
    assert store.read(cy("MATCH (g:Gene) RETURN count(g) AS n"))[0]["n"] == 8
    out = grape(env, "db", "status").stdout
    assert st.uri in out
    assert env["NEO4J_PASSWORD"] not in out
    assert "NEO4J_URI is set" in grape(env, "db", "start").stdout
    env["NEO4J_PASSWORD"] = "wrong"
    p = grape(env, "kg", "status", check=False)
    assert p.returncode == 1 and "rejected" in p.stderr and "wrong" not in p.stderr
