"""GRAPE: the full model of the paper's section 4, composed from this package's parts.

Forward pass for a batch of conditions c (each a set S_c of perturbed genes, global ids):

1. Z_text, Z_seq = projection heads, Z_fus = Ψ(Z_seq ‖ Z_text)   (Eq. 2; Eq. 1 pre-trains)
2. G_m on the candidate edges (Eq. 3-4) for m ∈ M, G_agg = mean_m G_m (Eq. 5)
3. 𝔾 = Φ(𝔾^1..𝔾^K) from K GCN hops on G_agg (Eq. 6-8), 𝔼 = {𝔾 ≥ ε} (Eq. 9),
   ℒ_reg = mean (𝔾 − G_agg)² (Eq. 10); optionally 𝔼 ∪ prior (KG) edges
4. P_c^(0) = Z_fus with the rows of S_c masked, P_c^(L) = HGAT(𝔼, P_c^(0)) (Eq. 11)
5. g̃_c = per-gene linear(P_c^(L)) + ctrl (Eq. 12-13)

That is the paper's model, and all of it when no extension is on. Extensions (not in the
paper, :mod:`~grapekg.model.grape.extension`) join at two points of this pass only: the HGAT
input P^(0) before step 4 (``control_input``) and the prediction after step 5, in stage order
(the learned terms ``pert_channel`` and ``prior_shock``, then ``self_term``, which replaces
the perturbed genes' own entries, then ``single_anchor``, fitted after training). They are
built from the config through the one table :data:`~grapekg.model.grape.extensions.EXTENSIONS`
and registered under their own names after the paper's modules. The unperturbed HGAT pass,
which the incremental forward starts from and ``prior_shock`` reads, is computed once per
pass (:class:`~grapekg.model.grape.extension.Step`).

**Perturbation masking** is identical in training and prediction: row v ∈ S_c of Z_fus is
*replaced* by a learned mask vector (``mask_mode='learned'``, default) or by zeros
(``'zero'``). (The authors' code zeroes in training and writes −1 at prediction; that
mismatch is not reproduced.) Any gene of the graph can be perturbed, alone or with
others, whether or not it was perturbed in training.

Candidate edges (where Eq. 3-9 are evaluated) are chosen by block-wise top-k similarity
(:func:`~grapekg.model.grape.similarity.topk_edges`) in :meth:`GrapeModel.refresh_candidates`,
called once per epoch and stored as a buffer (so a checkpoint predicts with the same
graph); edge *values* are recomputed with gradients at every step.

Ablations (config flags): ``only_seq`` / ``only_desc`` (one modality), ``only_fusion``
(M = {fus}), ``no_gsl`` (𝔼 = support of G_agg, no ℒ_reg), ``no_biotype`` (homogeneous GATv2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grapekg.model.grape.align import ModalityEncoder
from grapekg.model.grape.config import GrapeConfig
from grapekg.model.grape.extension import ExtensionDims, GrapeExtension, Step
from grapekg.model.grape.extensions import EXTENSIONS
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.gsl import KHopStructureLearner, structure_regulariser
from grapekg.model.grape.head import GeneHead
from grapekg.model.grape.hetero import HeteroGAT, RelationEdges, split_relations
from grapekg.model.grape.incremental import incremental_forward
from grapekg.model.grape.similarity import MultiHeadSimilarity, topk_edges

__all__ = ["GrapeModel", "GraphState"]


class GraphState:
    """Relations used by the HGAT in one step, the ℒ_reg value and edge counts."""

    def __init__(
        self,
        relations: dict[tuple[str, str, str], RelationEdges],
        reg: Tensor,
        n_learned: int,
        n_edges: int,
    ) -> None:
        self.relations = relations
        self.reg = reg
        self.n_learned = n_learned
        self.n_edges = n_edges


class GrapeModel(nn.Module):
    """GRAPE (module docstring).

    Args:
        config: hyper-parameters (``text_dim`` / ``dna_dim`` must match the graph).
        graph: genes, features and prior edges.
        out_index: ``[G]`` graph indices of the output genes (the expression genes).
        ctrl: ``[G]`` control mean of the output genes.

    Shapes:
        forward(list of B perturbed-gene index lists) → (predictions ``[B, G]``, ℒ_reg).
    """

    def __init__(
        self, config: GrapeConfig, graph: GeneGraph, out_index: Tensor, ctrl: Tensor
    ) -> None:
        super().__init__()
        self.config = config
        c = config
        n = graph.num_genes
        text_dim = c.text_dim if c.use_text else 0
        dna_dim = c.dna_dim if c.use_dna else 0
        self.encoder = ModalityEncoder(text_dim, dna_dim, c.hidden, c.gaussian_sigma)
        mods = (
            ["fus"]
            if c.only_fusion
            else [m for m, d in (("seq", dna_dim), ("text", text_dim)) if d > 0] + ["fus"]
        )
        self.modalities = mods
        self.eps = {"seq": c.eps_dna, "text": c.eps_text, "fus": c.eps_fus}
        self.sims = nn.ModuleDict({m: MultiHeadSimilarity(c.hidden, c.sim_heads) for m in mods})
        self.gsl = None if c.no_gsl else KHopStructureLearner(c.hidden, c.gsl_hops, c.sim_heads)
        self.mask_token = nn.Parameter(torch.zeros(c.hidden)) if c.mask_mode == "learned" else None
        self.hgat = HeteroGAT(
            c.hidden,
            c.gat_heads,
            c.gat_layers,
            c.dropout,
            edge_dim=1 if c.edge_weight_in_gat else None,
            homogeneous=c.no_biotype,
            edge_types=graph.edge_types,
        )
        self.head = GeneHead(int(out_index.shape[0]), c.hidden, shared=c.shared_head)
        is_coding = torch.tensor([b == "c" for b in graph.biotype], dtype=torch.bool)
        self.register_buffer("is_coding", is_coding)
        self.register_buffer("out_index", out_index.long().clone())
        self.register_buffer("ctrl", ctrl.float().clone())
        out_pos = torch.full((n,), -1, dtype=torch.long)
        out_pos[out_index.long()] = torch.arange(out_index.shape[0])
        self.register_buffer("out_pos", out_pos)
        self.register_buffer("prior_edges", graph.prior_edge_index())
        dims = ExtensionDims(c.hidden, n, self.out_index, out_pos, self.ctrl, self.prior_edges)
        self.extension_names: list[str] = []
        for setting, kind in EXTENSIONS.items():
            value = getattr(c, setting)
            on = value is not None and value is not False
            self.add_module(kind.attribute, kind.build(value, dims) if on else None)
            self.extension_names.append(kind.attribute)
        self.register_buffer("candidates", torch.empty(2, 0, dtype=torch.long))
        self.register_buffer(
            "text", None if graph.text is None else graph.text.float(), persistent=False
        )
        self.register_buffer(
            "dna", None if graph.dna is None else graph.dna.float(), persistent=False
        )
        self.register_buffer("dna_mask", graph.dna_mask, persistent=False)
        self.num_genes = n

    @property
    def extensions(self) -> list[GrapeExtension]:
        """The extensions that are on, in table order."""
        found = (getattr(self, name) for name in self.extension_names)
        return [e for e in found if e is not None]

    def per_node_weight_keys(self) -> list[str]:
        """``state_dict`` keys of weights with one entry per graph node (carried over by
        gene id when the weights are put on another graph)."""
        return [f"{e.attribute}.{w}" for e in self.extensions for w in e.per_node_weights]

    # -- Eq. 1-2 ------------------------------------------------------------------------
    def encode(self) -> dict[str, Tensor]:
        return self.encoder(
            self.text if self.config.use_text else None,
            self.dna if self.config.use_dna else None,
            self.dna_mask if self.config.use_dna else None,
        )

    def align_loss(self) -> Tensor:
        """Eq. 1 on the current features."""
        return self.encoder.align_loss(self.encode(), self.dna_mask, self.config.temperature)

    # -- Eq. 3-10 -----------------------------------------------------------------------
    @torch.no_grad()
    def refresh_candidates(self) -> Tensor:
        """Choose the candidate edges: top-k per gene of every modality similarity (Eq. 3)
        and, unless ``no_gsl``, of every hop similarity (Eq. 7). Stored and returned."""
        c = self.config
        if c.graph_source == "prior":
            self.candidates = torch.empty(2, 0, dtype=torch.long, device=self.ctrl.device)
            return self.candidates
        z = self.encode()
        parts = [
            topk_edges(
                self.sims[m].project(z[m]),
                c.sim_top_k,
                self.eps[m],
                c.block_budget,
                valid=self.has_modality(m),
            )
            for m in self.modalities
        ]
        cand = _union(parts, self.num_genes)
        if self.gsl is not None:
            g_agg = self._aggregate(z, cand)
            hs = self.gsl.hop_features(z["fus"], cand, g_agg)
            hop = [
                topk_edges(sim.project(h), c.sim_top_k, c.gsl_threshold, c.block_budget)
                for sim, h in zip(self.gsl.sims, hs, strict=True)
            ]
            cand = _union([cand, *hop], self.num_genes)
        self.candidates = cand
        return cand

    def has_modality(self, m: str) -> Tensor | None:
        """``[N]`` bool: genes with modality m (None = all). Only ``seq`` can be missing:
        genes without a sequence share the "missing" vector, which is no similarity."""
        return self.dna_mask if m == "seq" else None

    def modality_scores(self, z: dict[str, Tensor], m: str, edges: Tensor) -> Tensor:
        """S^m on ``edges`` (Eq. 4-5), 0 where an end lacks the modality."""
        s = self.sims[m](z[m], edges)
        has = self.has_modality(m)
        return (
            s if has is None else torch.where(has[edges[0]] & has[edges[1]], s, torch.zeros_like(s))
        )

    def _aggregate(self, z: dict[str, Tensor], cand: Tensor) -> Tensor:
        vals = []
        for m in self.modalities:
            s = self.modality_scores(z, m, cand)
            vals.append(torch.where(s >= self.eps[m], s, torch.zeros_like(s)))
        return torch.stack(vals).mean(0) if vals else cand.new_zeros(0, dtype=torch.float)

    def graph_state(self, z: dict[str, Tensor]) -> GraphState:
        """Edges 𝔼 of this step split into relations, and ℒ_reg (Eq. 3-10)."""
        c = self.config
        n = self.num_genes
        reg = z["fus"].new_zeros(())
        ei = torch.empty(2, 0, dtype=torch.long, device=z["fus"].device)
        w = z["fus"].new_zeros(0)
        if c.graph_source != "prior" and self.candidates.shape[1] > 0:
            cand = self.candidates
            g_agg = self._aggregate(z, cand)
            if self.gsl is None:
                g, keep = g_agg, g_agg > 0
            else:
                g, _, _ = self.gsl(z["fus"], cand, g_agg)
                reg = structure_regulariser(g, g_agg)
                keep = g >= c.gsl_threshold
            ei, w = cand[:, keep], g[keep]
        n_learned = int(ei.shape[1])
        if c.graph_source in ("prior", "union") and self.prior_edges.shape[1] > 0:
            prior = self.prior_edges
            new = ~torch.isin(prior[0] * n + prior[1], ei[0] * n + ei[1])
            ei = torch.cat([ei, prior[:, new]], dim=1)
            w = torch.cat([w, w.new_ones(int(new.sum()))])
        rel = split_relations(
            ei,
            w if c.edge_weight_in_gat else None,
            self.is_coding,
            homogeneous=c.no_biotype,
            edge_types=self.hgat.edge_types,
        )
        return GraphState(rel, reg, n_learned, int(ei.shape[1]))

    # -- Eq. 11-13 ----------------------------------------------------------------------
    def mask_value(self, like: Tensor) -> Tensor:
        if self.mask_token is None:
            return like.new_zeros(like.shape[-1])
        return self.mask_token.to(like.dtype)

    def hgat_input(self, z: dict[str, Tensor]) -> Tensor:
        """P^(0) of the unperturbed graph: Z_fus after every extension's input adjustment."""
        x0 = z["fus"]
        for ext in self.extensions:
            x0 = ext.adjust_input(x0)
        return x0

    def forward(
        self, perturbed: list[list[int]], incremental: bool | None = None
    ) -> tuple[Tensor, Tensor]:
        """Predicted mean profiles ``[B, G]`` of the conditions and ℒ_reg of this step."""
        inc = self.config.incremental if incremental is None else incremental
        z = self.encode()
        state = self.graph_state(z)
        extensions = self.extensions
        x0 = self.hgat_input(z)
        step = Step(
            self.hgat, x0, state.relations, self.is_coding, perturbed, self.ctrl, self.out_pos
        )
        pred = self._forward_incremental(step) if inc else self._forward_full(step)
        for ext in sorted(extensions, key=lambda e: e.stage):
            pred = ext.contribute(pred, step)
        return pred, state.reg

    def _forward_full(self, step: Step) -> Tensor:
        """Eq. 11-13 with one HGAT pass per condition (the perturbed rows masked)."""
        x0, perturbed = step.x0, step.perturbed
        b = len(perturbed)
        mask = torch.zeros(b, self.num_genes, dtype=torch.bool, device=x0.device)
        for i, genes in enumerate(perturbed):
            mask[i, torch.as_tensor(genes, dtype=torch.long, device=x0.device)] = True
        x = torch.where(mask[..., None], self.mask_value(x0), x0[None].expand(b, -1, -1))
        out = self.hgat(x, step.relations, self.is_coding)[-1]
        return self.head(out[:, self.out_index]) + self.ctrl

    def _forward_incremental(self, step: Step) -> Tensor:
        """Eq. 11-13 from the step's unperturbed pass, recomputing each condition's L-hop
        neighbourhood only (:mod:`~grapekg.model.grape.incremental`)."""
        base = step.base()
        base_pred = self.head(base[-1][self.out_index]) + self.ctrl
        changed = incremental_forward(
            self.hgat, base, step.relations, self.is_coding, step.perturbed,
            self.mask_value(step.x0),
        )  # fmt: skip
        preds = []
        for nodes, vals in changed:
            pos = self.out_pos[nodes]
            keep = pos >= 0
            upd = self.head(vals[keep], pos[keep]) + self.ctrl[pos[keep]]
            preds.append(base_pred.index_put((pos[keep],), upd.to(base_pred.dtype)))
        return torch.stack(preds) if preds else base_pred[None][:0]


def _union(parts: list[Tensor], n: int) -> Tensor:
    parts = [p for p in parts if p.numel()]
    if not parts:
        return torch.empty(2, 0, dtype=torch.long)
    key = torch.unique(torch.cat([p[0] * n + p[1] for p in parts]))
    return torch.stack([key // n, key % n])
