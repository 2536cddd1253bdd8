"""BioDSNN's loss (Eq. 7-10), condition level.

For a batch of T conditions with predicted mean profile g_hat_k, observed mean g_k, control
mean g^ctrl and the genes R_k retained for condition k (GEARS: genes with a non-zero mean in
the condition, all genes for the control):

    L_autofocus = 1/T sum_k 1/|R_k| sum_{u in R_k} |g_ku - g_hat_ku|^(2 + gamma)           (7)
    L_direction = 1/T sum_k 1/|R_k| sum_{u in R_k} h(u)^2                                 (8)
    h(u) = sign(g_u - g^ctrl_u) - tanh(k (g_hat_u - g^ctrl_u))                          (9')
    L = kl_weight L_KL + beta L_autofocus + lambda L_direction + recon_weight L_recon     (10)

Eq. 9 writes sign() on both sides; sign() has zero gradient, so the direction term never
trained GEARS or BioDSNN (GEARS issues #36, #52, #86). The prediction's sign is replaced by
tanh(k x) (k = ``direction_k``), the target's stays sign() (it needs no gradient).
``direction = "sign"`` keeps Eq. 9 as written (both sign(); the term's value is reported but
its gradient is zero, as in the authors' code).
The paper's Eq. 7 sums over cells of each perturbation; the bundles hold condition means, so
the error is taken on the mean profile (for gamma = 0 that differs from the per-cell form by
a constant; for gamma = 2 it is the autofocus loss of the mean).
L_KL is Eq. 4 (:func:`~grapekg.model.biodsnn.vae.kl_divergence`); L_recon is the mean squared
error of the VAE's regenerated control over the control's non-zero genes (the paper's
experimental settings: the VAE minimises "both reconstruction loss and KL divergence";
Eq. 10 leaves it out, ``recon_weight = 0`` reproduces Eq. 10 exactly).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["autofocus_loss", "biodsnn_loss", "direction_loss"]


def _masked_mean(x: Tensor, keep: Tensor) -> Tensor:
    per = (x * keep).sum(-1) / keep.sum(-1).clamp(min=1)
    return per.mean()


def autofocus_loss(pred: Tensor, target: Tensor, keep: Tensor, gamma: float = 2.0) -> Tensor:
    """Eq. 7 on ``[B, G]`` profiles; ``keep`` ``[B, G]`` (1 = gene retained)."""
    return _masked_mean((pred - target).abs().pow(2 + gamma), keep)


def direction_loss(
    pred: Tensor,
    target: Tensor,
    ctrl: Tensor,
    keep: Tensor,
    k: float = 10.0,
    form: str = "tanh",
) -> Tensor:
    """Eq. 8 with the differentiable Eq. 9' (tanh(k x) for the prediction's sign), or with
    Eq. 9 itself (``form = "sign"``: sign(g_hat_u - g^ctrl_u), zero gradient)."""
    d = pred - ctrl
    h = torch.sign(target - ctrl) - (torch.sign(d) if form == "sign" else torch.tanh(k * d))
    return _masked_mean(h.pow(2), keep)


def biodsnn_loss(
    pred: Tensor,
    target: Tensor,
    ctrl: Tensor,
    keep: Tensor,
    kl: Tensor,
    recon_err: Tensor,
    *,
    gamma: float,
    beta: float,
    lam: float,
    k: float,
    kl_weight: float,
    recon_weight: float,
    direction: str = "tanh",
) -> tuple[Tensor, dict[str, float]]:
    """Eq. 10; returns (loss, its parts as floats). ``direction``: Eq. 9' or Eq. 9
    (:func:`direction_loss`)."""
    af = autofocus_loss(pred, target, keep, gamma)
    dr = direction_loss(pred, target, ctrl, keep, k, direction)
    loss = beta * af + lam * dr + kl_weight * kl + recon_weight * recon_err
    parts = {
        "autofocus": float(af.detach()),
        "direction": float(dr.detach()),
        "kl": float(kl.detach()),
        "recon": float(recon_err.detach()),
        "mse": float(((pred - target) ** 2).mean().detach()),
    }
    return loss, parts
