"""The protocol every GRAPE extension follows: what it may change, and when.

The paper's model (Eq. 1-17, :mod:`~grapekg.model.grape.model`) stands on its own. An
extension is an ``nn.Module`` that joins it at fixed points of one forward pass and of one
training run, and nowhere else:

* **input** (:meth:`GrapeExtension.adjust_input`): P^(0) before the HGAT (Eq. 11);
* **prediction** (:meth:`GrapeExtension.contribute`): g̃_c after Eq. 12-13, in
  :class:`Stage` order: learned terms added to the prediction, then overrides of single
  entries, then anchors fitted after training;
* **training** (:meth:`GrapeExtension.before_fit` on the training data before the first
  epoch, :meth:`GrapeExtension.after_fit` on the best epoch's weights after the last);
* **run folder** (:meth:`GrapeExtension.save` / :meth:`GrapeExtension.load`): what was fitted
  outside the ``state_dict``, kept by gene id so that a larger graph can read it.

Each extension has its own typed setting on :class:`~grapekg.model.grape.config.GrapeConfig`
(a bool, or a small dataclass when it has options of its own) and is built from it by
:meth:`GrapeExtension.build`; :mod:`~grapekg.model.grape.extensions` lists them in the one
order that builds, registers and applies them. The model, its forward pass and the training
loop only iterate that list.

Intermediate results that several parts read are computed once per forward pass and shared
through :class:`Step` (the unperturbed HGAT pass: the incremental forward and the
prior-shock term both read it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from torch import Tensor, nn

from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.hetero import HeteroGAT, RelationEdges
from grapekg.model.training import CONTROL, Profiles, condition_genes

if TYPE_CHECKING:
    from grapekg.model.grape.model import GrapeModel

__all__ = ["ExtensionDims", "FitData", "GrapeExtension", "Stage", "Step"]


class Stage(IntEnum):
    """When an extension's :meth:`~GrapeExtension.contribute` runs (lower first; ties in
    the order of :data:`~grapekg.model.grape.extensions.EXTENSIONS`)."""

    #: a learned term added to the model's prediction
    TERM = 0
    #: replaces entries of the prediction (after every term, so it is not added to)
    OVERRIDE = 1
    #: fitted after training on the finished model's prediction, applied last
    ANCHOR = 2


@dataclass(frozen=True)
class ExtensionDims:
    """What an extension is built from besides its setting: the model width, the graph's
    node count and prior edges, and the output genes (their graph indices, each node's
    output column or −1, and their control mean)."""

    hidden: int
    num_nodes: int
    out_index: Tensor
    out_pos: Tensor
    ctrl: Tensor
    prior_edges: Tensor

    @property
    def num_out(self) -> int:
        return int(self.out_index.shape[0])


class Step:
    """One forward pass: the HGAT input ``x0`` (``[N, q]``, after every
    :meth:`~GrapeExtension.adjust_input`), the relations of this step, the batch's perturbed
    node lists, and the output genes' control mean ``ctrl`` and node → column map
    ``out_pos``. :meth:`base` is the unperturbed HGAT pass, computed on first use and then
    shared."""

    def __init__(
        self,
        hgat: HeteroGAT,
        x0: Tensor,
        relations: dict[tuple[str, str, str], RelationEdges],
        is_coding: Tensor,
        perturbed: list[list[int]],
        ctrl: Tensor,
        out_pos: Tensor,
    ) -> None:
        self.x0 = x0
        self.relations = relations
        self.is_coding = is_coding
        self.perturbed = perturbed
        self.ctrl = ctrl
        self.out_pos = out_pos
        self._hgat = hgat
        self._base: list[Tensor] | None = None

    def base(self) -> list[Tensor]:
        """P^(0..L) of the unperturbed graph (Eq. 11 with no row masked), ``L + 1`` tensors
        ``[N, q]``; one HGAT pass per step however many parts read it."""
        if self._base is None:
            self._base = [h[0] for h in self._hgat(self.x0[None], self.relations, self.is_coding)]
        return self._base


@dataclass
class FitData:
    """A training run as the extensions see it: the graph, the condition profiles, the
    training conditions (canonical strings), their perturbed nodes and mean profiles
    (``targets`` ``[T, G]``), the run folder, whether this process writes it (rank 0),
    whether the run resumed from ``last.pt``, and ``predict`` (perturbed node lists →
    ``[C, G]`` predictions of the model in eval mode)."""

    graph: GeneGraph
    profiles: Profiles
    train: list[str]
    perturbed: list[list[int]]
    targets: Tensor
    run_dir: Path
    writer: bool
    resumed: bool
    predict: Callable[[list[list[int]]], np.ndarray]

    def singles(self) -> tuple[list[str], list[list[int]], list[int]]:
        """The training singles, their perturbed node lists and their profile rows."""
        singles = [c for c in self.train if c != CONTROL and len(condition_genes(c)) == 1]
        return (
            singles,
            [self.graph.indices(list(condition_genes(c))) for c in singles],
            [self.profiles.index(c) for c in singles],
        )


class GrapeExtension(nn.Module):
    """An optional part of GRAPE outside the paper (module docstring). Every hook has a
    default that changes nothing, so an extension implements only the points it joins.

    Class attributes:
        attribute: the name the model registers it under (its ``state_dict`` prefix).
        stage: when :meth:`contribute` runs (:class:`Stage`).
        per_node_weights: names of its parameters with one entry per graph node, carried
            over by gene id when a run's weights are put on another graph.
    """

    attribute: ClassVar[str]
    stage: ClassVar[Stage] = Stage.TERM
    per_node_weights: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def build(cls, setting: Any, dims: ExtensionDims) -> GrapeExtension:
        """The extension for its ``GrapeConfig`` setting (True or its settings object)."""
        raise NotImplementedError

    def adjust_input(self, x0: Tensor) -> Tensor:
        """P^(0) before the HGAT: the fused features ``[N, q]`` (as adjusted so far)."""
        return x0

    def contribute(self, pred: Tensor, step: Step) -> Tensor:
        """The prediction ``[B, G]`` after this extension."""
        return pred

    def before_fit(self, model: GrapeModel, fit: FitData) -> None:
        """Before the first epoch (also of a resumed run, after its state is loaded)."""

    def after_fit(self, model: GrapeModel, fit: FitData) -> dict[str, Any] | None:
        """After the last epoch, on the best epoch's weights (rank 0 only); returns
        entries for the run's ``meta.json`` (key → record)."""
        return None

    def save(self, run_dir: Path) -> None:
        """Write what :meth:`before_fit` / :meth:`after_fit` fitted into the run folder."""

    def load(self, run_dir: Path, graph: GeneGraph) -> None:
        """Read what :meth:`save` wrote, onto the nodes of ``graph`` (by gene id)."""
