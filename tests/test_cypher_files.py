"""Every query file in cypher/ runs against the real server; parameters are data; internal
and DDL statements are not user queries; every property a statement writes is declared in
kg/schema.yaml; the Store runs loaded statements only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from grapekg import cypher
from grapekg.cli.query import parse_param
from grapekg.errors import ConfigError
from grapekg.kg import schema as schema_mod
from grapekg.kg.build import build
from tests.conftest import cy
from tests.test_learned_queries import seed_learned
from tests.test_loader import mini_paths

SAMPLE = {
    "symbol": "TP53",
    "limit": 5,
    "name": "repair",
    "a": "TP53",
    "b": "BRCA2",
    "run": "run-1",
    "run_a": "run-1",
    "run_b": "run-2",
    "min_score": 0.0,
    "go_id": "GO:0006281",
    "min_hits": 1,
    "cell_line": "k562",
}


def test_every_file_has_a_header_and_runs(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    seed_learned(store)
    names = cypher.names()
    assert {"gene_go_terms", "pathway_genes_by_class", "shared_go_terms"} <= set(names)
    for name in names:
        qf = cypher.load(name)
        assert qf.description, f"{name} has no header comment"
        assert qf.kind == "user"
        rows = store.read(qf, {p: SAMPLE[p] for p in qf.params})
        assert rows, f"{name} returned no rows on the fixture graph"


def test_schema_file_is_generated_from_yaml():
    ddl = cypher.ddl("schema")
    assert ddl.kind == "generated"
    assert ddl.text == schema_mod.render_schema_cypher(schema_mod.load())


def test_internal_and_ddl_files_are_not_user_queries():
    user = set(cypher.names())
    for name in cypher.internal_names():
        qf = cypher.internal(name)
        assert qf.kind == "internal" and qf.description, name
        assert "Parameters:" in qf.text, f"internal/{name} has no Parameters line"
    for name in cypher.ddl_names():
        assert cypher.ddl(name).kind in ("ddl", "generated") and cypher.ddl(name).description
    for name in cypher.internal_names() + cypher.ddl_names():
        assert name not in user, f"{name} is both a user query and an internal/DDL file"
        with pytest.raises(cypher.NotAUserQuery):
            cypher.load(name)
    with pytest.raises(KeyError):
        cypher.load("no_such_query")
    with pytest.raises(KeyError):
        cypher.load("../kg/schema")


def test_grape_query_refuses_internal_and_ddl(cli_env):
    from tests.test_cli import grape

    listed = grape(cli_env, "query", "list").stdout
    assert "gene_go_terms" in listed and "ensure_indexes" not in listed
    assert "await_indexes" not in listed and "run_begin" not in listed
    for name in ("schema", "run_begin", "wipe"):
        p = grape(cli_env, "query", name, check=False)
        assert p.returncode == 2 and "Traceback" not in p.stderr
        assert "internal statement" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_store_refuses_strings(store):
    for method in (store.read, store.write, store.read_write, store.run_auto):
        with pytest.raises(TypeError, match="CypherFile"):
            method("MATCH (n) RETURN count(n) AS n")
    with pytest.raises(TypeError, match="CypherFile"):
        store.write_many([("MATCH (n) DETACH DELETE n", {})])
    assert store.read(cy("MATCH (n) RETURN count(n) AS n")) == [{"n": 0}]


# ---------------------------------------------------------------- properties vs schema.yaml
CYPHER_DIR = Path(cypher.__file__).parent
_KEYWORDS = (
    r"\b(?:MATCH|MERGE|CREATE|WITH|RETURN|UNWIND|CALL|DELETE|DETACH|REMOVE|FOREACH|"
    r"OPTIONAL|WHERE|ON)\b"
)
_CLAUSE = rf"(?={_KEYWORDS}|[;}}]|$)"  # a SET clause ends at a keyword, ';' or a subquery's '}'
_PATTERN = rf"(?={_KEYWORDS}|;|$)"  # a pattern's maps hold '}'


def written_properties(text: str) -> set[tuple[str, str]]:
    """(label or relationship type, property) pairs a statement writes: ``SET v.p = ...``
    and the maps of ``CREATE`` / ``MERGE`` patterns, with variables bound to their label or
    type by the statement's patterns (unbound variables give '?')."""
    body = cypher.strip_comments(text)
    binds = dict(re.findall(r"[(\[](\w+):(\w+)", body))
    out: set[tuple[str, str]] = set()
    for m in re.finditer(r"\bSET\b(.*?)" + _CLAUSE, body, re.S):
        for var, prop in re.findall(r"\b(\w+)\.(\w+)\s*=(?!=)", m.group(1)):
            out.add((binds.get(var, "?"), prop))
    for m in re.finditer(r"\b(?:CREATE|MERGE)\b(.*?)" + _PATTERN, body, re.S):
        for _var, label, props in re.findall(r"[(\[](\w*):(\w+)\s*\{([^}]*)\}", m.group(1)):
            for prop in re.findall(r"(\w+)\s*:", props):
                out.add((label, prop))
    return out


