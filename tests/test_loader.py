"""The loader against the real Neo4j: counts, idempotence, atomic batches, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grapekg.errors import ConfigError, InputError
from grapekg.kg import schema as schema_mod
from grapekg.kg.build import build
from grapekg.kg.loader import Loader, kg_counts
from grapekg.kg.records import Edge, Node, SourceInfo
from tests.conftest import cy


def mini_paths(fx: Path) -> dict[str, dict[str, Path]]:
    return {
        "ensembl": {"table": fx / "genes.tsv"},
        "go": {"obo": fx / "mini.obo", "gaf": fx / "mini.gaf"},
        "reactome": {"gmt": fx / "mini.gmt", "relations": fx / "relations.txt"},
    }


def test_build_counts_and_idempotence(store, neo4j_settings, kg_fixtures):
    paths = mini_paths(kg_fixtures)
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], paths, batch_size=3)
    c1 = kg_counts(store, schema_mod.load())
    assert c1["labels"] == {"Gene": 8, "GOTerm": 8, "Pathway": 4, "Source": 3}
    assert c1["biotype_class"] == {"c": 5, "nc": 3}
    assert c1["relationships"]["IS_A"] == 5
    assert c1["relationships"]["PART_OF"] == 1
    assert c1["relationships"]["REGULATES"] == 2
    assert c1["relationships"]["ANNOTATED_WITH"] == 7
    assert c1["relationships"]["CHILD_OF"] == 2
    assert {s["status"] for s in c1["sources"]} == {"complete"}
    ev = store.read(
        cy(
            "MATCH (:Gene {symbol:'TP53'})-[a:ANNOTATED_WITH]->(:GOTerm {id:'GO:0006281'}) "
            "RETURN a.evidence AS ev, a.source AS src"
        )
    )
    assert ev == [{"ev": ["IDA", "IMP"], "src": "go@2020-01-01"}]
    # a second run changes nothing
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], paths, batch_size=3)
    assert kg_counts(store, schema_mod.load()) == c1
    # provenance on every node and relationship
    assert (
        store.read(cy("MATCH (n) WHERE NOT n:Source AND n.source IS NULL RETURN count(n) AS n"))[0][
            "n"
        ]
        == 0
    )
    assert (
        store.read(cy("MATCH ()-[r]->() WHERE r.source IS NULL RETURN count(r) AS n"))[0]["n"] == 0
    )


def test_constraints_exist(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    names = {r["name"] for r in store.read(cy("SHOW CONSTRAINTS YIELD name RETURN name"))}
    assert {
        "gene_ensembl_id_unique",
        "goterm_id_unique",
        "pathway_id_unique",
        "source_name_version_unique",
    } <= names


def test_bad_line_leaves_earlier_sources_and_no_partial_batch(
    store, neo4j_settings, kg_fixtures, tmp_path
):
    paths = mini_paths(kg_fixtures)
    gaf = tmp_path / "bad.gaf"
    lines = (kg_fixtures / "mini.gaf").read_text().splitlines()
    lines[-1] = "UniProtKB\tP04637\tTP53"  # truncated last line
    gaf.write_text("\n".join(lines) + "\n")
    paths["go"]["gaf"] = gaf
    with pytest.raises(InputError) as ei:
        build(store, neo4j_settings, ["ensembl", "go"], paths, batch_size=100)
    assert ei.value.line == len(lines)
    c = kg_counts(store, schema_mod.load())
    assert c["labels"]["Gene"] == 8  # the earlier source is intact
    assert c["relationships"].get("ANNOTATED_WITH", 0) == 0  # nothing of the failing batch
    status = {s["name"]: s["status"] for s in c["sources"]}
    assert status == {"ensembl": "complete"}  # the failed attempt left no record
    # fixing the file and running again completes the load
    paths["go"]["gaf"] = kg_fixtures / "mini.gaf"
    build(store, neo4j_settings, ["ensembl", "go"], paths)
    c = kg_counts(store, schema_mod.load())
    assert c["relationships"]["ANNOTATED_WITH"] == 7
    assert {s["status"] for s in c["sources"]} == {"complete"}


def test_edges_to_missing_nodes_are_counted(store):
    sc = schema_mod.load()
    src = SourceInfo("t", "1", "CC0")
    recs = [
        Node("Gene", "ENSG00000000001", {"symbol": "A"}, src.key),
        Edge(
            "ANNOTATED_WITH",
            "Gene",
            "ENSG00000000001",
            "GOTerm",
            "GO:9999999",
            {"evidence": ["IEA"]},
            src.key,
        ),
    ]
    rep = Loader(store, sc).load(src, iter(recs))
    assert rep.nodes["Gene"] == 1
    assert rep.edges["ANNOTATED_WITH"] == 0
    assert rep.edges_missing_end["ANNOTATED_WITH"] == 1


def test_unknown_types_are_skipped_and_counted(store):
    sc = schema_mod.load()
    src = SourceInfo("t", "1", "CC0")
    rep = Loader(store, sc).load(src, iter([Node("Protein", "P1", {}, src.key)]))
    assert rep.skipped_unknown_type["Protein"] == 1
    assert store.read(cy("MATCH (n:Protein) RETURN count(n) AS n"))[0]["n"] == 0


def test_hostile_values_are_data(store):
    sc = schema_mod.load()
    src = SourceInfo("t", "1", "CC0")
    evil = "x'}) DETACH DELETE n //"
    Loader(store, sc).load(src, iter([Node("Gene", "ENSG00000000002", {"symbol": evil}, src.key)]))
    rows = store.read(cy("MATCH (g:Gene {ensembl_id: 'ENSG00000000002'}) RETURN g.symbol AS s"))
    assert rows == [{"s": evil}]


def test_schema_generates_the_gene_relations_and_statements():
    sc = schema_mod.load()
    assert sc.gene_node_types() == ("c", "nc")
    assert sc.gene_edge_types() == (
        ("c", "cc", "c"),
        ("c", "cn", "nc"),
        ("nc", "rev_cn", "c"),
        ("nc", "nn", "nc"),
    )
    assert sc.gene_relation("nc", "c") == sc.gene_relation("c", "nc") == "cn"
    assert sc.relation_of_classes() == {"c>c": "cc", "c>nc": "cn", "nc>c": "cn", "nc>nc": "nn"}
    on_demand = [q.text for q in sc.on_demand_ddl()]
    assert on_demand[0] == "CREATE INDEX gene_idx IF NOT EXISTS FOR (n:Gene) ON (n.idx)"
    assert set(on_demand) <= set(sc.constraint_statements()) and len(on_demand) == 8
    assert all(q.kind == "generated" for q in sc.ddl() + sc.on_demand_ddl())
    with pytest.raises(ConfigError):
        sc.node_merge("Protein")
    with pytest.raises(ConfigError):
        sc.edge_merge("ANNOTATED_WITH", "Gene", "GOTerm", ("colour",))
    with pytest.raises(ConfigError):
        sc.count_relationships("NOT_A_TYPE")
    with pytest.raises(ConfigError):
        sc.vector_index("Bad Name")


def test_schema_rejects_gene_relations_over_unknown_classes():
    data = yaml.safe_load((Path(schema_mod.__file__).parent / "schema.yaml").read_text())
    data["gene_relations"].append(["c", "cx", "x"])
    with pytest.raises(ConfigError, match="gene relation"):
        schema_mod.parse(data)
