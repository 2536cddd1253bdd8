"""Optional anchor on the measured singles (not in the GRAPE paper; ``GrapeConfig.single_anchor``).

GRAPE predicts a double A+B from the HGAT, the head and the optional terms, all shared over
genes: even when A+ctrl and B+ctrl were measured in training, the model's double is built
from its own fit of them, which is smoother than the data (measured on the learnable
simulator, issue 10: on doubles whose singles were both trained, GRAPE with ``prior_vote``
scored 0.76 Pearson delta DE20 where the sum of the observed singles scored 0.83). The
additive baseline has the opposite fault: it takes every measured single at face value, noise
included, and knows nothing of a single that was not measured. The anchor adds to the model's
prediction of any condition the shrunken training residual of each of its genes whose single
was measured in training:

    ŷ_S = f(S) + Σ_{g ∈ S ∩ M} λ_g ∘ r_g          (M: genes whose single is in train)
    r_g = ȳ_g − f({g})                              (observed mean minus the trained model)

with the per-entry empirical-Bayes (normal means) weight of the residual against the noise of
a mean of n_g cells: r_gd ~ N(ρ_gd, v_gd), ρ_gd ~ N(0, τ_d²), v_gd = s²_gd / n_g,

    τ_d² = max(0, mean_g r_gd² − mean_g v_gd),      λ_gd = τ_d² / (τ_d² + v_gd).

So a measured single is predicted between the model and the data, close to the data where
its residual is larger than noise, and a double of two measured singles becomes "additive of
the denoised singles plus the model's interaction" (f(A+B) − f(A) − f(B)); a gene never
perturbed in training keeps the model's prediction. The residuals are fitted after training
(the best epoch), so they do not change training or model selection; they are kept beside
the weights (``single_anchor.npz``) by gene id.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["SingleAnchor", "shrunk_residuals"]


def shrunk_residuals(
    observed: np.ndarray, predicted: np.ndarray, noise_var: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(λ ∘ r ``[M, G]``, τ² ``[G]``) of the module docstring; ``noise_var`` = s² / n of each
    entry (``[M, G]``). With no residual above the noise, λ = 0 everywhere."""
    r = np.asarray(observed, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    v = np.maximum(np.asarray(noise_var, dtype=np.float64), 0.0)
    if r.shape != v.shape:
        raise ValueError(f"residuals {r.shape} and noise variances {v.shape} differ in shape")
    if r.shape[0] == 0:
        return r, np.zeros(r.shape[1])
    tau2 = np.maximum((r**2).mean(axis=0) - v.mean(axis=0), 0.0)
    denom = tau2[None, :] + v
    lam = np.divide(tau2[None, :], denom, out=np.zeros_like(v), where=denom > 0)
    return lam * r, tau2


class SingleAnchor(nn.Module):
    """Σ_{g ∈ S ∩ M} λ_g ∘ r_g of each condition (module docstring); empty until :meth:`set`."""

    def __init__(self, n_nodes: int, n_out: int) -> None:
        super().__init__()
        self.register_buffer("row", torch.full((n_nodes,), -1, dtype=torch.long), persistent=False)
        self.register_buffer("value", torch.zeros(0, n_out), persistent=False)

    def set(self, nodes: Tensor, value: Tensor) -> None:
        """Anchor ``value[i]`` (``[M, n_out]``) on graph node ``nodes[i]``."""
        row = torch.full_like(self.row, -1)
        row[nodes.long().to(row.device)] = torch.arange(len(nodes), device=row.device)
        self.row = row
        self.value = value.float().to(self.row.device)

    def forward(self, perturbed: list[list[int]]) -> Tensor:
        out = self.value.new_zeros(len(perturbed), self.value.shape[1])
        if self.value.shape[0] == 0:
            return out
        for i, genes in enumerate(perturbed):
            rows = self.row[torch.as_tensor(genes, dtype=torch.long, device=self.row.device)]
            rows = rows[rows >= 0]
            if rows.numel():
                out[i] = self.value[rows].sum(0)
        return out
