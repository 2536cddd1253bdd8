"""Scores of (perturbation, gene) -> P(label = 1) predictions on a label test set.

* **AUC per gene** (PerturbQA, Wu et al. ICLR 2025, ``perturbqa/eval.py::auc_per_gene``): for
  every downstream gene g, the ROC AUC over the test pairs of g,

      AUC_g = (Σ_{i∈P_g} r_i − |P_g|(|P_g|+1)/2) / (|P_g| |N_g|)

  with P_g / N_g the positive / negative test pairs of g and r_i the rank of pair i's score
  among g's test pairs (tied scores get their mean rank: the Mann-Whitney form of ROC AUC, so
  a tie counts one half); genes whose test labels are all 0 or all 1 are skipped; the score is
  the mean of AUC_g over the remaining genes. A per-gene constant scores exactly 0.5: the
  metric asks *which perturbations* move a gene, not which genes move often.
* **AUPRC per gene**: average precision AP_g = Σ_k (R_k − R_{k−1}) P_k over the distinct
  score thresholds of g's test pairs in decreasing order (R = recall, P = precision at that
  threshold, R_0 = 0; scikit-learn's ``average_precision_score``), averaged over the same
  genes as the AUC. A per-gene constant scores the gene's positive rate.
* **AUPRC pooled**: the same average precision over all test pairs of those genes at once
  (genes mixed: rewards calibrated per-gene rates as well as the ranking within genes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["LabelScores", "average_precision", "roc_auc", "score_labels"]


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties get the mean of their ranks."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), dtype=np.float64)
    start = 0
    for end in np.r_[np.flatnonzero(np.diff(xs)) + 1, len(xs)]:
        ranks[order[start:end]] = 0.5 * (start + 1 + end)
        start = end
    return ranks


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties one half); NaN when ``y`` holds one class only."""
    y = np.asarray(y).astype(bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = _ranks(np.asarray(score, dtype=np.float64))
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Σ_k (R_k − R_{k−1}) P_k over distinct thresholds (module docstring); NaN without
    positives."""
    y = np.asarray(y).astype(np.float64)
    if y.sum() == 0:
        return float("nan")
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each threshold
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass
class LabelScores:
    """``auc`` / ``auprc``: means over the ``n_genes`` scored genes; ``auprc_pooled``; the
    ``n_skipped`` genes with one test class; ``per_gene``: gene -> (AUC, AP)."""

    auc: float
    auprc: float
    auprc_pooled: float
    n_genes: int
    n_skipped: int
    per_gene: dict[str, tuple[float, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "auc": self.auc,
            "auprc": self.auprc,
            "auprc_pooled": self.auprc_pooled,
            "n_genes": self.n_genes,
            "n_skipped": self.n_skipped,
        }


def score_labels(
    genes: Sequence[str] | np.ndarray, y_true: Sequence[int] | np.ndarray, score: np.ndarray
) -> LabelScores:
    """The module's three scores for test pairs given as parallel arrays (gene of the pair,
    its 0/1 label, the predicted score)."""
    genes = np.asarray(genes, dtype=object)
    y = np.asarray(y_true).astype(np.int8)
    s = np.asarray(score, dtype=np.float64)
    if not (len(genes) == len(y) == len(s)):
        raise ValueError("genes, labels and scores differ in length")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores hold NaN or infinite values")
    per_gene: dict[str, tuple[float, float]] = {}
    keep = np.zeros(len(y), dtype=bool)
    skipped = 0
    for g, idx in pd.Series(np.arange(len(y))).groupby(genes, sort=True):
        rows = idx.to_numpy()
        yy = y[rows]
        if yy.min() == yy.max():
            skipped += 1
            continue
        per_gene[str(g)] = (roc_auc(yy, s[rows]), average_precision(yy, s[rows]))
        keep[rows] = True
    if not per_gene:
        nan = float("nan")
        return LabelScores(nan, nan, nan, 0, skipped)
    vals = np.array(list(per_gene.values()))
    return LabelScores(
        auc=float(vals[:, 0].mean()),
        auprc=float(vals[:, 1].mean()),
        auprc_pooled=average_precision(y[keep], s[keep]),
        n_genes=len(per_gene),
        n_skipped=skipped,
        per_gene=per_gene,
    )
