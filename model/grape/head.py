"""Per-gene output head (Eq. 12-13) and the reconstruction losses (Eq. 14-17).

Eq. 12: ĝ_c^i = Σ_d (W_i ⊙ p_c^i)_d + b_i (one weight vector and bias per gene);
Eq. 13: g̃_c = ĝ_c + ctrl, ctrl the control-cell mean.

Two choices the paper leaves open, made here and switchable:

* Initialisation: W_i = 0 and b_i = the mean training delta of gene i
  (:meth:`GeneHead.init_from_mean_delta`), so training starts from the *mean* baseline and
  learns what the graph adds to it. (A uniform init gives outputs of size ~0.5 on every gene
  at step 0, far larger than real deltas, and the first epochs are spent undoing that noise.)
* ``shared``: W_i = W_0 + V_i, a weight vector shared by all genes plus a per-gene part (a
  re-parametrisation of Eq. 12 that weight decay shrinks towards W_0). Without W_0 the head of
  a gene never perturbed in training has never seen the masked state (Eq. 11 input of a
  perturbed gene), so it cannot respond to its own knock-down; W_0 is learned from every
  perturbed gene and carries that response to unseen ones.

Eq. 14: ℒ_mse = mean_i (g_c^i − g̃_c^i)²;
Eq. 15-16: ℒ_dir = mean_i Huber_δ(tanh(g_c^i − ctrl_i), tanh(g̃_c^i − ctrl_i)) with
Huber_δ(a, b) = ½(a − b)² if |a − b| ≤ δ else δ(|a − b| − ½δ) (δ = 0.7, the authors' value);
Eq. 17: ℒ_recon = ℒ_mse + w_dir ℒ_dir.

Condition-level targets: for a condition with cells y_1..y_n and mean ȳ,
(1/n) Σ_c ‖y_c − ŷ‖² = ‖ȳ − ŷ‖² + (1/n) Σ_c ‖y_c − ȳ‖², so ℒ_mse against the mean has the
same gradient as against every cell (the authors repeat the prediction per cell). ℒ_dir is
not linear in y, so against the mean it is the Huber of the mean delta (documented change).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GeneHead", "direction_loss", "recon_loss"]


class GeneHead(nn.Module):
    """Eq. 12: an independent linear map ℝ^q → ℝ per output gene (plus a shared part).

    Args:
        n_genes: G output genes. hidden: q.
        shared: add the shared weight vector W_0 (module docstring).

    Shapes:
        ``[..., G, q]`` → ``[..., G]`` (or rows ``[M, q]`` with gene indices ``[M]``).
    """

    def __init__(self, n_genes: int, hidden: int, shared: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_genes, hidden))
        self.bias = nn.Parameter(torch.zeros(n_genes))
        self.shared = nn.Parameter(torch.zeros(hidden)) if shared else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)
        if self.shared is not None:
            nn.init.zeros_(self.shared)

    @torch.no_grad()
    def init_from_mean_delta(self, delta: Tensor) -> None:
        """b_i = mean training delta of gene i (``[G]``): step 0 predicts the mean baseline."""
        self.bias.copy_(delta.to(self.bias))

    def forward(self, p: Tensor, genes: Tensor | None = None) -> Tensor:
        w = self.weight if genes is None else self.weight[genes]
        b = self.bias if genes is None else self.bias[genes]
        if self.shared is not None:
            w = w + self.shared
        return (p * w).sum(-1) + b


def direction_loss(pred: Tensor, target: Tensor, ctrl: Tensor, delta: float = 0.7) -> Tensor:
    """Eq. 15-16: Huber_δ between tanh of the true and predicted deltas, mean over genes."""
    return F.huber_loss(torch.tanh(pred - ctrl), torch.tanh(target - ctrl), delta=delta)


def recon_loss(
    pred: Tensor, target: Tensor, ctrl: Tensor, delta: float = 0.7, dir_weight: float = 1.0
) -> tuple[Tensor, dict[str, float]]:
    """Eq. 17 = Eq. 14 + w·Eq. 15, means over genes and rows; returns (loss, parts)."""
    mse = F.mse_loss(pred, target)
    dir_ = direction_loss(pred, target, ctrl, delta)
    return mse + dir_weight * dir_, {"mse": float(mse.detach()), "dir": float(dir_.detach())}
