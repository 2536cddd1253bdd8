"""The pure-torch neighbour sampler on in-memory graphs: exact full neighbourhoods, fan-out
bounds, uniformity, seeding, and the PyG loaders it plugs into. (Its run over the Neo4j
stores is in test_pyg_stores.py.)"""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data, HeteroData
from torch_geometric.loader import LinkNeighborLoader, NeighborLoader

from grapekg.kg.export import sampler as sampler_mod
from grapekg.kg.export.sampler import TorchNeighborSampler, neighbor_loader, sample_uniform


def hetero(seed: int = 0) -> HeteroData:
    g = torch.Generator().manual_seed(seed)
    d = HeteroData()
    d["a"].x = torch.arange(40, dtype=torch.float32).view(-1, 1)
    d["b"].x = 1000 + torch.arange(25, dtype=torch.float32).view(-1, 1)
    for rel, (ns, nd, m) in {
        ("a", "r", "b"): (40, 25, 160),
        ("b", "s", "a"): (25, 40, 120),
        ("a", "t", "a"): (40, 40, 150),
    }.items():
        ei = torch.stack(
            [torch.randint(0, ns, (m,), generator=g), torch.randint(0, nd, (m,), generator=g)]
        )
        d[rel].edge_index = ei
        d[rel].w = torch.arange(m)
    return d


def reference(d: HeteroData, seeds: dict[str, list[int]], hops: int):
    """Directional full-neighbourhood sampling by brute force: node sets and global edges."""
    nodes = {t: list(seeds.get(t, [])) for t in d.node_types}
    frontier = {t: set(v) for t, v in nodes.items()}
    edges = {rel: set() for rel in d.edge_types}
    for _ in range(hops):
        new = {t: [] for t in d.node_types}
        for rel in d.edge_types:
            for eid, (s, t) in enumerate(d[rel].edge_index.t().tolist()):
                if t in frontier[rel[2]]:
                    edges[rel].add(eid)
                    if s not in nodes[rel[0]] and s not in new[rel[0]]:
                        new[rel[0]].append(s)
        for t in d.node_types:
            nodes[t] += new[t]
            frontier[t] = set(new[t])
    return {t: set(v) for t, v in nodes.items()}, edges


def test_full_neighbourhood_is_exact():
    d = hetero()
    seeds = [5, 1, 30]
    loader = neighbor_loader(d, [-1, -1], input_nodes=("a", torch.tensor(seeds)), batch_size=3)
    batch = next(iter(loader))
    want_nodes, want_edges = reference(d, {"a": seeds}, 2)
    assert batch["a"].n_id[:3].tolist() == seeds
    assert {t: set(batch[t].n_id.tolist()) for t in d.node_types} == want_nodes
    for t in d.node_types:
        assert batch[t].n_id.unique().numel() == batch[t].n_id.numel()
        assert torch.equal(batch[t].x, d[t].x[batch[t].n_id])
    for rel in d.edge_types:
        e_id = batch[rel].e_id
        assert set(e_id.tolist()) == want_edges[rel] and e_id.unique().numel() == e_id.numel()
        ei = batch[rel].edge_index  # local indices point at the right global nodes
        glob = torch.stack([batch[rel[0]].n_id[ei[0]], batch[rel[2]].n_id[ei[1]]])
        assert torch.equal(glob, d[rel].edge_index[:, e_id])
        assert torch.equal(batch[rel].w, d[rel].w[e_id])
        assert sum(batch[rel].num_sampled_edges) == e_id.numel()
    for t in d.node_types:
        assert sum(batch[t].num_sampled_nodes) == batch[t].num_nodes


@pytest.mark.parametrize("replace", [False, True])
def test_fanout_bounds(replace):
    d = hetero(1)
    k = [3, 2]
    loader = neighbor_loader(d, k, input_nodes="b", batch_size=4, replace=replace, seed=3)
    seen = []
    for batch in loader:
        seen += batch["b"].n_id[: batch["b"].batch_size].tolist()
        for rel in d.edge_types:
            ei, e_id = batch[rel].edge_index, batch[rel].e_id
            glob = torch.stack([batch[rel[0]].n_id[ei[0]], batch[rel[2]].n_id[ei[1]]])
            assert torch.equal(glob, d[rel].edge_index[:, e_id])
            if ei.numel():
                per_dst = torch.bincount(ei[1])
                assert int(per_dst.max()) <= k[0]  # each node is expanded in one hop only
            if not replace:
                assert e_id.unique().numel() == e_id.numel()
    assert seen == list(range(25))