def undeclared(pairs: set[tuple[str, str]], schema: schema_mod.Schema) -> list[str]:
    return sorted(f"{t}.{p}" for t, p in pairs if not schema.has_property(t, p))


def test_checker_catches_an_undeclared_property():
    sc = schema_mod.load()
    text = (
        "MERGE (m:ModelRun {id: $id}) SET m.status = 'x', m.colour = 'red' "
        "WITH m MATCH (g:Gene) CREATE (g)-[:PRIOR {kind: 'k', flavour: 1}]->(g)"
    )
    assert undeclared(written_properties(text), sc) == ["ModelRun.colour", "PRIOR.flavour"]
    assert undeclared(written_properties("MATCH (g:Gene) SET g.feat_text = [1.0]"), sc) == []


def test_every_property_written_by_a_cypher_file_is_in_the_schema():
    sc = schema_mod.load()
    bad = {}
    for f in sorted(CYPHER_DIR.rglob("*.cypher")):
        missing = undeclared(written_properties(f.read_text()), sc)
        if missing:
            bad[str(f.relative_to(CYPHER_DIR))] = missing
    assert not bad, f"properties written but not declared in kg/schema.yaml: {bad}"


def test_generated_statements_write_declared_properties_only():
    sc = schema_mod.load()
    # every label adapters may emit (Source nodes are the loader's own bookkeeping)
    stmts = [sc.node_merge(lb) for lb in sc.nodes if lb != "Source"]
    stmts += [
        sc.edge_merge(
            rt.type,
            rt.src,
            rt.dst,
            tuple(k for k, v in rt.properties.items() if v.startswith("list")),
        )
        for rt in sc.relationships.values()
    ]
    for q in stmts:
        assert q.kind == "generated"
        assert undeclared(written_properties(q.text), sc) == [], q.name


def test_schema_yaml_declares_what_the_code_writes():
    data = yaml.safe_load((Path(schema_mod.__file__).parent / "schema.yaml").read_text())
    assert {"attempt", "heartbeat"} <= set(data["nodes"]["ModelRun"]["properties"])
    assert {"stats", "updated"} <= set(data["nodes"]["Source"]["properties"])
    sc = schema_mod.load()
    assert sc.has_property("Gene", "feat_text") and sc.has_property("Gene", "feat_dna_model")
    assert not sc.has_property("Gene", "feat_Bad-Name")


@pytest.mark.parametrize(
    "hostile",
    [
        "TP53' OR 1=1 //",
        "x}) MATCH (n) DETACH DELETE n //",
        '"; DROP CONSTRAINT gene_ensembl_id_unique;',
    ],
)
def test_hostile_parameters_are_data(store, neo4j_settings, kg_fixtures, hostile):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    qf = cypher.load("gene_go_terms")
    assert store.read(qf, {"symbol": hostile, "limit": 5}) == []
    assert store.read(cy("MATCH (g:Gene) RETURN count(g) AS n"))[0]["n"] == 8


def test_param_parsing():
    assert parse_param("k=5") == ("k", 5)
    assert parse_param("k=0.5") == ("k", 0.5)
    assert parse_param("k=true") == ("k", True)
    assert parse_param('k=["a","b"]') == ("k", ["a", "b"])
    assert parse_param("k=TP53") == ("k", "TP53")
    with pytest.raises(ConfigError):
        parse_param("bad key=1")
