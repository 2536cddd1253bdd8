"""Export of the typed c/nc graph from the real Neo4j: gene sets, hops, edge kinds, the
four relations, id maps, features, snapshot ids and the pyg / dgl / npz formats."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grapekg.errors import ConfigError, InputError
from grapekg.kg.build import build
from grapekg.kg.export.formats import load_npz, save, to_dgl_dict, to_pyg
from grapekg.kg.export.hetero import RELATIONS
from grapekg.kg.export.reader import EdgeSelection, export_graph
from tests.conftest import cy
from tests.test_learned_queries import MDM2, TP53, XIST, seed_learned
from tests.test_loader import mini_paths


@pytest.fixture
def seeded(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    seed_learned(store)
    store.write(
        cy(
            "MATCH (g:Gene) WHERE g.biotype_class = 'c' "
            "SET g.emb = [toFloat(size(g.symbol)), 1.0, 2.0]"
        )
    )
    return store


def pairs(g, rel):
    es = g.edges[rel]
    ids_s, ids_d = g.node_ids[rel[0]], g.node_ids[rel[2]]
    return {
        (ids_s[s], ids_d[d], g.kind_names[k])
        for s, d, k in zip(es.src, es.dst, es.kind, strict=True)
    }


def test_relations_are_typed_and_undirected(seeded):
    g = export_graph(seeded, "all", "go,reactome,learned:run-1", feature="emb")
    assert g.counts()["nodes"] == {"c": 5, "nc": 3}
    assert list(g.edges) == list(RELATIONS)
    db_prior = {
        (r["a"], r["b"], r["k"])
        for r in seeded.read(
            cy(
                "MATCH (a:Gene)-[r:PRIOR]->(b:Gene) "
                "RETURN a.ensembl_id AS a, b.ensembl_id AS b, r.kind AS k"
            )
        )
    }
    cc = pairs(g, ("c", "cc", "c"))
    cn = pairs(g, ("c", "cn", "nc"))
    rev = pairs(g, ("nc", "rev_cn", "c"))
    nn = pairs(g, ("nc", "nn", "nc"))
    assert all((b, a, k) in cc for a, b, k in cc)  # both directions
    assert all((b, a, k) in nn for a, b, k in nn)
    assert rev == {(b, a, k) for a, b, k in cn}
    assert (TP53, XIST, "reactome") in cn and (TP53, XIST, "PREDICTED_REGULATES@run-1") in cn
    assert (MDM2, TP53, "PREDICTED_REGULATES@run-1") in cc
    # every prior edge of the database is in the export (as the right relation), nothing else
    exported = {(a, b, k) for a, b, k in cc | cn | rev | nn if not k.endswith("@run-1")}
    assert {(a, b, k) for a, b, k in db_prior} <= exported
    assert all((a, b, k) in db_prior or (b, a, k) in db_prior for a, b, k in exported)
    # features: coding genes have them, others are zeros with has_x False
    assert g.x["c"].shape == (5, 3) and g.has_x["c"].all()
    assert g.x["nc"] is None and not g.has_x["nc"].any()
    i = g.node_ids["c"].index(TP53)
    assert g.x["c"][i].tolist() == [4.0, 1.0, 2.0]
    assert g.node_ids["c"] == sorted(g.node_ids["c"])


def test_snapshot_id_is_stable_and_sensitive(seeded):
    a = export_graph(seeded, "all", "go,reactome")
    b = export_graph(seeded, "all", "go,reactome")
    assert a.snapshot_id == b.snapshot_id and len(a.snapshot_id) == 64
    c = export_graph(seeded, "all", "go")
    assert c.snapshot_id != a.snapshot_id
    seeded.write(
        cy(
            "MATCH (a:Gene {ensembl_id: $a}), (b:Gene {ensembl_id: $b}) "
            "CREATE (a)-[:PRIOR {kind: 'go_jaccard', weight: 1.0, params_hash: $h}]->(b)"
        ),
        {"a": XIST, "b": MDM2, "h": a.meta["provenance"]["priors"]["go_jaccard"]},
    )
    assert export_graph(seeded, "all", "go,reactome").snapshot_id != a.snapshot_id


def test_gene_file_hops_and_dataset(seeded, tmp_path):
    f = tmp_path / "genes.txt"
    f.write_text("symbol\nxist\n# comment\nNOT_A_GENE\n")
    g0 = export_graph(seeded, str(f), "reactome")
    assert g0.node_ids == {"c": [], "nc": [XIST]}
    assert g0.meta["params"]["genes"]["unresolved"] == 1
    g1 = export_graph(seeded, str(f), "reactome", hops=1)
    assert set(g1.node_ids["c"]) == {TP53, MDM2}
    with pytest.raises(ConfigError):
        export_graph(seeded, "dataset:norman", "go")
    seeded.write(
        cy(
            "CREATE (d:Dataset {name: 'norman'}) WITH d MATCH (g:Gene) WHERE g.symbol IN "
            "['TP53', 'XIST'] CREATE (g)-[:MEASURED_IN]->(d)"
        )
    )
    g2 = export_graph(seeded, "dataset:norman", "reactome")
    assert g2.node_ids == {"c": [TP53], "nc": [XIST]}
    assert len(g2.edges[("c", "cn", "nc")]) == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(InputError):
        export_graph(seeded, str(empty), "go")


def test_edge_selection_is_validated(seeded):
    for bad in ("", "nope", "learned:", "ANNOTATED_WITH; DROP", "PRIOR"):
        with pytest.raises(ConfigError):
            export_graph(seeded, "all", bad)
    with pytest.raises(ConfigError):
        export_graph(seeded, "all", "INTERACTS_WITH")  # no such type in this graph
    with pytest.raises(ConfigError):
        export_graph(seeded, "all", "learned:run-9")
    with pytest.raises(ConfigError):
        export_graph(seeded, "all", "go", feature="emb} RETURN 1 //")
    assert EdgeSelection.parse("go,learned:r,INTERACTS_WITH").types == [
        "PRIOR",
        "INTERACTS_WITH",
        "SIMILAR_TO",
        "KHOP_LINK",
        "PREDICTED_REGULATES",
    ]


def test_adapter_gene_gene_type(seeded):
    seeded.write(
        cy(
            "MATCH (a:Gene {symbol: 'TP53'}), (b:Gene {symbol: 'NEAT1'}) "
            "CREATE (a)-[:INTERACTS_WITH {score: 0.25}]->(b)"
        )
    )
    g = export_graph(seeded, "all", "INTERACTS_WITH")
    cn = g.edges[("c", "cn", "nc")]
    assert (
        len(cn) == 1 and cn.weight[0] == pytest.approx(0.25) and g.kind_names == ["INTERACTS_WITH"]
    )


def test_formats_round_trip(seeded, tmp_path):
    g = export_graph(seeded, "all", "go,reactome,learned:run-1", feature="emb")
    data = to_pyg(g)
    assert data.snapshot_id == g.snapshot_id
    assert set(data.edge_types) == set(RELATIONS)
    assert data["c"].x.shape == (5, 3) and data["nc"].num_nodes == 3
    assert data["c", "cc", "c"].edge_index.shape[1] == len(g.edges[("c", "cc", "c")])
    save(g, "pyg", tmp_path / "g.pt")
    back = torch.load(tmp_path / "g.pt", weights_only=False)
    assert back.snapshot_id == g.snapshot_id and back["c"].ensembl_id == g.node_ids["c"]
    d = to_dgl_dict(g)
    assert set(d["graph"]) == set(RELATIONS) and d["snapshot_id"] == g.snapshot_id
    u, v = d["graph"][("c", "cn", "nc")]
    assert u.dtype == torch.int64 and len(u) == len(v) == len(g.edges[("c", "cn", "nc")])
    save(g, "dgl", tmp_path / "g.dgl.pt")
    out = save(g, "npz", tmp_path / "bundle")
    h = load_npz(out)
    assert h.snapshot_id == g.snapshot_id and h.node_ids == g.node_ids
    assert h.kind_names == g.kind_names
    for rel in RELATIONS:
        assert np.array_equal(h.edges[rel].src, g.edges[rel].src)
        assert np.array_equal(h.edges[rel].kind, g.edges[rel].kind)
    assert np.array_equal(h.x["c"], g.x["c"])
    import pyarrow.parquet as pq

    meta = pq.read_schema(out / "edges.parquet").metadata
    assert meta[b"snapshot_id"].decode() == g.snapshot_id
    with pytest.raises(ConfigError):
        save(g, "graphml", tmp_path / "x")
