"""Optional perturbation channel: a direct path from the perturbed genes to every output gene.

Not in the GRAPE paper (off by default, ``GrapeConfig.pert_channel``). In Eq. 11-12 a
perturbation reaches output gene i only through the HGAT: masking gene v changes P^(L) only
for genes within L hops of v (that locality is what makes incremental propagation exact), so a
target that the learned + prior graph does not place near its regulator gets the mean-baseline
prediction whatever the training data say. GEARS adds a perturbation embedding to every gene
for the same reason. Here, for a condition c with perturbed set S_c:

    s_c = Σ_{v ∈ S_c} φ(Z_fus[v])          φ: Linear-GELU-Linear, ℝ^q → ℝ^q
    ĝ_c^i += U_i · s_c                      U_i ∈ ℝ^q per output gene, initialised to 0

added to Eq. 12 before the control mean (Eq. 13). φ reads the *unmasked* fused feature of
the perturbed gene (its identity, the same in training and prediction), so an unseen gene
gets the effect that genes with similar features had; the sum makes a double the sum of its
singles in this channel (interactions remain the HGAT's). U = 0 at the start, so training
still begins at the mean baseline. ``z`` is the HGAT input P^(0) before masking (Z_fus, plus
the control input when that extension is on).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from grapekg.model.grape.extension import ExtensionDims, GrapeExtension, Stage, Step

__all__ = ["PerturbationChannel"]


class PerturbationChannel(GrapeExtension):
    """s_c = Σ_{v∈S_c} φ(z_v); returns U s_c for every output gene.

    Shapes: ``z`` ``[N, q]`` fused features, ``perturbed`` B lists of graph indices →
    ``[B, G]`` (zeros for a condition with no perturbed gene).
    """

    attribute = "pert_channel"
    stage = Stage.TERM

    def __init__(self, n_out: int, hidden: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.readout = nn.Parameter(torch.zeros(n_out, hidden))

    @classmethod
    def build(cls, setting: Any, dims: ExtensionDims) -> PerturbationChannel:
        return cls(dims.num_out, dims.hidden)

    def contribute(self, pred: Tensor, step: Step) -> Tensor:
        """ĝ_c += U s_c."""
        return pred + self(step.x0, step.perturbed).to(pred.dtype)

    def forward(self, z: Tensor, perturbed: list[list[int]]) -> Tensor:
        b = len(perturbed)
        rows = [i for i, genes in enumerate(perturbed) for _ in genes]
        genes = [g for gs in perturbed for g in gs]
        s = z.new_zeros(b, z.shape[-1])
        if genes:
            idx = torch.as_tensor(genes, dtype=torch.long, device=z.device)
            at = torch.as_tensor(rows, dtype=torch.long, device=z.device)
            s = s.index_add(0, at, self.phi(z[idx]))
        return s @ self.readout.to(s.dtype).T
