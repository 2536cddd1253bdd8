"""Optional control input to the HGAT (not in the GRAPE paper; ``GrapeConfig.control_input``).

The paper's nodes see only sequence and text (Z_fus, Eq. 2): the HGAT cannot tell a gene
that is highly expressed in control cells from one that is silent, although how much a
knock-down can move a gene depends on it. This extension adds both to the HGAT input:

    P^(0) = Z_fus + A · [x̂_v, m_v]

x̂_v the control mean of node v standardised over the output genes (0 for a node that is
not measured), m_v its "measured" flag, A a learned ℝ² → ℝ^q affine map (an ``nn.Linear``'s
weight and bias, initialised as ``nn.Linear`` initialises them). Masking (Eq. 11) then
replaces a perturbed row whole, control part included, as in the paper.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grapekg.model.grape.extension import ExtensionDims, GrapeExtension

__all__ = ["ControlInput", "node_control"]


def node_control(num_nodes: int, out_index: Tensor, ctrl: Tensor) -> Tensor:
    """``[N, 2]``: (x̂_v, m_v) of every node (module docstring)."""
    out = torch.zeros(num_nodes, 2)
    x = ctrl.float()
    out[out_index.long(), 0] = (x - x.mean()) / x.std().clamp_min(1e-6)
    out[out_index.long(), 1] = 1.0
    return out


class ControlInput(GrapeExtension):
    """P^(0) += A · [x̂, m] (module docstring); registered as ``ctrl_in`` with the
    ``weight`` / ``bias`` of the affine map A."""

    attribute = "ctrl_in"

    def __init__(self, hidden: int, node_ctrl: Tensor) -> None:
        super().__init__()
        affine = nn.Linear(2, hidden)
        self.weight = affine.weight
        self.bias = affine.bias
        self.register_buffer("node_ctrl", node_ctrl.float().clone(), persistent=False)

    @classmethod
    def build(cls, setting: Any, dims: ExtensionDims) -> ControlInput:
        return cls(dims.hidden, node_control(dims.num_nodes, dims.out_index, dims.ctrl))

    def adjust_input(self, x0: Tensor) -> Tensor:
        return x0 + F.linear(self.node_ctrl.to(x0.dtype), self.weight, self.bias)
