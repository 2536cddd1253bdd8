"""Optional signed diffusion of the knock-down over the prior graph (not in the GRAPE paper;
``GrapeConfig.prior_shock``, a :class:`~grapekg.model.grape.config.PriorShockConfig`).

In Eq. 11-13 a knock-down reaches gene d only through the change that masking the perturbed
rows of P^(0) makes in d's HGAT output, diluted by the softmax over all of d's neighbours and
read by d's own head, which has to learn the sign of every regulator it can hear. This term
adds the knock-down's first-order effect on its KG prior neighbours directly, with a sign and a
strength read from the regulator's own (unperturbed) HGAT embedding, so a regulator never
perturbed in training gets the sign of the regulators it resembles:

    Δ_c[d] = γ_d · Σ_{s ∈ S_c} a(s) · Â[s, d] · exp(φ(log k_s, log k_d)),   added to g̃_c
    Â = D^{-1/2} A D^{-1/2}     (A: the prior edges, undirected; D = diag(k): their degrees;
                                 the propagation matrix of a GCN layer)
    φ: ℝ² → ℝ, an MLP (2 → 8 → 1, tanh; last layer starts at 0), so the edge weight can
       depart from the GCN normalisation as a function of the two degrees
    a(s) = w·h_s + w'·h̄_s + b  (h = P^(L) of the unperturbed graph, h̄_s = the mean of h over
                                 s's prior neighbours; w, w', b start at 0)
    γ_d = exp(ℓ_d)              (per output gene, ℓ starts at 0)

With ``vote`` (``PriorShockConfig.vote``) the sign also comes from a learned per-gene value
b (zero-initialised), averaged over the regulator's closed prior neighbourhood:

    a(s) += β · (b_s + Σ_{t ∈ N(s)} b_t) / (1 + k_s)        (β = :data:`VOTE_SCALE`)

A trained regulator s' moves b on s' and its neighbours; a regulator never perturbed reads b
on its own neighbourhood, so it inherits the sign of the trained regulators within two prior
hops (label propagation learned by gradient descent). With ``vote_hops`` = h > 1
(``PriorShockConfig.vote_hops``) the closed-neighbourhood average is applied h times,
m⁰ = b, m^{j+1}_s = (m^j_s + Σ_{t ∈ N(s)} m^j_t) / (1 + k_s), a(s) += β · m^h_s, so the sign
reaches 2h prior hops (an unseen regulator whose nearest trained regulators are further than
two hops away hears them). β only rescales b's step: Adam moves a parameter by about the
learning rate per step, and a few hundred steps at 1e-3 would leave b far below the size of
the effects.

With ``lp`` (``PriorShockConfig.lp_vote``) a closed-form label-propagated vote v (fitted from
the training singles before the first epoch, :mod:`~grapekg.model.grape.lp_vote`, and kept
beside the weights in :data:`LP_FILE` by gene id) is added with a learned gain g (zero start):
a(s) += β · g · v_s.

h is the last layer of the *unperturbed* HGAT pass, the one the incremental forward also
starts from; both read it from the step (:class:`~grapekg.model.grape.extension.Step`), so
it is computed once per forward pass.

All learned parts start at 0, so training starts where the model without it starts. Only
measured targets d get a term; a perturbed gene that has no prior edge contributes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from grapekg.model.grape.config import PriorShockConfig
from grapekg.model.grape.extension import ExtensionDims, FitData, GrapeExtension, Stage, Step
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.lp_vote import fitted_effects, propagated_votes

if TYPE_CHECKING:
    from grapekg.model.grape.model import GrapeModel

__all__ = ["LP_FILE", "VOTE_SCALE", "PriorShock"]

#: β of the vote term (module docstring)
VOTE_SCALE = 10.0
#: the fitted effects o_t of the label-propagated vote beside a run's weights (gene ids, o_t)
LP_FILE = "lp_vote.npz"


class PriorShock(GrapeExtension):
    """Δ_c = (a ∘ s_c) Â_out · diag(γ) (module docstring).

    Args:
        prior_edges: ``[2, E]`` global prior edges (both directions, no self-loops).
        out_pos: ``[N]`` output column of each node (−1: not measured).
        n_out: number of output genes. hidden: width of h.
        vote: add the learned neighbourhood vote b (module docstring).
        vote_hops: h, how many times the vote is averaged over closed neighbourhoods.
        lp: add the label-propagated vote v (set with :meth:`set_lp`) with a learned gain.
    """

    attribute = "prior_shock"
    stage = Stage.TERM
    per_node_weights = ("vote",)

    def __init__(
        self,
        prior_edges: Tensor,
        out_pos: Tensor,
        n_out: int,
        hidden: int,
        vote: bool = False,
        vote_hops: int = 1,
        lp: bool = False,
    ) -> None:
        super().__init__()
        n = int(out_pos.shape[0])
        src, dst = prior_edges.long()
        deg = torch.bincount(src, minlength=n).clamp_min(1).float()
        w = (deg[src] * deg[dst]).rsqrt()
        col = out_pos[dst]
        keep = col >= 0
        self.register_buffer("nb_src", src.clone(), persistent=False)
        self.register_buffer("nb_dst", dst.clone(), persistent=False)
        self.register_buffer("nb_deg", deg, persistent=False)
        self.register_buffer("src", src[keep].clone(), persistent=False)
        self.register_buffer("col", col[keep].clone(), persistent=False)
        self.register_buffer("w", w[keep].clone(), persistent=False)
        logk = torch.stack([deg[src].log(), deg[dst].log()], dim=1)
        self.register_buffer("logk", logk[keep].clone(), persistent=False)
        self.phi = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        nn.init.zeros_(self.phi[2].weight)
        nn.init.zeros_(self.phi[2].bias)
        self.n_out = n_out
        self.readout = nn.Linear(2 * hidden, 1)
        nn.init.zeros_(self.readout.weight)
        nn.init.zeros_(self.readout.bias)
        self.log_gain = nn.Parameter(torch.zeros(n_out))
        self.vote = nn.Parameter(torch.zeros(n)) if vote else None
        self.vote_hops = int(vote_hops)
        self.lp_gain = nn.Parameter(torch.zeros(())) if lp else None
        self.register_buffer("lp_vote", torch.zeros(n) if lp else None, persistent=False)
        self._lp_fit: tuple[np.ndarray, np.ndarray] | None = None  # gene ids, o_t
        self._lp_record: dict[str, float] | None = None

    @classmethod
    def build(cls, setting: Any, dims: ExtensionDims) -> PriorShock:
        cfg = setting if isinstance(setting, PriorShockConfig) else PriorShockConfig()
        return cls(
            dims.prior_edges,
            dims.out_pos,
            dims.num_out,
            dims.hidden,
            cfg.vote,
            cfg.vote_hops,
            cfg.lp_vote,
        )

    def contribute(self, pred: Tensor, step: Step) -> Tensor:
        """g̃_c += Δ_c, with h from the step's unperturbed pass."""
        return pred + self(step.base()[-1], step.perturbed).to(pred.dtype)

    def set_lp(self, votes: Tensor) -> None:
        """v of every node (:func:`~grapekg.model.grape.lp_vote.propagated_votes`)."""
        if self.lp_gain is None:
            raise ValueError("set_lp needs a PriorShock built with lp=True")
        self.lp_vote = votes.to(self.lp_gain.device, self.lp_gain.dtype).clone()

    def forward(self, h: Tensor, perturbed: list[list[int]]) -> Tensor:
        """``[B, n_out]`` terms of the conditions (``h``: ``[N, hidden]``)."""
        h_bar = torch.zeros_like(h).index_add(0, self.nb_src, h[self.nb_dst])
        h_bar = h_bar / self.nb_deg[:, None].to(h.dtype)
        a = self.readout(torch.cat([h, h_bar], dim=-1)).squeeze(-1)  # [N]
        if self.vote is not None:
            m = self.vote.to(h.dtype)
            for _ in range(self.vote_hops):
                m = m + torch.zeros_like(m).index_add(0, self.nb_src, m[self.nb_dst])
                m = m / (1.0 + self.nb_deg.to(h.dtype))
            a = a + VOTE_SCALE * m
        if self.lp_gain is not None:
            a = a + VOTE_SCALE * self.lp_gain.to(h.dtype) * self.lp_vote.to(h.dtype)
        w = self.w.to(h.dtype) * self.phi(self.logk.to(h.dtype)).squeeze(-1).exp()
        out = h.new_zeros(len(perturbed), self.n_out)
        for i, genes in enumerate(perturbed):
            for g in genes:
                sel = self.src == int(g)
                if bool(sel.any()):
                    out[i] = out[i].index_add(0, self.col[sel], a[int(g)] * w[sel])
        return out * self.log_gain.exp()

    # -- the label-propagated vote: fitted before training, kept by gene id --------------
    def _put_lp(self, graph: GeneGraph, ids: Sequence[str], effects: Tensor) -> Tensor:
        """Propagate the effects of genes ``ids`` over ``graph``'s prior edges and set v;
        returns v. Genes not in the graph are left out."""
        pos = {str(g): i for i, g in enumerate(graph.gene_ids)}
        keep = [i for i, g in enumerate(ids) if str(g) in pos]
        nodes = torch.tensor([pos[str(ids[i])] for i in keep], dtype=torch.long)
        votes = propagated_votes(
            len(graph.gene_ids), self.nb_src.cpu(), self.nb_dst.cpu(), nodes, effects[keep].cpu()
        )
        self.set_lp(votes)
        return votes

    def before_fit(self, model: GrapeModel, fit: FitData) -> None:
        """With ``lp``: fit o_t of every measured training single
        (:func:`~grapekg.model.grape.lp_vote.fitted_effects`) and put their leave-one-out
        votes on the model; records the singles and the share of them whose neighbours'
        vote has the sign of their own fitted effect (about one half when signs do not
        follow the prior graph)."""
        if self.lp_gain is None:
            return
        prof = fit.profiles
        singles, pert, rows = fit.singles()
        nodes = torch.tensor([p[0] for p in pert], dtype=torch.long)
        deltas = torch.as_tensor(prof.mean[rows] - prof.ctrl_mean[None], dtype=torch.float32)
        effects = fitted_effects(self.src.cpu(), self.col.cpu(), self.w.cpu(), nodes, deltas)
        ids = np.array([str(fit.graph.gene_ids[i]) for i in nodes.tolist()], dtype=str)
        self._lp_fit = (ids, effects.numpy())
        votes = self._put_lp(fit.graph, list(ids), effects)
        both = (effects != 0) & (votes[nodes] != 0)
        agree = float((torch.sign(effects) == torch.sign(votes[nodes]))[both].float().mean())
        self._lp_record = {
            "singles": float(len(singles)),
            "loo_sign_agreement": agree if bool(both.any()) else 0.0,
        }

    def after_fit(self, model: GrapeModel, fit: FitData) -> dict[str, Any] | None:
        """The label-propagated vote's record with its learned gain."""
        if self._lp_record is None or self.lp_gain is None:
            return None
        return {"lp_vote": self._lp_record | {"gain": float(self.lp_gain.detach())}}

    def save(self, run_dir: Path) -> None:
        if self._lp_fit is not None:
            np.savez(run_dir / LP_FILE, gene_ids=self._lp_fit[0], effect=self._lp_fit[1])

    def load(self, run_dir: Path, graph: GeneGraph) -> None:
        """With ``lp``: the effects of :data:`LP_FILE`, propagated over ``graph`` (any graph
        holding the genes: by gene id)."""
        if self.lp_gain is None:
            return
        f = run_dir / LP_FILE
        if not f.exists():
            raise ValueError(f"{f}: missing; the run has lp_vote on but was not finished")
        z = np.load(f, allow_pickle=False)
        self._put_lp(graph, [str(g) for g in z["gene_ids"]], torch.as_tensor(z["effect"]))
