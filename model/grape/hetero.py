"""Heterogeneous multi-head graph attention (Eq. 11).

.. math::
    P^{(l+1)}_v = \\mathrm{LN}\\Big(P^{(l)}_v + \\mathrm{ELU}\\big(
    \\frac{1}{|E_v|}\\sum_{r \\in E_v}
    \\frac{1}{H}\\sum_{h=1}^{H} \\mathrm{GATv2}^h_r(\\mathbb{E}_r, P^{(l)})_v\\big)\\Big)

E_v = relations whose destination type is v's type (for the edge types cc, cn, rev_cn, nn of
:mod:`~grapekg.model.grape.graph`: 'c': cc and rev_cn; 'nc': cn and nn),
so the paper's 1/|E| average is taken per destination type (``HeteroConv(aggr='mean')``),
and the 1/H head average is ``GATv2Conv(concat=False)``. The residual connection and
LayerNorm are per node, which keeps :mod:`~grapekg.model.grape.incremental` exact.
Self-loops are explicit edges of the within-class relations (cc, nn), and every conv has
``add_self_loops=False`` (the bipartite cn / rev_cn must not get them). The edge types are
the graph's (:attr:`GeneGraph.edge_types <grapekg.model.grape.graph.GeneGraph>`), passed in. With
``no_biotype`` there is one node type ``'g'`` and one relation ``gg`` (homogeneous GATv2).

Relations are given in *global* node indices (see :class:`~grapekg.model.grape.graph.GeneGraph`)
and converted here to per-type local indices, replicated over a batch of B graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATv2Conv, HeteroConv

from grapekg.model.grape.graph import NODE_TYPES, EdgeType, canonical_edge_types

__all__ = [
    "HOMOGENEOUS_EDGE_TYPES",
    "HeteroGAT",
    "RelationEdges",
    "hetero_edge_types",
    "split_relations",
]

HOMOGENEOUS_EDGE_TYPES: tuple[EdgeType, ...] = (("g", "gg", "g"),)


@dataclass
class RelationEdges:
    """Edges of one relation in global indices, ``[2, E]``, with optional weights ``[E, 1]``."""

    edge_index: Tensor
    edge_attr: Tensor | None


def hetero_edge_types(edge_types: Sequence[Sequence[str]]) -> tuple[EdgeType, ...]:
    """``edge_types`` in canonical order, checked to cover every ordered pair of node types
    (each edge of the learned graph must fall into exactly one relation)."""
    types = canonical_edge_types(edge_types)
    missing = sorted(
        {(a, b) for a in NODE_TYPES for b in NODE_TYPES} - {(et[0], et[2]) for et in types}
    )
    if missing:
        raise ValueError(f"edge types {types} leave out the node-type pairs {missing}")
    return types


def split_relations(
    edge_index: Tensor,
    weight: Tensor | None,
    is_coding: Tensor,
    homogeneous: bool = False,
    *,
    edge_types: Sequence[Sequence[str]] = (),
) -> dict[EdgeType, RelationEdges]:
    """Split a global edge list by the biotype classes of its ends into ``edge_types`` (one
    per ordered pair of node types) and add self-loops to the within-class relations
    (weight 1). ``homogeneous`` puts everything in ``gg``."""
    n = is_coding.shape[0]
    loops = torch.arange(n, device=edge_index.device)
    ei = edge_index[:, edge_index[0] != edge_index[1]]
    w = None if weight is None else weight[edge_index[0] != edge_index[1]]

    def with_loops(sel: Tensor, nodes: Tensor) -> RelationEdges:
        e = torch.cat([ei[:, sel], torch.stack([nodes, nodes])], dim=1)
        a = None if w is None else torch.cat([w[sel], w.new_ones(nodes.shape[0])])[:, None]
        return RelationEdges(e, a)

    if homogeneous:
        return {
            HOMOGENEOUS_EDGE_TYPES[0]: with_loops(torch.ones_like(ei[0], dtype=torch.bool), loops)
        }
    coding = {"c": is_coding, "nc": ~is_coding}
    out = {}
    for et in hetero_edge_types(edge_types):
        sel = coding[et[0]][ei[0]] & coding[et[2]][ei[1]]
        if et[0] == et[2]:
            out[et] = with_loops(sel, loops[is_coding if et[0] == "c" else ~is_coding])
        else:
            out[et] = RelationEdges(ei[:, sel], None if w is None else w[sel][:, None])
    return out


class HeteroGAT(nn.Module):
    """L layers of Eq. 11 over node types 'c'/'nc' (or 'g').

    Args:
        hidden: width of P^(l). heads: H. layers: L. dropout: on attention and outputs.
        edge_dim: width of edge features (1 = learned edge weight; None = none).
        homogeneous: one node type and relation (the ``no_biotype`` ablation).
        edge_types: the relations (one per ordered pair of node types; unused when
            ``homogeneous``).

    Shapes:
        forward(x ``[B, N, q]``, relations, node types ``[N]`` bool is_coding) →
        list of L + 1 tensors ``[B, N, q]`` (P^(0) .. P^(L)).
    """

    def __init__(
        self,
        hidden: int,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.1,
        edge_dim: int | None = 1,
        homogeneous: bool = False,
        *,
        edge_types: Sequence[Sequence[str]] = (),
    ) -> None:
        super().__init__()
        self.edge_types = HOMOGENEOUS_EDGE_TYPES if homogeneous else hetero_edge_types(edge_types)
        self.homogeneous = homogeneous
        self.dropout = dropout
        self.layers = nn.ModuleList(
            HeteroConv(
                {
                    et: GATv2Conv(
                        hidden,
                        hidden,
                        heads=heads,
                        concat=False,
                        dropout=dropout,
                        add_self_loops=False,
                        edge_dim=edge_dim,
                    )
                    for et in self.edge_types
                },
                aggr="mean",
            )
            for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))

    def dst_relations(self, node_type: str) -> list[EdgeType]:
        return [et for et in self.edge_types if et[2] == node_type]

    def post(self, layer: int, x_prev: Tensor, h: Tensor) -> Tensor:
        """Per-node update after aggregation: LN(x + dropout(ELU(h)))."""
        h = F.dropout(F.elu(h), p=self.dropout, training=self.training)
        return self.norms[layer](x_prev + h)

    def type_index(self, is_coding: Tensor) -> dict[str, Tensor]:
        """Global indices of each node type, in global order."""
        if self.homogeneous:
            return {"g": torch.arange(is_coding.shape[0], device=is_coding.device)}
        ar = torch.arange(is_coding.shape[0], device=is_coding.device)
        return {"c": ar[is_coding], "nc": ar[~is_coding]}

    def forward(
        self, x: Tensor, relations: dict[EdgeType, RelationEdges], is_coding: Tensor
    ) -> list[Tensor]:
        b, n, q = x.shape
        types = self.type_index(is_coding)
        local = torch.empty(n, dtype=torch.long, device=x.device)
        for idx in types.values():
            local[idx] = torch.arange(idx.shape[0], device=x.device)
        ei_dict, attr_dict = {}, {}
        for et in self.edge_types:
            rel = relations[et]
            ns, nd = types[et[0]].shape[0], types[et[2]].shape[0]
            e = torch.stack([local[rel.edge_index[0]], local[rel.edge_index[1]]])
            shift = torch.arange(b, device=x.device)[:, None]
            src = (e[0][None] + shift * ns).reshape(-1)
            dst = (e[1][None] + shift * nd).reshape(-1)
            ei_dict[et] = torch.stack([src, dst])
            if rel.edge_attr is not None:
                attr_dict[et] = rel.edge_attr.repeat(b, 1)
        outs = [x]
        for layer, conv in enumerate(self.layers):
            x_dict = {t: x[:, idx].reshape(b * idx.shape[0], q) for t, idx in types.items()}
            kwargs = {"edge_attr_dict": attr_dict} if attr_dict else {}
            h_dict = conv(x_dict, ei_dict, **kwargs)
            h = torch.empty_like(x)
            for t, idx in types.items():
                # under autocast the convolutions may return bf16: keep the residual's dtype
                h[:, idx] = h_dict[t].reshape(b, idx.shape[0], q).to(h.dtype)
            x = self.post(layer, x, h)
            outs.append(x)
        return outs
