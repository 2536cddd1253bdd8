"""kg-retrieval's KG readers: GO term sets and undirected STRING neighbourhoods per gene, and
which sources were there to use (mini KG of tests/fixtures/kg, STRING edges written here)."""

from __future__ import annotations

from grapekg.kg.build import build
from grapekg.kg.export.gene_sets import knowledge_sets, string_neighbours
from tests.conftest import cy
from tests.test_loader import mini_paths

TP53, BRCA1, BRCA2, MDM2 = (
    "ENSG00000141510",
    "ENSG00000012048",
    "ENSG00000139618",
    "ENSG00000135679",
)


def test_go_sets_string_neighbours_and_used_sources(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go"], mini_paths(kg_fixtures))
    ids = [TP53, BRCA1, BRCA2, MDM2]
    k = knowledge_sets(store, ids)
    assert k.used == ["go"] and k.sets["string"] == {}
    assert k.sets["go"][TP53] == {"GO:0006281", "GO:0043065", "GO:0005634"}
    assert k.sets["go"][BRCA2] == {"GO:0006281"}
    assert BRCA1 in k.sets["go"]  # GO:0000001 (its NOT annotation is not loaded)
    assert "string: not loaded" in k.line(ids)
    # one edge per undirected pair, read from both ends; a score threshold drops weak links
    store.write(
        cy(
            "UNWIND $pairs AS p MATCH (a:Gene {ensembl_id: p[0]}), (b:Gene {ensembl_id: p[1]}) "
            "CREATE (a)-[:INTERACTS_WITH {score: toFloat(p[2]), source: 'string'}]->(b)"
        ),
        {"pairs": [[TP53, MDM2, 990], [BRCA1, BRCA2, 950], [TP53, BRCA2, 400]]},
    )
    nb = string_neighbours(store, ids)
    assert nb == {TP53: {MDM2, BRCA2}, MDM2: {TP53}, BRCA1: {BRCA2}, BRCA2: {BRCA1, TP53}}
    assert string_neighbours(store, ids, min_score=900)[TP53] == {MDM2}
    k2 = knowledge_sets(store, ids, ["string"], string_min_score=900)
    assert k2.used == ["string"] and k2.sets["string"][BRCA2] == {BRCA1}
