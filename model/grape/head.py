"""Per-gene output head (Eq. 12-13) and the reconstruction losses (Eq. 14-17).

Eq. 12: ĝ_c^i = Σ_d (W_i ⊙ p_c^i)_d + b_i (one weight vector and bias per gene);
Eq. 13: g̃_c = ĝ_c + ctrl, ctrl the control-cell mean.

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

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GeneHead", "direction_loss", "recon_loss"]


class GeneHead(nn.Module):
    """Eq. 12: an independent linear map ℝ^q → ℝ per output gene.

    Shapes:
        ``[..., G, q]`` → ``[..., G]`` (or rows ``[M, q]`` with gene indices ``[M]``).
    """

    def __init__(self, n_genes: int, hidden: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_genes, hidden))
        self.bias = nn.Parameter(torch.zeros(n_genes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.weight.shape[1])
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.zeros_(self.bias)

    def forward(self, p: Tensor, genes: Tensor | None = None) -> Tensor:
        if genes is None:
            return (p * self.weight).sum(-1) + self.bias
        return (p * self.weight[genes]).sum(-1) + self.bias[genes]


def direction_loss(pred: Tensor, target: Tensor, ctrl: Tensor, delta: float = 0.7) -> Tensor:
    """Eq. 15-16: Huber_δ between tanh of the true and predicted deltas, mean over genes."""
    return F.huber_loss(torch.tanh(pred - ctrl), torch.tanh(target - ctrl), delta=delta)


def recon_loss(pred: Tensor, target: Tensor, ctrl: Tensor, delta: float = 0.7,
               dir_weight: float = 1.0) -> tuple[Tensor, dict[str, float]]:
    """Eq. 17 = Eq. 14 + w·Eq. 15, means over genes and rows; returns (loss, parts)."""
    mse = F.mse_loss(pred, target)
    dir_ = direction_loss(pred, target, ctrl, delta)
    return mse + dir_weight * dir_, {"mse": float(mse.detach()), "dir": float(dir_.detach())}