def test_uniform_without_and_with_replacement():
    # node 0 has 5 in-neighbours (1..5); k = 2 of them per draw
    colptr = {"r": torch.tensor([0, 5, 5, 5, 5, 5, 5])}
    row = {"r": torch.tensor([1, 2, 3, 4, 5])}
    gen = torch.Generator().manual_seed(0)
    pairs, counts = {}, torch.zeros(6)
    n = 3000
    for _ in range(n):
        node, r, c, e, _, _ = sample_uniform(
            colptr,
            row,
            [("r", "v", "v")],
            ["v"],
            {"v": torch.tensor([0])},
            {"r": [2]},
            generator=gen,
        )
        got = node["v"][r["r"]]
        assert got.numel() == 2 and got[0] < got[1]  # distinct, in CSC order
        pairs[tuple(got.tolist())] = pairs.get(tuple(got.tolist()), 0) + 1
        counts[got] += 1
    assert len(pairs) == 10  # every 2-subset of 5 occurs ...
    assert all(abs(v / n - 0.1) < 0.03 for v in pairs.values())  # ... about equally often
    assert torch.allclose(counts[1:] / n, torch.full((5,), 0.4), atol=0.05)
    node, r, c, e, _, n_e = sample_uniform(
        colptr,
        row,
        [("r", "v", "v")],
        ["v"],
        {"v": torch.tensor([0, 1])},
        {"r": [7]},
        replace=True,
        generator=gen,
    )
    assert n_e["r"] == [7] and c["r"].tolist() == [0] * 7  # node 1 has no in-edges


def test_seeded_and_reproducible():
    d = hetero(2)

    def epoch(seed):
        return [
            (b["a"].n_id.tolist(), b["b"].n_id.tolist())
            for b in neighbor_loader(d, [2, 2], input_nodes="a", batch_size=8, seed=seed)
        ]

    assert epoch(11) == epoch(11)
    assert epoch(11) != epoch(12)
    torch.manual_seed(5)
    a = epoch(None)
    torch.manual_seed(5)
    assert epoch(None) == a


def test_sorted_id_map_matches_dense(monkeypatch):
    d = hetero(3)

    def epoch():
        return [
            [b[t].n_id.tolist() for t in d.node_types] + [b[r].e_id.tolist() for r in d.edge_types]
            for b in neighbor_loader(d, [3, 3], input_nodes="a", batch_size=6, seed=1)
        ]

    dense = epoch()
    monkeypatch.setattr(sampler_mod, "DENSE_LIMIT", 0)
    assert epoch() == dense


def test_homogeneous_bidirectional_link_and_workers():
    g = torch.Generator().manual_seed(0)
    data = Data(
        x=torch.arange(30, dtype=torch.float32),
        edge_index=torch.randint(0, 30, (2, 120), generator=g),
    )
    for batch in neighbor_loader(data, [3, 3], batch_size=7, seed=0):
        assert torch.equal(batch.x, batch.n_id.float())
        assert torch.equal(batch.n_id[batch.edge_index], data.edge_index[:, batch.e_id])
    d = hetero(4)
    for batch in neighbor_loader(
        d, [2, 2], input_nodes="a", batch_size=8, subgraph_type="bidirectional"
    ):
        assert batch["a"].batch_size <= 8
    sampler = TorchNeighborSampler(d, [2, 2], seed=0)
    link = LinkNeighborLoader(
        d,
        num_neighbors=[2, 2],
        edge_label_index=(("a", "r", "b"), None),
        batch_size=32,
        neighbor_sampler=sampler,
    )
    labels = 0
    for batch in link:
        eli = batch["a", "r", "b"].edge_label_index
        labels += eli.shape[1]
        glob = torch.stack([batch["a"].n_id[eli[0]], batch["b"].n_id[eli[1]]])
        assert torch.equal(glob, d["a", "r", "b"].edge_index[:, batch["a", "r", "b"].input_id])
    assert labels == d["a", "r", "b"].num_edges
    # two DataLoader workers: every seed once, workers draw different streams
    loader = neighbor_loader(d, [2, 2], input_nodes="a", batch_size=10, seed=0, num_workers=2)
    seeds = sorted(s for b in loader for s in b["a"].n_id[: b["a"].batch_size].tolist())
    assert seeds == list(range(40))


def test_unsupported_options_are_refused():
    d = hetero()
    for kw in (
        {"disjoint": True},
        {"subgraph_type": "induced"},
        {"time_attr": "t"},
        {"weight_attr": "w"},
        {"sample_direction": "backward"},
    ):
        with pytest.raises(NotImplementedError):
            TorchNeighborSampler(d, [2], **kw)
    with pytest.raises(TypeError):
        TorchNeighborSampler(d, [2], bogus=1)
    uneven = {("a", "r", "b"): [2], ("b", "s", "a"): [2, 2], ("a", "t", "a"): [1]}
    with pytest.raises(ValueError, match="hops"):
        next(
            iter(
                NeighborLoader(
                    d, uneven, input_nodes="a", neighbor_sampler=TorchNeighborSampler(d, uneven)
                )
            )
        )
