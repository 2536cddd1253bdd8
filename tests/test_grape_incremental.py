"""Exactness of the L-hop incremental propagation against the full HGAT pass."""

from __future__ import annotations

import pytest
import torch

from grapekg.model.grape.graph import directed_edge_types
from grapekg.model.grape.hetero import HeteroGAT, split_relations
from grapekg.model.grape.incremental import Adjacency, incremental_forward
from grapekg.model.grape.similarity import coalesce_undirected

EDGE_TYPES = directed_edge_types([("c", "cc", "c"), ("c", "cn", "nc"), ("nc", "nn", "nc")])


def _random_graph(n: int, m: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = coalesce_undirected(ei[:, ei[0] != ei[1]], n)
    is_c = torch.rand(n, generator=g) < 0.6
    return ei, is_c


@pytest.mark.parametrize("homogeneous", [False, True])
def test_incremental_equals_full_pass(homogeneous: bool) -> None:
    torch.manual_seed(0)
    n, q = 120, 16
    ei, is_c = _random_graph(n, 200, seed=1)
    rel = split_relations(
        ei, torch.rand(ei.shape[1]), is_c, homogeneous=homogeneous, edge_types=EDGE_TYPES
    )
    hgat = HeteroGAT(
        q, heads=4, layers=2, dropout=0.3, homogeneous=homogeneous, edge_types=EDGE_TYPES
    ).eval()
    x0 = torch.randn(n, q)
    mask = torch.randn(q)
    conds = [[3], [17], [5, 90], [0, 119], [40, 41], []]
    with torch.no_grad():
        base = [h[0] for h in hgat(x0[None], rel, is_c)]
        changed = incremental_forward(hgat, base, rel, is_c, conds, mask)
        xs = x0[None].repeat(len(conds), 1, 1)
        for i, genes in enumerate(conds):
            xs[i, genes] = mask
        full = hgat(xs, rel, is_c)[-1]
    adj = Adjacency(rel, n)
    for i, (nodes, vals) in enumerate(changed):
        inc = base[-1].clone()
        inc[nodes] = vals
        assert (inc - full[i]).abs().max() < 1e-5
        expect = torch.as_tensor(conds[i], dtype=torch.long)
        for _ in range(2):
            expect = adj.expand(torch.unique(expect))
        assert torch.equal(nodes, expect)  # exactly the 2-hop neighbourhood
        assert nodes.numel() < n or not conds[i]  # sparse graph: a strict subset


def test_incremental_backward_runs() -> None:
    n, q = 40, 8
    ei, is_c = _random_graph(n, 60, seed=2)
    rel = split_relations(ei, None, is_c, edge_types=EDGE_TYPES)
    hgat = HeteroGAT(
        q, heads=2, layers=2, dropout=0.1, edge_dim=None, edge_types=EDGE_TYPES
    ).train()
    x0 = torch.randn(n, q, requires_grad=True)
    base = [h[0] for h in hgat(x0[None], rel, is_c)]
    out = incremental_forward(hgat, base, rel, is_c, [[1], [2, 3]], torch.zeros(q))
    sum(v.sum() for _, v in out).backward()
    assert x0.grad is not None and torch.isfinite(x0.grad).all()
