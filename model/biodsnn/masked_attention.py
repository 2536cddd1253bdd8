"""Masked multi-head self-attention over genes, computed over the mask's edges only
(BioDSNN Eq. 5-6, Fig. 1b).

The paper adds a mask M (0 where gene i may attend to gene j, -inf elsewhere) to the scaled
dot products before the softmax:

    A = softmax(Q K^T / sqrt(d_k) + M) V                                    (Eq. 5)

per head, Q = X W_Q, K = X W_K, V = X W_V, heads concatenated and projected (Eq. 6, "Trm").
The authors build M as a dense G x G matrix and run ``nn.TransformerEncoder`` on it, so a
batch of B cells holds B x h x G x G scores. Here M is an edge list ``edge_index`` =
``[2, E]`` of (key j, query i) pairs (the allowed entries); the scores are computed only on
those E edges, normalised per query with :func:`torch_geometric.utils.softmax` and the values
aggregated with a scatter-add, so memory is O(B E d) instead of O(B h G^2). Entries of M that
are -inf contribute exp(-inf) = 0 to the dense softmax, so both are the same function
(tested against :func:`dense_masked_attention`).

:class:`MaskedEncoderLayer` is the post-norm transformer block of ``nn.TransformerEncoderLayer``
(the authors' layer): x = LN(x + Drop(MHA(x))); x = LN(x + Drop(FF(x))), FF = Linear-ReLU-
Linear with ``ff_hidden`` units.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint
from torch_geometric.utils import softmax

__all__ = [
    "MaskedEncoderLayer",
    "MaskedMultiheadAttention",
    "dense_masked_attention",
    "sparse_attention",
]


def sparse_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    edge_index: Tensor,
    num_nodes: int,
    dropout: float = 0.0,
    training: bool = False,
) -> tuple[Tensor, Tensor]:
    """Eq. 5 over an edge list. ``q``, ``k``, ``v``: ``[B, G, h, d]``; ``edge_index[0]`` the
    key (source) gene j, ``edge_index[1]`` the query (destination) gene i. Returns (out
    ``[B, G, h, d]``, alpha ``[B, E, h]``: the attention of query i on key j per edge). A gene
    without any edge gets a zero output."""
    src, dst = edge_index[0], edge_index[1]
    d = q.shape[-1]
    scores = (q[:, dst] * k[:, src]).sum(-1) / math.sqrt(d)  # [B, E, h]
    alpha = softmax(scores, dst, num_nodes=num_nodes, dim=1)
    dropped = nn.functional.dropout(alpha, dropout, training) if dropout else alpha
    msg = dropped.unsqueeze(-1) * v[:, src]  # [B, E, h, d]
    out = q.new_zeros(q.shape).index_add_(1, dst, msg)
    return out, alpha


def dense_masked_attention(q: Tensor, k: Tensor, v: Tensor, allowed: Tensor) -> Tensor:
    """Reference Eq. 5 with a dense mask: ``allowed`` ``[G, G]`` bool, ``allowed[i, j]`` when
    query i may attend to key j (M_ij = 0, else -inf). Shapes as :func:`sparse_attention`.
    O(B h G^2) memory: for tests and the memory benchmark only."""
    d = q.shape[-1]
    scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(d)
    mask = torch.zeros(allowed.shape, dtype=scores.dtype, device=scores.device)
    mask = mask.masked_fill(~allowed, float("-inf"))
    alpha = torch.softmax(scores + mask, dim=-1)
    alpha = torch.nan_to_num(alpha)  # a query row with no allowed key: zero output
    return torch.einsum("bhij,bjhd->bihd", alpha, v)


class MaskedMultiheadAttention(nn.Module):
    """Multi-head self-attention (Eq. 5-6) restricted to ``edge_index``.

    Args:
        hidden: d_model; heads: h (d_k = hidden / h); dropout on the attention weights.
        checkpoint: recompute the per-edge tensors in backward instead of keeping them.
    Shapes: x ``[B, G, hidden]`` -> ``[B, G, hidden]``.
    """

    def __init__(
        self, hidden: int, heads: int, dropout: float = 0.0, checkpoint: bool = False
    ) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden {hidden} is not a multiple of heads {heads}")
        self.hidden, self.heads = hidden, heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)
        self.dropout = dropout
        self.checkpoint = checkpoint

    def project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        b, g, _ = x.shape
        shape = (b, g, self.heads, self.hidden // self.heads)
        return self.q(x).view(shape), self.k(x).view(shape), self.v(x).view(shape)

    def _attend(self, x: Tensor, edge_index: Tensor) -> Tensor:
        q, k, v = self.project(x)
        out, _ = sparse_attention(q, k, v, edge_index, x.shape[1], self.dropout, self.training)
        return out.reshape(x.shape)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        if self.checkpoint and self.training and torch.is_grad_enabled():
            out = checkpoint(self._attend, x, edge_index, use_reentrant=False)
        else:
            out = self._attend(x, edge_index)
        return self.out(out)

    @torch.no_grad()
    def attention(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """alpha ``[B, E, h]`` of Eq. 5 (no dropout)."""
        q, k, v = self.project(x)
        return sparse_attention(q, k, v, edge_index, x.shape[1])[1]


class MaskedEncoderLayer(nn.Module):
    """Post-norm transformer encoder block around :class:`MaskedMultiheadAttention`."""

    def __init__(
        self,
        hidden: int,
        heads: int,
        ff_hidden: int = 512,
        dropout: float = 0.1,
        checkpoint: bool = False,
    ) -> None:
        super().__init__()
        self.attn = MaskedMultiheadAttention(hidden, heads, dropout, checkpoint)
        self.norm1 = nn.LayerNorm(hidden)
        self.norm2 = nn.LayerNorm(hidden)
        self.ff = nn.Sequential(
            nn.Linear(hidden, ff_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ff_hidden, hidden),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        x = self.norm1(x + self.drop(self.attn(x, edge_index)))
        return self.norm2(x + self.drop(self.ff(x)))
