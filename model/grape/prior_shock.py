"""Optional signed diffusion of the knock-down over the prior graph (not in the GRAPE paper;
``GrapeConfig.prior_shock``).

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

With ``vote`` (``GrapeConfig.prior_vote``) the sign also comes from a learned per-gene value
b (zero-initialised), averaged over the regulator's closed prior neighbourhood:

    a(s) += β · (b_s + Σ_{t ∈ N(s)} b_t) / (1 + k_s)        (β = :data:`VOTE_SCALE`)

A trained regulator s' moves b on s' and its neighbours; a regulator never perturbed reads b
on its own neighbourhood, so it inherits the sign of the trained regulators within two prior
hops (label propagation learned by gradient descent). With ``vote_hops`` = h > 1
(``GrapeConfig.vote_hops``) the closed-neighbourhood average is applied h times,
m⁰ = b, m^{j+1}_s = (m^j_s + Σ_{t ∈ N(s)} m^j_t) / (1 + k_s), a(s) += β · m^h_s, so the sign
reaches 2h prior hops (measured on the learnable simulator's splits, seeds 1-15: the sign of
the trained regulators' modes summed over 1-2 prior hops is right for 60-100 % of a split's
unseen regulators, over 1-3 hops for 73-100 %). β only rescales b's step: Adam moves a
parameter by about the learning rate per step, and a few hundred steps at 1e-3 would leave b
far below the size of the effects.

With ``lp`` (``GrapeConfig.lp_vote``) a closed-form label-propagated vote v (fitted from the
training singles before training, :mod:`~grapekg.model.grape.lp_vote`) is added with a learned
gain g (zero start): a(s) += β · g · v_s.

All learned parts start at 0, so training starts where the model without it starts. Only
measured targets d get a term; a perturbed gene that has no prior edge contributes nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["VOTE_SCALE", "PriorShock"]

#: β of the vote term (module docstring)
VOTE_SCALE = 10.0


class PriorShock(nn.Module):
    """Δ_c = (a ∘ s_c) Â_out · diag(γ) (module docstring).

    Args:
        prior_edges: ``[2, E]`` global prior edges (both directions, no self-loops).
        out_pos: ``[N]`` output column of each node (−1: not measured).
        n_out: number of output genes. hidden: width of h.
        vote: add the learned neighbourhood vote b (module docstring).
        vote_hops: h, how many times the vote is averaged over closed neighbourhoods.
        lp: add the label-propagated vote v (set with :meth:`set_lp`) with a learned gain.
    """

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
