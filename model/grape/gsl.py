"""K-hop graph-structure learning (Eq. 6-10).

With H^0 = Z_fus (Eq. 2) and the aggregated graph G_agg (Eq. 5) as weighted adjacency:

.. math::
    H^{k} = \\mathrm{GCN}(G_{agg}, H^{k-1}) \\quad (k = 1..K, \\text{Eq. 6}) \\qquad
    \\mathbb{G}^k[i,j] = \\mathbb{S}^k(H^k_i, H^k_j) \\quad (\\text{Eq. 7, multi-head cosine})

GCN is Kipf & Welling's D̂^{-1/2}(A + I)D̂^{-1/2} H W (``GCNConv`` with edge weights) followed
by ReLU except after the last hop. Channel attention Φ (Eq. 8): each hop's graph is
summarised by the mean of its entries s_k, a two-layer MLP maps s ∈ ℝ^K to logits and
α = softmax(logits); 𝔾 = Σ_k α_k 𝔾^k. Edges (Eq. 9): 𝔼 = {(i, j) : 𝔾[i, j] ≥ ε}.
Regulariser (Eq. 10): the paper's ‖𝔾 − G_agg‖₂ is taken as the mean squared difference over
the candidate entries (the union of all supports; both graphs are 0 elsewhere), so it does
not grow with N.

All graphs are evaluated on one candidate edge list (O(K·m) as in the paper's section 4.6),
chosen once per epoch by :func:`~grapekg.model.grape.similarity.topk_edges`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GCNConv

from grapekg.model.grape.similarity import MultiHeadSimilarity

__all__ = ["ChannelAttention", "KHopStructureLearner", "structure_regulariser"]


class ChannelAttention(nn.Module):
    """Φ of Eq. 8 over K graph channels given on a common edge list.

    Shapes:
        ``[K, E]`` → (𝔾 ``[E]``, α ``[K]``).
    """

    def __init__(self, channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels)
        )

    def forward(self, graphs: Tensor) -> tuple[Tensor, Tensor]:
        summary = graphs.mean(dim=1) if graphs.shape[1] else graphs.new_zeros(graphs.shape[0])
        alpha = torch.softmax(self.mlp(summary), dim=0)
        return (alpha[:, None] * graphs).sum(0), alpha


def structure_regulariser(learned: Tensor, aggregated: Tensor) -> Tensor:
    """Eq. 10 as the mean of (𝔾 − G_agg)² over the candidate entries."""
    if learned.numel() == 0:
        return learned.new_zeros(())
    return (learned - aggregated).pow(2).mean()


class KHopStructureLearner(nn.Module):
    """Eq. 6-10: K GCN hops on G_agg, a multi-head similarity per hop, channel attention.

    Args:
        hidden: width of H^k. hops: K. heads: T of each 𝕊^k.

    Shapes:
        forward(h0 ``[N, q]``, edge_index ``[2, E]`` candidates, g_agg ``[E]``) →
        (𝔾 ``[E]``, hop features list of K ``[N, q]``, α ``[K]``).
    """

    def __init__(self, hidden: int, hops: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.convs = nn.ModuleList(GCNConv(hidden, hidden) for _ in range(hops))
        self.sims = nn.ModuleList(MultiHeadSimilarity(hidden, heads) for _ in range(hops))
        self.attention = ChannelAttention(hops)

    def hop_features(self, h0: Tensor, edge_index: Tensor, g_agg: Tensor) -> list[Tensor]:
        """H^1..H^K of Eq. 6 (GCN on the entries of G_agg that are > 0)."""
        keep = g_agg > 0
        ei, w = edge_index[:, keep], g_agg[keep]
        hs, h = [], h0
        for k, conv in enumerate(self.convs):
            h = conv(h, ei, w)
            if k < len(self.convs) - 1:
                h = F.relu(h)
            hs.append(h)
        return hs

    def forward(
        self, h0: Tensor, edge_index: Tensor, g_agg: Tensor
    ) -> tuple[Tensor, list[Tensor], Tensor]:
        hs = self.hop_features(h0, edge_index, g_agg)
        graphs = torch.stack([sim(h, edge_index) for sim, h in zip(self.sims, hs, strict=True)])
        g, alpha = self.attention(graphs)
        return g, hs, alpha
