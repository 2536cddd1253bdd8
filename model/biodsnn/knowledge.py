"""The knowledge-driven stream's graph encoders (BioDSNN "Knowledge-driven stream", after
GEARS; ../shared/REFERENCES.md 1.5).

- Gene embeddings e_g (``[G, d]``, one per output gene) -> BatchNorm -> ReLU, plus
  ``pos_weight`` x the co-expression positional embedding SGConv_{G_gene}(p) of a second
  embedding table p (theta_g of the paper), then an MLP.
- Perturbation embeddings w_v (``[N, d]``, one per graph node, so a target that is not measured
  has one too) -> SGConv over the GO-Jaccard graph G_pert (theta_p), ReLU between layers.
- A condition's perturbation embedding is the **sum** of its perturbed genes' embeddings
  (GEARS: multi-gene conditions), through ``pert_fuse`` (MLP), added to every gene's embedding
  of that condition, then BatchNorm -> ReLU -> the MLP d -> 2d -> d (GEARS' ``recovery_w``).
  Output: post-perturbation gene embeddings ``[B, G, d]``.

SGConv (K = 1, Wu et al. 2019) as GEARS: x' = D^-1/2 (A + I) D^-1/2 x W with edge weights.

The perturbation table is read as ``pert_emb.weight``, so its ``max_norm`` never renormalises
it (rows keep norm ~sqrt(d); GEARS looks the table up, which renormalises rows to <= 1):
looking it up scored lower on held-out unseen singles (docs/models.md, BioDSNN), so this
documented departure stays.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import SGConv

__all__ = ["KnowledgeEncoder", "mlp"]


def mlp(widths: list[int], last_act: bool = False) -> nn.Sequential:
    """Linear -> BatchNorm -> ReLU between ``widths`` (GEARS' MLP), no activation last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2 or last_act:
            layers += [nn.BatchNorm1d(b), nn.ReLU()]
    return nn.Sequential(*layers)


class KnowledgeEncoder(nn.Module):
    """Gene and perturbation GNN encoders and their combination per condition.

    Args:
        num_genes: G output genes; num_nodes: N perturbable graph nodes.
        hidden: d; go_layers / coexpr_layers: SGConv layers.
    ``forward(perts)``: ``perts`` a list (one per condition) of node-index lists; ``[]`` =
    control (no perturbation embedding). Returns ``[B, G, d]``.
    """

    def __init__(
        self,
        num_genes: int,
        num_nodes: int,
        hidden: int,
        go_edge_index: Tensor,
        go_weight: Tensor,
        coexpr_edge_index: Tensor,
        coexpr_weight: Tensor,
        go_layers: int = 1,
        coexpr_layers: int = 1,
        pos_weight: float = 0.2,
    ) -> None:
        super().__init__()
        self.num_genes, self.num_nodes, self.hidden = num_genes, num_nodes, hidden
        self.gene_emb = nn.Embedding(num_genes, hidden, max_norm=True)
        self.pos_emb = nn.Embedding(num_genes, hidden, max_norm=True)
        self.pert_emb = nn.Embedding(num_nodes, hidden, max_norm=True)
        self.emb_norm = nn.BatchNorm1d(hidden)
        self.coexpr = nn.ModuleList(SGConv(hidden, hidden, K=1) for _ in range(coexpr_layers))
        self.go = nn.ModuleList(SGConv(hidden, hidden, K=1) for _ in range(go_layers))
        self.gene_mlp = mlp([hidden, hidden, hidden], last_act=True)
        self.pert_fuse = mlp([hidden, hidden, hidden], last_act=True)
        self.post_norm = nn.BatchNorm1d(hidden)
        self.recovery = mlp([hidden, 2 * hidden, hidden])
        self.pos_weight = pos_weight
        self.register_buffer("go_edge_index", go_edge_index.long())
        self.register_buffer("go_weight", go_weight.float())
        self.register_buffer("coexpr_edge_index", coexpr_edge_index.long())
        self.register_buffer("coexpr_weight", coexpr_weight.float())

    def gene_embeddings(self) -> Tensor:
        """``[G, d]`` gene embeddings with the co-expression positional part."""
        idx = torch.arange(self.num_genes, device=self.gene_emb.weight.device)
        base = torch.relu(self.emb_norm(self.gene_emb(idx)))
        pos = self.pos_emb(idx)
        for i, conv in enumerate(self.coexpr):
            pos = conv(pos, self.coexpr_edge_index, self.coexpr_weight)
            if i < len(self.coexpr) - 1:
                pos = torch.relu(pos)
        return self.gene_mlp(base + self.pos_weight * pos)

    def pert_embeddings(self) -> Tensor:
        """``[N, d]`` perturbation embeddings after the GO-graph SGConv."""
        x = self.pert_emb.weight
        for i, conv in enumerate(self.go):
            x = conv(x, self.go_edge_index, self.go_weight)
            if i < len(self.go) - 1:
                x = torch.relu(x)
        return x

    def forward(self, perts: list[list[int]]) -> Tensor:
        b, g, d = len(perts), self.num_genes, self.hidden
        genes = self.gene_embeddings()  # [G, d]
        x = genes.unsqueeze(0).expand(b, g, d)
        rows = [i for i, p in enumerate(perts) if p]
        if rows:
            pe = self.pert_embeddings()
            device = pe.device
            cond = torch.tensor([i for i in rows for _ in perts[i]], device=device)
            nodes = torch.tensor([n for i in rows for n in perts[i]], device=device)
            summed = torch.zeros(len(rows), d, device=device).index_add_(
                0, torch.searchsorted(torch.tensor(rows, device=device), cond), pe[nodes]
            )
            fused = self.pert_fuse(summed) if len(rows) > 1 else _single(self.pert_fuse, summed)
            add = torch.zeros(b, d, device=device)
            add[torch.tensor(rows, device=device)] = fused
            x = x + add.unsqueeze(1)
        x = torch.relu(self.post_norm(x.reshape(b * g, d)))
        return self.recovery(x).reshape(b, g, d)


def _single(net: nn.Sequential, x: Tensor) -> Tensor:
    """BatchNorm cannot take one row in training: run that one row in eval statistics."""
    if not net.training:
        return net(x)
    net.eval()
    try:
        return net(x)
    finally:
        net.train()
