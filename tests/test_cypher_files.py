"""Every query file in cypher/ runs against the real server; parameters are data."""

from __future__ import annotations

import pytest

from grapekg import cypher
from grapekg.cli.query import parse_param
from grapekg.errors import ConfigError
from grapekg.kg import schema as schema_mod
from grapekg.kg.build import build
from tests.test_learned_queries import seed_learned
from tests.test_loader import mini_paths

SAMPLE = {"symbol": "TP53", "limit": 5, "name": "repair", "a": "TP53", "b": "BRCA2",
          "run": "run-1", "run_a": "run-1", "run_b": "run-2", "min_score": 0.0,
          "go_id": "GO:0006281", "min_hits": 1}


def test_every_file_has_a_header_and_runs(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    seed_learned(store)
    names = cypher.names()
    assert {"gene_go_terms", "pathway_genes_by_class", "shared_go_terms", "schema"} <= set(names)
    for name in names:
        qf = cypher.load(name)
        assert qf.description, f"{name} has no header comment"
        if name == "schema":
            continue
        rows = store.read(qf.text, {p: SAMPLE[p] for p in qf.params})
        assert rows, f"{name} returned no rows on the fixture graph"


def test_schema_file_is_generated_from_yaml():
    assert cypher.load("schema").text == schema_mod.render_schema_cypher(schema_mod.load())


@pytest.mark.parametrize("hostile", ["TP53' OR 1=1 //", "x}) MATCH (n) DETACH DELETE n //",
                                     "\"; DROP CONSTRAINT gene_ensembl_id_unique;"])
def test_hostile_parameters_are_data(store, neo4j_settings, kg_fixtures, hostile):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    qf = cypher.load("gene_go_terms")
    assert store.read(qf.text, {"symbol": hostile, "limit": 5}) == []
    assert store.read("MATCH (g:Gene) RETURN count(g) AS n")[0]["n"] == 8


def test_param_parsing():
    assert parse_param("k=5") == ("k", 5)
    assert parse_param("k=0.5") == ("k", 0.5)
    assert parse_param("k=true") == ("k", True)
    assert parse_param('k=["a","b"]') == ("k", ["a", "b"])
    assert parse_param("k=TP53") == ("k", "TP53")
    with pytest.raises(ConfigError):
        parse_param("bad key=1")
