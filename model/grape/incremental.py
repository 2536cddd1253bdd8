"""Exact L-hop incremental propagation of perturbations through the HGAT (Eq. 11).

A condition c changes the HGAT input only on its perturbed genes S_c (their fused features
are masked). Every layer of :class:`~grapekg.model.grape.hetero.HeteroGAT` updates a node
from itself and its in-neighbours only (attention, mean over relations, residual and
LayerNorm are all per destination node), so after l layers only the nodes of

.. math::
    A^0 = S_c, \\qquad A^l = A^{l-1} \\cup \\{v : (u \\to v) \\in \\mathbb{E},\\ u \\in A^{l-1}\\}

can differ from the unperturbed pass P_0^(l). Hence, with P_0^(0..L) computed once per
step, P_c^(l)_v = P_0^(l)_v for v ∉ A^l, and for v ∈ A^l each relation's GATv2 is evaluated
bipartitely with sources = in-neighbours of A^l (values of P_c^(l−1), i.e. condition values
on A^{l−1} and base values elsewhere) and destinations = A^l. The result equals the full
pass up to floating-point summation order; with dropout active (training), nodes outside
A^l share the base pass's dropout sample, which is still a valid sample for the condition.
Cost per condition is O(|edges into A^L|) instead of O(|𝔼| + N).

Several conditions are processed together: their affected node sets are concatenated as
the destination rows of one bipartite call per relation and layer.
"""

from __future__ import annotations

import torch
from torch import Tensor

from grapekg.model.grape.hetero import EdgeType, HeteroGAT, RelationEdges

__all__ = ["Adjacency", "incremental_forward"]


class Adjacency:
    """Out-neighbour lists (CSR over sources) of the union of all relations."""

    def __init__(self, relations: dict[EdgeType, RelationEdges], n: int) -> None:
        ei = torch.cat([r.edge_index for r in relations.values()], dim=1)
        order = torch.argsort(ei[0], stable=True)
        self.dst = ei[1, order]
        self.deg = torch.bincount(ei[0], minlength=n)
        self.ptr = torch.cumsum(self.deg, 0) - self.deg
        self.n = n

    def expand(self, nodes: Tensor) -> Tensor:
        """nodes ∪ out-neighbours(nodes), sorted and unique."""
        counts = self.deg[nodes]
        total = int(counts.sum())
        if total == 0:
            return nodes
        starts = torch.repeat_interleave(
            self.ptr[nodes] - (torch.cumsum(counts, 0) - counts), counts
        )
        nbrs = self.dst[starts + torch.arange(total, device=nodes.device)]
        return torch.unique(torch.cat([nodes, nbrs]))


def incremental_forward(
    hgat: HeteroGAT,
    base: list[Tensor],
    relations: dict[EdgeType, RelationEdges],
    is_coding: Tensor,
    perturbed: list[list[int]],
    masked_value: Tensor,
    adjacency: Adjacency | None = None,
) -> list[tuple[Tensor, Tensor]]:
    """Final-layer values of the nodes that differ from the unperturbed pass.

    Args:
        hgat: the HGAT whose unperturbed outputs are ``base`` (L + 1 tensors ``[N, q]``).
        relations: the relations ``base`` was computed with (global indices).
        is_coding: ``[N]`` bool node types.
        perturbed: per condition, global indices of its perturbed genes.
        masked_value: ``[q]`` input value of a perturbed gene (mask vector or zeros).

    Returns:
        per condition (A^L ``[M]`` sorted node ids, P_c^(L) on them ``[M, q]``).
    """
    n, q = base[0].shape
    dev = base[0].device
    adj = adjacency or Adjacency(relations, n)
    types = hgat.type_index(is_coding)
    node_type = {}
    for t, idx in types.items():
        mask = torch.zeros(n, dtype=torch.bool, device=dev)
        mask[idx] = True
        node_type[t] = mask
    n_rel = {t: len(hgat.dst_relations(t)) for t in types}
    sets = [torch.unique(torch.as_tensor(p, dtype=torch.long, device=dev)) for p in perturbed]
    vals = [masked_value.to(base[0].dtype).expand(s.shape[0], q) for s in sets]
    b = len(sets)
    for layer, conv in enumerate(hgat.layers):
        prev = base[layer]
        # source table: base rows, then each condition's rows of A^{l-1}
        offsets = torch.tensor([0] + [s.shape[0] for s in sets], device=dev).cumsum(0)
        src_table = torch.cat([prev, *vals]) if b else prev
        pos_prev = torch.full((b, n), -1, dtype=torch.long, device=dev)
        new_sets = [adj.expand(s) for s in sets]
        dst_off = torch.tensor([0] + [s.shape[0] for s in new_sets], device=dev).cumsum(0)
        pos_dst = torch.full((b, n), -1, dtype=torch.long, device=dev)
        for i, (s, ns) in enumerate(zip(sets, new_sets, strict=True)):
            pos_prev[i, s] = n + offsets[i] + torch.arange(s.shape[0], device=dev)
            pos_dst[i, ns] = dst_off[i] + torch.arange(ns.shape[0], device=dev)
        all_dst = torch.cat(new_sets)
        cond_of_dst = torch.repeat_interleave(
            torch.arange(b, device=dev), dst_off[1:] - dst_off[:-1]
        )
        lookup = pos_prev[cond_of_dst, all_dst]
        dst_rows = torch.where(lookup >= 0, lookup, all_dst)
        x_dst = src_table[dst_rows]
        m = all_dst.shape[0]
        agg = torch.zeros(m, q, dtype=x_dst.dtype, device=dev)
        for et in hgat.edge_types:
            rel = relations[et]
            ei = rel.edge_index
            hit = (pos_dst[:, ei[1]] >= 0).nonzero()  # (condition, edge) pairs
            ci, e = hit[:, 0], hit[:, 1]
            s_pos = pos_prev[ci, ei[0, e]]
            s_pos = torch.where(s_pos >= 0, s_pos, ei[0, e])
            d_pos = pos_dst[ci, ei[1, e]]
            kwargs = {}
            if rel.edge_attr is not None:
                kwargs["edge_attr"] = rel.edge_attr[e]
            h = conv.convs[et]((src_table, x_dst), torch.stack([s_pos, d_pos]), **kwargs)
            rows = node_type[et[2]][all_dst]
            agg = agg + torch.where(rows[:, None], h, torch.zeros_like(h))
        denom = torch.zeros(m, dtype=x_dst.dtype, device=dev)
        for t, mask in node_type.items():
            denom = torch.where(mask[all_dst], float(n_rel[t]), denom)
        out = hgat.post(layer, x_dst, agg / denom.clamp(min=1.0)[:, None])
        sets = new_sets
        vals = list(torch.split(out, (dst_off[1:] - dst_off[:-1]).tolist()))
    return list(zip(sets, vals, strict=True))
