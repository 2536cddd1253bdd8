"""Label-propagated regulator sign for the prior-shock term (not in the GRAPE paper;
``PriorShockConfig.lp_vote``).

The learned ``vote`` of :mod:`~grapekg.model.grape.prior_shock` is a per-gene value b,
learned by gradient descent and averaged over a closed prior neighbourhood, so a regulator
never perturbed in training hears only the trained regulators whose b reached its
neighbours: a low-degree unseen regulator often hears nobody (its vote is 0) and its sign
then comes from the readout of its embedding alone. This module computes the vote in closed
form from the training data instead, as label propagation does (Zhou et al., NIPS
2004: a random walk with restart over the graph):

* Fitted effect of each trained single t (the least-squares a(t) of the prior-shock term,
  Δ_t[d] ≈ a(t) · Â[t, d] over t's measured prior neighbours d, γ = 1, φ = 0):
      o_t = Σ_d Â[t, d] · Δ_t[d] / Σ_d Â[t, d]²      (Δ_t = mean profile − control mean)
* Walk kernel of the prior graph (P = D⁻¹A, row-stochastic; restart α):
      K = α Σ_{k≥0} (1 − α)^k P^k,   K[s, t] = the chance that a walk from s ends at t
* Leave-one-out vote of every gene s (its own fitted effect left out, so the gain that
  scales it is fitted on how well the *neighbours* predict a trained regulator, as they
  must for an unseen one; where signs do not follow the prior graph the gain has nothing
  to fit and stays near 0):
      v_s = Σ_{t ∈ T, t ≠ s} K[s, t] · o_t / Σ_{t ∈ T, t ≠ s} K[s, t]   (0 when no t is reached)

The prior-shock term then reads a(s) += β · g · v_s (g learned, starts at 0; β =
:data:`~grapekg.model.grape.prior_shock.VOTE_SCALE`). The effects are kept by gene id
beside the run's weights (:data:`~grapekg.model.grape.prior_shock.LP_FILE`), so a
prediction on an extended graph propagates them afresh.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["fitted_effects", "propagated_votes"]

#: restart probability α of the walk
RESTART = 0.5
#: walk length cut-off ((1 − α)^k below 1e-6)
STEPS = 20
#: trained genes propagated at once (memory: genes × this)
CHUNK = 256


def fitted_effects(src: Tensor, col: Tensor, w: Tensor, nodes: Tensor, deltas: Tensor) -> Tensor:
    """o_t of each trained single (module docstring). ``src``, ``col``, ``w``: the prior
    edges to measured genes (source node, output column, Â); ``nodes``: ``[T]`` the perturbed
    node of each single; ``deltas``: ``[T, n_out]`` their Δ. A single without measured prior
    neighbours gets 0."""
    out = deltas.new_zeros(nodes.shape[0])
    for j, node in enumerate(nodes.tolist()):
        sel = src == node
        if bool(sel.any()):
            a = w[sel].to(deltas.dtype)
            out[j] = (a * deltas[j, col[sel]]).sum() / (a * a).sum()
    return out


def propagated_votes(
    n: int, nb_src: Tensor, nb_dst: Tensor, nodes: Tensor, effects: Tensor
) -> Tensor:
    """v of every node (module docstring): ``nb_src``/``nb_dst`` the prior edges (both
    directions), ``nodes`` ``[T]`` the trained genes (each once: one training single per
    gene), ``effects`` their o_t."""
    deg = torch.bincount(nb_src, minlength=n).clamp_min(1).to(effects.dtype)
    num = effects.new_zeros(n)
    den = effects.new_zeros(n)
    for lo in range(0, int(nodes.shape[0]), CHUNK):
        part = nodes[lo : lo + CHUNK]
        x = effects.new_zeros(n, part.shape[0])
        x[part, torch.arange(part.shape[0])] = RESTART
        k = x.clone()
        for _ in range(STEPS):
            step = torch.zeros_like(x).index_add(0, nb_src, x[nb_dst]) / deg[:, None]
            x = (1.0 - RESTART) * step
            k = k + x
        k[part, torch.arange(part.shape[0])] = 0.0  # leave one out
        num = num + k @ effects[lo : lo + CHUNK]
        den = den + k.sum(1)
    return torch.where(den > 1e-12, num / den.clamp_min(1e-12), torch.zeros_like(num))
