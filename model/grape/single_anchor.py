"""Optional anchor on the measured singles (not in the GRAPE paper; ``GrapeConfig.single_anchor``).

GRAPE predicts a double A+B from the HGAT, the head and the optional terms, all shared over
genes: even when A+ctrl and B+ctrl were measured in training, the model's double is built
from its own fit of them, which is smoother than the data (on the learnable simulator's
doubles whose singles were both trained, the sum of the observed singles can be closer to the
truth than the model's double). The
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
the weights (:data:`ANCHOR_FILE`) by gene id.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from grapekg.model.grape.extension import ExtensionDims, FitData, GrapeExtension, Stage, Step
from grapekg.model.grape.graph import GeneGraph

if TYPE_CHECKING:
    from grapekg.model.grape.model import GrapeModel

__all__ = ["ANCHOR_FILE", "SingleAnchor", "shrunk_residuals"]

#: the residuals beside a run's weights (gene ids, λ ∘ r, τ²)
ANCHOR_FILE = "single_anchor.npz"


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


class SingleAnchor(GrapeExtension):
    """Σ_{g ∈ S ∩ M} λ_g ∘ r_g of each condition (module docstring); empty until :meth:`set`
    (by :meth:`after_fit` or :meth:`load`). Applied last, to the finished prediction."""

    attribute = "single_anchor"
    stage = Stage.ANCHOR

    def __init__(self, n_nodes: int, n_out: int) -> None:
        super().__init__()
        self.register_buffer("row", torch.full((n_nodes,), -1, dtype=torch.long), persistent=False)
        self.register_buffer("value", torch.zeros(0, n_out), persistent=False)
        self._fitted: dict[str, np.ndarray] | None = None

    @classmethod
    def build(cls, setting: Any, dims: ExtensionDims) -> SingleAnchor:
        return cls(dims.num_nodes, dims.num_out)

    def contribute(self, pred: Tensor, step: Step) -> Tensor:
        return pred + self(step.perturbed).to(pred.dtype)

    def after_fit(self, model: GrapeModel, fit: FitData) -> dict[str, Any] | None:
        """Fit λ ∘ r of every measured training single on the best epoch's model
        (:func:`shrunk_residuals`) and set them; records the singles and the share of the
        residual kept."""
        prof = fit.profiles
        singles, pert, rows = fit.singles()
        pred = fit.predict(pert) if singles else np.zeros((0, len(prof.gene_ids)))
        noise = prof.var[rows] / np.maximum(prof.n_cells[rows], 1)[:, None]
        value, tau2 = shrunk_residuals(prof.mean[rows], pred, noise)
        nodes = np.array([p[0] for p in pert], dtype=np.int64)
        ids = np.array([str(fit.graph.gene_ids[i]) for i in nodes], dtype=str)
        self._fitted = {"gene_ids": ids, "value": value.astype(np.float32), "tau2": tau2}
        self.set(torch.as_tensor(nodes), torch.as_tensor(value))
        resid = prof.mean[rows] - pred
        kept = float(np.abs(value).sum() / max(np.abs(resid).sum(), 1e-12)) if singles else 0.0
        return {"single_anchor": {"singles": float(len(singles)), "share_of_residual_kept": kept}}

    def save(self, run_dir: Path) -> None:
        if self._fitted is not None:
            np.savez(run_dir / ANCHOR_FILE, **self._fitted)

    def load(self, run_dir: Path, graph: GeneGraph) -> None:
        """The residuals of :data:`ANCHOR_FILE` on ``graph`` (any graph holding the genes)."""
        f = run_dir / ANCHOR_FILE
        if not f.exists():
            raise ValueError(f"{f}: missing; the run has single_anchor on but was not finished")
        z = np.load(f, allow_pickle=False)
        pos = {str(g): i for i, g in enumerate(graph.gene_ids)}
        keep = [i for i, g in enumerate(z["gene_ids"]) if str(g) in pos]
        nodes = torch.tensor([pos[str(z["gene_ids"][i])] for i in keep], dtype=torch.long)
        self.set(nodes, torch.as_tensor(z["value"][keep]))

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
