"""Gene feature vectors stored in the real Neo4j with a vector index."""

import numpy as np

from grapekg.kg import features
from grapekg.kg.build import build
from tests.conftest import cy
from tests.test_loader import mini_paths


def test_texts_vectors_roundtrip_and_vector_index(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    ids = ["ENSG00000141510", "ENSG00000012048", "ENSG00000139618", "ENSG00000229807"]
    plain = features.gene_texts(store, ids)
    assert plain["ENSG00000141510"] == "tumor protein p53"
    rich = features.gene_texts(store, ids, enrich=True)
    assert "DNA repair" in rich["ENSG00000141510"] and "Pathways:" in rich["ENSG00000141510"]
    vec = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [np.nan] * 3], dtype=np.float32)
    assert features.genes_missing(store, ids, "text", "m1") == ids
    n = features.write_vectors(store, "text", "m1", ids, vec)
    assert n == 3  # the all-NaN row (no input) is not stored
    assert features.genes_missing(store, ids, "text", "m1") == ["ENSG00000229807"]
    assert features.genes_missing(store, ids, "text", "m2") == ids
    mat, mask = features.read_vectors(store, "text", ids)
    assert mask.tolist() == [True, True, True, False]
    assert np.allclose(mat[:3], vec[:3])
    store.run_auto(cy("CALL db.awaitIndexes(60)"))
    near = features.nearest(store, "text", "ENSG00000141510", k=2)
    assert near[0]["symbol"] == "BRCA1"


def test_vector_index_follows_the_encoder_width(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    ids = ["ENSG00000141510", "ENSG00000012048", "ENSG00000139618"]
    features.write_vectors(store, "probe", "m5", ids, np.eye(3, 5, dtype=np.float32))
    features.write_vectors(
        store, "probe", "m3", ids, np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0]], np.float32)
    )
    store.run_auto(cy("CALL db.awaitIndexes(60)"))
    dims = store.read(
        cy(
            "SHOW VECTOR INDEXES YIELD name, options WHERE name = 'gene_feat_probe' "
            "RETURN options.indexConfig['vector.dimensions'] AS d"
        )
    )
    assert dims == [{"d": 3}]
    assert features.nearest(store, "probe", "ENSG00000141510", k=1)[0]["symbol"] == "BRCA1"
