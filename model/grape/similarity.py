"""Modality similarity graphs (Eq. 3-5), sparse and block-wise.

Multi-head similarity (Eq. 4) of genes i, j in modality m with T heads W_m^t:

.. math::
    \\mathbb{S}_m(z^i, z^j) = \\frac{1}{T}\\sum_{t=1}^T \\cos(z^i W_m^t, z^j W_m^t)

Graph of modality m (Eq. 3): G_m[i, j] = 𝕊_m(z^i, z^j) if it is ≥ ε^m, else 0. To keep
memory O(N·k) the dense N × N matrix is never built: rows are processed in blocks of
⌊budget / N⌋ rows, and only the k largest entries of each row that pass ε^m are kept
(k = ``top_k``; G_m is then made symmetric by adding each kept (i, j) as (j, i), which is
exact because 𝕊_m is symmetric). The *choice* of edges is discrete (no gradient); their
*values* are recomputed with autograd by :meth:`MultiHeadSimilarity.edge_values`.

Aggregation (Eq. 5): G_agg = (1/|M|) Σ_m G_m, on the union of the modality supports
(an entry absent from G_m counts 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MultiHeadSimilarity", "aggregate_graphs", "coalesce_undirected", "topk_edges"]


class MultiHeadSimilarity(nn.Module):
    """𝕊_m of Eq. 4 with T heads of width ``out_dim`` (no bias).

    Shapes:
        :meth:`project`: ``[N, d]`` → unit vectors ``[N, T, out_dim]``;
        :meth:`edge_values`: projections and ``[2, E]`` → ``[E]``.
    """

    def __init__(self, in_dim: int, heads: int = 4, out_dim: int | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.out_dim = out_dim or in_dim
        self.lin = nn.Linear(in_dim, heads * self.out_dim, bias=False)

    def project(self, z: Tensor) -> Tensor:
        p = self.lin(z).view(z.shape[0], self.heads, self.out_dim)
        return F.normalize(p, dim=-1)

    @staticmethod
    def edge_values(p: Tensor, edge_index: Tensor) -> Tensor:
        """𝕊(z^i, z^j) for each column (i, j) of ``edge_index`` (Eq. 4)."""
        return (p[edge_index[0]] * p[edge_index[1]]).sum(-1).mean(-1)

    def forward(self, z: Tensor, edge_index: Tensor) -> Tensor:
        return self.edge_values(self.project(z), edge_index)


@torch.no_grad()
def topk_edges(
    p: Tensor,
    top_k: int,
    eps: float,
    budget: int = 4_000_000,
    exclude_self: bool = True,
    valid: Tensor | None = None,
) -> Tensor:
    """Edges of Eq. 3 from unit projections ``p [N, T, d]``: for each row i the ``top_k``
    columns j with the largest 𝕊(i, j) ≥ ``eps``, computed in row blocks holding at most
    ``budget`` similarity entries; returned symmetric and without duplicates, ``[2, E]``.
    ``valid`` ``[N]`` bool: genes that have this modality (others get no edge of it)."""
    n = p.shape[0]
    k = min(top_k, n - 1 if exclude_self else n)
    if n == 0 or k <= 0:
        return torch.empty(2, 0, dtype=torch.long, device=p.device)
    rows = max(1, budget // max(n, 1))
    flat = p.transpose(0, 1)  # [T, N, d]
    srcs, dsts = [], []
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        block = torch.einsum("tbd,tnd->bn", flat[:, lo:hi], flat) / p.shape[1]
        if exclude_self:
            ar = torch.arange(lo, hi, device=p.device)
            block[ar - lo, ar] = -float("inf")
        if valid is not None:
            block[:, ~valid] = -float("inf")
        val, idx = block.topk(k, dim=1)
        keep = val >= eps
        if valid is not None:
            keep &= valid[lo:hi, None]
        src = torch.arange(lo, hi, device=p.device)[:, None].expand_as(idx)
        srcs.append(src[keep])
        dsts.append(idx[keep])
    ei = torch.stack([torch.cat(srcs), torch.cat(dsts)])
    return coalesce_undirected(ei, n)


def coalesce_undirected(edge_index: Tensor, n: int) -> Tensor:
    """Add the reverse of every edge and drop duplicates (sorted by source, then target)."""
    if edge_index.numel() == 0:
        return edge_index.long()
    ei = torch.cat([edge_index, edge_index.flip(0)], dim=1).long()
    key = torch.unique(ei[0] * n + ei[1])
    return torch.stack([key // n, key % n])


def aggregate_graphs(edge_index: Tensor, values: list[Tensor]) -> Tensor:
    """Eq. 5 on a common edge list: values[m] holds G_m on ``edge_index`` (0 where the
    entry is not in G_m's support); returns G_agg = mean_m G_m, ``[E]``."""
    if not values:
        raise ValueError("no modality graph to aggregate")
    return torch.stack(values).mean(0)
