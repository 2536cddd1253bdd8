"""What every model of ``grapekg.model`` trains on, and the training helpers they share.

The model layer imports nothing above it (no ``grapekg.perturb``, ``kg``, ``app``): its inputs
are arrays and the small types defined here. The app hands a model

- conditions as **canonical strings** (``ctrl``, ``A+ctrl``, ``A+B``, genes sorted; the app
  canonicalises every label with :mod:`grapekg.perturb.conditions` before training), read
  here by :func:`condition_genes`;
- condition mean profiles through :class:`Profiles` (the app's ``ConditionSummary`` has
  these attributes);
- the split through :class:`ConditionLists` (``train`` / ``val`` / ``test`` lists);
- where a model selects its epoch on the top DE genes, each condition's DE ranking (gene
  indices, most changed first) as a mapping ``condition -> ranking``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import torch

__all__ = [
    "CONTROL",
    "ConditionLists",
    "DeRanking",
    "Profiles",
    "condition_genes",
    "seed_everything",
    "top_de_excluding",
    "validation_score",
]

#: the canonical control condition
CONTROL = "ctrl"

#: condition -> gene indices ordered by differential expression, most changed first
DeRanking = Mapping[str, Sequence[int] | np.ndarray]


class Profiles(Protocol):
    """Mean expression per condition: ``mean`` / ``var`` ``[C, G]``, ``n_cells`` ``[C]``,
    ``ctrl_mean`` ``[G]``, the ``conditions`` (canonical) and ``gene_ids`` / ``gene_names``
    in column order; ``index(condition)`` is a condition's row."""

    gene_ids: Sequence[str] | np.ndarray
    gene_names: Sequence[str] | np.ndarray
    conditions: Sequence[str]
    mean: np.ndarray
    var: np.ndarray
    n_cells: np.ndarray
    ctrl_mean: np.ndarray

    def index(self, condition: str) -> int: ...


class ConditionLists(Protocol):
    """A split: the canonical conditions to fit on, to select the epoch on and to test."""

    train: list[str]
    val: list[str]
    test: list[str]


def condition_genes(condition: str) -> tuple[str, ...]:
    """The perturbed genes of a canonical condition string (``ctrl`` -> ``()``,
    ``A+ctrl`` -> ``("A",)``, ``A+B`` -> ``("A", "B")``)."""
    return tuple(g for g in condition.split("+") if g and g != CONTROL)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels.

    Seeds alone are not enough on a multi-threaded CPU: scatter-style kernels of the graph
    layers accumulate in thread order, so two identical runs drift apart by rounding. With
    ``torch.use_deterministic_algorithms`` they are bit-identical (tested). ``warn_only``:
    a kernel with no deterministic version (some CUDA scatters) warns once instead of
    failing.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False  # a NaN fill of every empty()


def top_de_excluding(
    ranking: Sequence[int] | np.ndarray | None, drop: set[int], num_genes: int, k: int = 20
) -> np.ndarray:
    """The first ``k`` genes of a DE ranking without the condition's own perturbed genes
    (``drop``, gene indices); all genes in order when there is no ranking."""
    rank = np.arange(num_genes) if ranking is None or len(ranking) == 0 else np.asarray(ranking)
    return np.asarray([int(i) for i in rank if int(i) not in drop][:k], dtype=np.int64)


def validation_score(
    pred: np.ndarray,
    true: np.ndarray,
    ctrl: np.ndarray,
    de20: list[np.ndarray] | None,
    select_on: str,
) -> float:
    """The score that selects the best epoch, lower is better: all-gene MSE (GRAPE Eq. 14),
    ``mse_de20`` (mean over conditions of the MSE on their top-20 DE genes, perturbed genes
    excluded) or ``pcc_de20`` (minus the mean Pearson correlation of predicted and true
    deltas on those genes; a condition with a constant delta there counts 0)."""
    if select_on == "mse" or de20 is None:
        return float(np.mean((pred - true) ** 2))
    vals = []
    for i, idx in enumerate(de20):
        p, t = pred[i, idx] - ctrl[idx], true[i, idx] - ctrl[idx]
        if select_on == "mse_de20":
            vals.append(float(np.mean((p - t) ** 2)))
        else:
            ok = p.std() > 1e-12 and t.std() > 1e-12
            vals.append(-float(np.corrcoef(p, t)[0, 1]) if ok else 0.0)
    return float(np.mean(vals)) if vals else 0.0
