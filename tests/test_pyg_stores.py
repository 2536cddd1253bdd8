"""The Neo4j-backed PyG FeatureStore / GraphStore on the real server, driven by
``torch_geometric.loader.NeighborLoader`` with ``data=(feature_store, graph_store)``."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.loader import NeighborLoader

from grapekg.errors import ConfigError
from grapekg.kg.build import build
from grapekg.kg.export.hetero import RELATIONS
from grapekg.kg.export.paging import assign_gene_index
from grapekg.kg.export.priors import GoJaccardParams, ReactomeParams, build_prior
from grapekg.kg.export.stores import Neo4jFeatureStore, Neo4jGraphStore, neo4j_stores
from grapekg.kg.store import Store
from tests.test_loader import mini_paths


@pytest.fixture
def graph(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    build_prior(store, GoJaccardParams(threshold=0.0))
    build_prior(store, ReactomeParams(level=2))
    return store


def connect(settings):
    return lambda: Store.connect(settings)


def db_edges(store):
    rows = store.read("MATCH (a:Gene)-[r:PRIOR]-(b:Gene) RETURN a.biotype_class AS ca, a.idx AS a, "
                      "b.biotype_class AS cb, b.idx AS b")
    return {(r["ca"], r["a"], r["cb"], r["b"]) for r in rows}


def test_graph_store_needs_an_index(graph, neo4j_settings):
    with pytest.raises(ConfigError):
        Neo4jGraphStore(connect(neo4j_settings), "go")


def test_feature_store_crud(graph, neo4j_settings):
    counts = assign_gene_index(graph)
    fs = Neo4jFeatureStore(connect(neo4j_settings), {"x": "emb"})
    assert fs.get_all_tensor_attrs() == []
    x = torch.arange(counts["c"] * 4, dtype=torch.float32).view(-1, 4)
    fs.put_tensor(x, group_name="c", attr_name="x", index=None)
    assert fs.get_tensor_size(group_name="c", attr_name="x") == (5, 4)
    assert torch.equal(fs.get_tensor(group_name="c", attr_name="x", index=None), x)
    idx = torch.tensor([3, 0, 3])
    assert torch.equal(fs.get_tensor(group_name="c", attr_name="x", index=idx), x[idx])
    assert [a.group_name for a in fs.get_all_tensor_attrs()] == ["c"]
    assert fs.remove_tensor(group_name="c", attr_name="x", index=None)
    assert fs.get_tensor_size(group_name="c", attr_name="x") is None


def test_graph_store_matches_database(graph, neo4j_settings):
    assign_gene_index(graph)
    gs = Neo4jGraphStore(connect(neo4j_settings), "go,reactome")
    attrs = gs.get_all_edge_attrs()
    assert [a.edge_type for a in attrs] == list(RELATIONS)
    expected = db_edges(graph)
    got = set()
    for rel in RELATIONS:
        row, col = gs.get_edge_index(edge_type=rel, layout="coo")
        got |= {(rel[0], int(s), rel[2], int(d)) for s, d in zip(row, col)}
    assert got == expected and got


def _has_sampler_backend() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(m) for m in ("pyg_lib", "torch_sparse"))


def test_neighbor_loader_pulls_csc_and_sizes_from_neo4j(graph, neo4j_settings):
    """The part of NeighborLoader that needs no compiled sampler: node counts from the feature
    store, CSC per edge type from the graph store, and one feature query per batch."""
    from torch_geometric.utils import index_to_mask  # noqa: F401 - PyG import sanity

    counts = assign_gene_index(graph)
    graph.write("MATCH (g:Gene) SET g.emb = [toFloat(g.idx), 1.0]")
    fs, gs = neo4j_stores(connect(neo4j_settings), "go,reactome", {"x": "emb"})
    loader = NeighborLoader(data=(fs, gs), num_neighbors=[-1], batch_size=2,
                            input_nodes=("c", torch.arange(counts["c"])))
    sampler = loader.node_sampler
    assert sampler.num_nodes == counts
    expected = db_edges(graph)
    got = set()
    for key, colptr in sampler.colptr_dict.items():
        rel = sampler.to_edge_type[key]
        row = sampler.row_dict[key]
        for d in range(len(colptr) - 1):
            for s in row[colptr[d]:colptr[d + 1]].tolist():
                got.add((rel[0], s, rel[2], d))
    assert got == expected
    xs = fs.multi_get_tensor([fs._tensor_attr_cls.cast(group_name=t, attr_name="x",
                                                       index=torch.tensor([0, 1]))
                              for t in ("c", "nc")])
    assert [x[:, 0].tolist() for x in xs] == [[0.0, 1.0], [0.0, 1.0]]


@pytest.mark.skipif(not _has_sampler_backend(),
                    reason="PyG's NeighborSampler needs pyg-lib or torch-sparse (no wheel for this torch)")
def test_neighbor_loader_on_neo4j(graph, neo4j_settings):
    counts = assign_gene_index(graph)
    for cls, n in counts.items():
        graph.write("MATCH (g:Gene {biotype_class: $c}) SET g.emb = [toFloat(g.idx), $k, 0.5]",
                    {"c": cls, "k": 1.0 if cls == "c" else 2.0})
    fs, gs = neo4j_stores(connect(neo4j_settings), "go,reactome", {"x": "emb"})
    loader = NeighborLoader(data=(fs, gs), num_neighbors=[-1, -1], batch_size=2,
                            input_nodes=("c", torch.arange(counts["c"])))
    expected = db_edges(graph)
    seeds = []
    for batch in loader:
        seeds += batch["c"].n_id[: batch["c"].batch_size].tolist()
        for t, k in (("c", 1.0), ("nc", 2.0)):
            if "x" in batch[t]:
                n_id = batch[t].n_id
                assert torch.equal(batch[t].x[:, 0], n_id.float())
                assert torch.all(batch[t].x[:, 1] == k)
        for rel in batch.edge_types:
            ei = batch[rel].edge_index
            for s, d in zip(ei[0].tolist(), ei[1].tolist()):
                gs_ = batch[rel[0]].n_id[s].item()
                gd = batch[rel[2]].n_id[d].item()
                assert (rel[0], gs_, rel[2], gd) in expected
    assert sorted(seeds) == list(range(counts["c"]))
