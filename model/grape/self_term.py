"""Optional shared self-knock-down term (not in the GRAPE paper; ``GrapeConfig.self_term``).

In Eq. 12-13 the prediction for a perturbed gene v itself is ĝ_c^v = W_v · p_c^v + b_v + ctrl_v:
its head weights W_v and bias b_v are learned only from conditions in which v was an output
gene, i.e. from every condition but its own knock-down. For a gene never perturbed in training
the head has never seen its own drop, so the model predicts about the mean baseline there
(it then stays near -0.1 where the truth is -0.6 to -0.8). The knock-down of the target
itself is, however, the most regular part of a CRISPRi/KO response: its depth depends mostly on
how expressed the gene is. This term predicts it with one function shared by all genes:

    g̃_c^v = ctrl_v + f(ctrl_v)       for v ∈ S_c that are output genes
    f(x) = a + b·x + MLP(x)           MLP: 1 → 16 → 1 (tanh), last layer initialised to 0

which *replaces* Eq. 12-13 at those entries (the gene's own head is not used for its own
knock-down). ``a, b`` start at the least-squares fit of the training conditions' observed
self-deltas on the control expression (:meth:`SelfKnockdown.init_from`), so training starts
where the "mean + self knock-down" ceiling of the simulator starts; all three parts train with
the rest of the model. Genes that are perturbed but not measured (no output) are unaffected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from grapekg.model.grape.extension import ExtensionDims, FitData, GrapeExtension, Stage, Step

if TYPE_CHECKING:
    from grapekg.model.grape.model import GrapeModel

__all__ = ["SelfKnockdown", "self_deltas", "self_entries"]


class SelfKnockdown(GrapeExtension):
    """f(x) = a + b·x + MLP(x) of the control expression x (module docstring). It overrides
    entries of the prediction, so it runs after every additive term (:class:`Stage`)."""

    attribute = "self_term"
    stage = Stage.OVERRIDE

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.zeros(()))
        self.b = nn.Parameter(torch.zeros(()))
        self.mlp = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, 1))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    @torch.no_grad()
    def init_from(self, ctrl: np.ndarray, delta: np.ndarray) -> None:
        """Least squares ``delta ≈ a + b·ctrl`` over observed (ctrl, self-delta) pairs."""
        x = np.asarray(ctrl, dtype=np.float64)
        y = np.asarray(delta, dtype=np.float64)
        if x.size == 0:
            return
        if x.size == 1 or np.ptp(x) < 1e-8:
            a, b = float(y.mean()), 0.0
        else:
            b, a = np.polyfit(x, y, 1)
        self.a.fill_(float(a))
        self.b.fill_(float(b))

    def forward(self, x: Tensor) -> Tensor:
        return self.a + self.b * x + self.mlp(x[:, None]).squeeze(-1)

    @classmethod
    def build(cls, setting: Any, dims: ExtensionDims) -> SelfKnockdown:
        return cls()

    def contribute(self, pred: Tensor, step: Step) -> Tensor:
        """g̃_c^v = ctrl_v + f(ctrl_v) at the perturbed output genes v."""
        at = self_entries(step.perturbed, step.out_pos)
        if at is None:
            return pred
        level = step.ctrl[at[1]]
        own = (level + self(level)).to(pred.dtype)
        return pred.index_put(at, own)

    def before_fit(self, model: GrapeModel, fit: FitData) -> None:
        """a, b from the training self-deltas (a fresh run only: a resumed one has them)."""
        if not fit.resumed:
            self.init_from(*self_deltas(fit.perturbed, fit.targets, model.out_pos, model.ctrl))


def self_deltas(
    perturbed: list[list[int]], targets: Tensor, out_pos: Tensor, ctrl: Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """(control level, observed self-delta) of every measured perturbed gene of the
    conditions ``perturbed`` with mean profiles ``targets``."""
    at = self_entries(perturbed, out_pos.cpu())
    if at is None:
        return np.zeros(0), np.zeros(0)
    level = ctrl.cpu()[at[1]]
    return level.numpy(), (targets[at[0], at[1]] - level).numpy()


def self_entries(perturbed: list[list[int]], out_pos: Tensor) -> tuple[Tensor, Tensor] | None:
    """(row, output column) of every perturbed gene that is an output gene; None if none."""
    rows = [i for i, genes in enumerate(perturbed) for _ in genes]
    genes = [g for gs in perturbed for g in gs]
    if not genes:
        return None
    dev = out_pos.device
    pos = out_pos[torch.as_tensor(genes, dtype=torch.long, device=dev)]
    keep = pos >= 0
    if not bool(keep.any()):
        return None
    return torch.as_tensor(rows, dtype=torch.long, device=dev)[keep], pos[keep]
