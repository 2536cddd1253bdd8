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
from grapekg.kg.export.sampler import TorchNeighborSampler, neighbor_loader
from grapekg.kg.export.stores import Neo4jFeatureStore, Neo4jGraphStore, neo4j_stores
from grapekg.kg.store import Store
from tests.conftest import cy
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
    rows = store.read(
        cy(
            "MATCH (a:Gene)-[r:PRIOR]-(b:Gene) RETURN a.biotype_class AS ca, a.idx AS a, "
            "b.biotype_class AS cb, b.idx AS b"
        )
    )
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
        got |= {(rel[0], int(s), rel[2], int(d)) for s, d in zip(row, col, strict=True)}
    assert got == expected and got


def test_neighbor_loader_pulls_csc_and_sizes_from_neo4j(graph, neo4j_settings):
    """The part of NeighborLoader that needs no compiled sampler: node counts from the feature
    store, CSC per edge type from the graph store, and one feature query per batch."""
    from torch_geometric.utils import index_to_mask  # noqa: F401 - PyG import sanity

    counts = assign_gene_index(graph)
    graph.write(cy("MATCH (g:Gene) SET g.emb = [toFloat(g.idx), 1.0]"))
    fs, gs = neo4j_stores(connect(neo4j_settings), "go,reactome", {"x": "emb"})
    loader = NeighborLoader(
        data=(fs, gs),
        num_neighbors=[-1],
        batch_size=2,
        input_nodes=("c", torch.arange(counts["c"])),
    )
    sampler = loader.node_sampler
    assert sampler.num_nodes == counts
    expected = db_edges(graph)
    got = set()
    for key, colptr in sampler.colptr_dict.items():
        rel = sampler.to_edge_type[key]
        row = sampler.row_dict[key]
        for d in range(len(colptr) - 1):
            for s in row[colptr[d] : colptr[d + 1]].tolist():
                got.add((rel[0], s, rel[2], d))
    assert got == expected
    xs = fs.multi_get_tensor(
        [
            fs._tensor_attr_cls.cast(group_name=t, attr_name="x", index=torch.tensor([0, 1]))
            for t in ("c", "nc")
        ]
    )
    assert [x[:, 0].tolist() for x in xs] == [[0.0, 1.0], [0.0, 1.0]]


def db_features(store):
    rows = store.read(cy("MATCH (g:Gene) RETURN g.biotype_class AS t, g.idx AS i, g.emb AS x"))
    return {(r["t"], r["i"]): r["x"] for r in rows}


@pytest.fixture
def featured(graph):
    """The mini graph with an idx and distinct 3-d features (from the symbol) on every gene."""
    counts = assign_gene_index(graph)
    graph.write(
        cy(
            "MATCH (g:Gene) SET g.emb = [toFloat(size(g.symbol)), toFloat(g.idx) + 0.25, "
            "CASE g.biotype_class WHEN 'c' THEN 1.0 ELSE -1.0 END]"
        )
    )
    return graph, counts


def _epoch(loader, graph, input_type, expected_seeds):
    """Checks every batch against the database; returns the sampled (type, global) edges."""
    edges, feats = db_edges(graph), db_features(graph)
    seen_seeds: list[int] = []
    sampled = []
    for batch in loader:
        bs = batch[input_type].batch_size
        n_id = {t: batch[t].n_id for t in batch.node_types}
        # the seeds come first, in input order
        seeds = n_id[input_type][:bs].tolist()
        assert seeds == expected_seeds[len(seen_seeds) : len(seen_seeds) + bs]
        seen_seeds += seeds
        for t in batch.node_types:
            assert n_id[t].unique().numel() == n_id[t].numel()  # each node once
            want = torch.tensor([feats[(t, i)] for i in n_id[t].tolist()], dtype=torch.float32)
            assert torch.equal(batch[t].x, want.view(-1, 3)), t  # features = the DB values
        for rel in batch.edge_types:
            ei = batch[rel].edge_index
            src, dst = n_id[rel[0]][ei[0]].tolist(), n_id[rel[2]][ei[1]].tolist()
            for s, d in zip(src, dst, strict=True):
                assert (rel[0], s, rel[2], d) in edges  # every sampled edge is in the DB
                sampled.append((rel, s, d, bs, seeds))
        yield batch, sampled
        sampled = []
    assert seen_seeds == expected_seeds


def test_neighbor_loader_on_neo4j(featured, neo4j_settings):
    """A full NeighborLoader epoch over the Neo4j stores with the pure-torch sampler."""
    graph, counts = featured
    fs, gs = neo4j_stores(connect(neo4j_settings), "go,reactome", {"x": "emb"})
    edges = db_edges(graph)
    order = list(range(counts["c"]))[::-1]  # not the index order, to see the seeds kept in order
    sampler = TorchNeighborSampler((fs, gs), num_neighbors=[-1, -1], seed=0)
    assert sampler.num_nodes == counts and sampler.node_types == ["c", "nc"]
    loader = NeighborLoader(
        data=(fs, gs),
        num_neighbors=[-1, -1],
        batch_size=2,
        input_nodes=("c", torch.tensor(order)),
        neighbor_sampler=sampler,
    )
    batches = 0
    for batch, sampled in _epoch(loader, graph, "c", order):
        batches += 1
        seeds = batch["c"].n_id[: batch["c"].batch_size].tolist()
        # all neighbours at hop 1: exactly the DB edges into the seeds
        into_seeds = {(rel, s, d) for rel, s, d, _, _ in sampled if rel[2] == "c" and d in seeds}
        assert into_seeds == {
            (rel, s, d)
            for rel in RELATIONS
            if rel[2] == "c"
            for (a, s, b, d) in edges
            if (a, b) == (rel[0], rel[2]) and d in seeds
        }
        assert sum(batch["c"].num_sampled_nodes) == batch["c"].num_nodes
    assert batches == -(-counts["c"] // 2)


def test_neighbor_loader_fanout_and_seed(featured, neo4j_settings):
    """A fan-out of 1 per hop: at most one in-edge per node and relation, from nc seeds too;
    the same seed gives the same epoch, another seed may not."""
    graph, counts = featured
    data = neo4j_stores(connect(neo4j_settings), "go,reactome", {"x": "emb"})

    def epoch(seed):
        loader = neighbor_loader(data, [1, 1], input_nodes="nc", batch_size=2, seed=seed)
        out = []
        for batch, sampled in _epoch(loader, graph, "nc", list(range(counts["nc"]))):
            for rel in batch.edge_types:
                col = batch[rel].edge_index[1]
                assert col.numel() == 0 or int(torch.bincount(col).max()) <= 1
                hop1 = batch[rel].num_sampled_edges[0]  # only the nc seeds are expanded at hop 1
                assert hop1 <= (batch["nc"].batch_size if rel[2] == "nc" else 0)
            out.append(sorted((rel, s, d) for rel, s, d, _, _ in sampled))
        return out

    first = epoch(7)
    assert first == epoch(7)
    assert any(first) and len({str(epoch(s)) for s in range(6)}) > 1
