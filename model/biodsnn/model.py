"""BioDSNN (Tan et al., Briefings in Bioinformatics 2024; paper Fig. 1a), one class.

    knowledge stream:  H = Trm^L(KnowledgeEncoder(perturbation))        [B, G, d]  (Eq. 5-6)
                       k_g = <w_g, H_g> + b_g                           [B, G]
    data stream:       x_hat, mu, logvar = VAE(x)                       [B, G]     (Eq. 2-4)
    prediction:        y_hat = k + x_hat

x is the unperturbed expression (the control). The paper "sums over the last dimension of the
postperturbation gene embeddings" to get the ``n x m`` matrix added to the regenerated
expression; the authors' code uses GEARS' gene-specific linear w_g, b_g for that sum (a
weighted sum per gene), which is used here. Ablations: ``no_vae`` (y_hat = k + x, GEARS'
residual), ``no_attention`` (H = KnowledgeEncoder(...)), ``no_mask`` (attention over the
pairs of :func:`~grapekg.model.biodsnn.graphs.unmasked_pairs`; the caller passes them as
``mask_edge_index``). Gene indices: the G output genes are nodes 0..G-1 of the perturbation
graph, further nodes (targets that are not measured) follow.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grapekg.model.biodsnn.config import BiodsnnConfig
from grapekg.model.biodsnn.knowledge import KnowledgeEncoder
from grapekg.model.biodsnn.masked_attention import MaskedEncoderLayer
from grapekg.model.biodsnn.vae import ExpressionVAE, kl_divergence

__all__ = ["BiodsnnModel"]


class BiodsnnModel(nn.Module):
    """``forward(perts, x)`` -> (prediction ``[B, G]``, aux dict: ``kl``, ``recon`` (the VAE's
    regenerated control, or x with ``no_vae``), ``recon_err``)."""

    def __init__(
        self,
        config: BiodsnnConfig,
        num_genes: int,
        num_nodes: int,
        go_edge_index: Tensor,
        go_weight: Tensor,
        coexpr_edge_index: Tensor,
        coexpr_weight: Tensor,
        mask_edge_index: Tensor,
        ctrl: Tensor,
    ) -> None:
        super().__init__()
        c = config
        self.config = c
        self.num_genes = num_genes
        self.knowledge = KnowledgeEncoder(
            num_genes,
            num_nodes,
            c.hidden,
            go_edge_index,
            go_weight,
            coexpr_edge_index,
            coexpr_weight,
            c.go_layers,
            c.coexpr_layers,
            c.pos_weight,
        )
        self.encoder = nn.ModuleList(
            MaskedEncoderLayer(c.hidden, c.heads, c.ff_hidden, c.dropout, c.attn_checkpoint)
            for _ in range(0 if c.no_attention else c.attn_layers)
        )
        self.register_buffer("mask_edge_index", mask_edge_index.long())
        self.w = nn.Parameter(torch.empty(num_genes, c.hidden))
        self.b = nn.Parameter(torch.zeros(num_genes))
        if c.init_mean_delta:
            nn.init.zeros_(self.w)  # b is set by init_output: training starts at the mean
        else:
            nn.init.xavier_uniform_(self.w)
        self.vae = (
            None
            if c.no_vae
            else ExpressionVAE(num_genes, c.widths(), c.vae_latent, ctrl != 0, init=ctrl)
        )

    @torch.no_grad()
    def init_output(self, delta: Tensor) -> None:
        """b_g = the mean training delta of gene g (with w = 0): the first prediction is the
        *mean* baseline, not control + O(1) noise from xavier-initialised w_g (which the few
        steps of condition-level training cannot undo: RMSE 0.445 against no-change's 0.156
        on Papalexi)."""
        self.b.copy_(delta.to(self.b))

    def embeddings(self, perts: list[list[int]]) -> Tensor:
        """Post-perturbation gene embeddings after the attention encoder ``[B, G, d]``."""
        h = self.knowledge(perts)
        for layer in self.encoder:
            h = layer(h, self.mask_edge_index)
        return h

    def forward(self, perts: list[list[int]], x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        h = self.embeddings(perts)
        k = (h * self.w).sum(-1) + self.b
        if self.vae is None:
            zero = x.new_zeros(())
            return k + x, {"kl": zero, "recon": x, "recon_err": zero}
        recon, mu, logvar = self.vae(x)
        keep = self.vae.keep
        err = (((recon - x) ** 2) * keep).sum(-1) / keep.sum().clamp(min=1)
        aux = {"kl": kl_divergence(mu, logvar), "recon": recon, "recon_err": err.mean()}
        return k + recon, aux

    @torch.no_grad()
    def attention(self, perts: list[list[int]], layer: int = -1) -> Tensor:
        """Attention ``[B, E, h]`` of one encoder layer over ``mask_edge_index`` (eval)."""
        if not len(self.encoder):
            raise ValueError("no attention encoder (no_attention)")
        h = self.knowledge(perts)
        stop = layer % len(self.encoder)
        for i, enc in enumerate(self.encoder):
            if i == stop:
                return enc.attn.attention(h, self.mask_edge_index)
            h = enc(h, self.mask_edge_index)
        raise AssertionError("unreachable")
