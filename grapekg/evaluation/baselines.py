"""Honest baselines for perturbation-effect prediction (REFERENCES 5).

All share one interface: ``fit(train_means, ctrl_mean, gene_names=None)`` with
``train_means`` a dict condition -> mean profile of the training perturbations (canonical
condition strings, ``ctrl`` excluded) and μ = ``ctrl_mean``; then ``predict(conditions)``
-> dict condition -> predicted mean profile. Notation: δ_p = ȳ_p − μ (training delta).

* :class:`NoChange`: ŷ_p = μ.
* :class:`TrainMean`: ŷ_p = (1/|T|) Σ_{q∈T} ȳ_q (mean over training perturbations).
* :class:`Additive`: ŷ_{A+B} = μ + d_A + d_B with d_X = δ_{X+ctrl} when the single X was in
  training, otherwise the fallback d̄ = mean of the training single deltas (mean of all
  training deltas when there are no singles); a single is predicted as μ + d_X.
* :class:`LinearPCA` (Ahlmann-Eltze et al.): Y (genes × training perts) = δ's, b = row
  means, Yc = Y − b; gene embedding G (genes × K) = PCA scores of Yc with genes as
  observations (columns of Yc centred, then G = U_K S_K from the SVD); perturbation embedding
  of a gene = its row of G if measured, of a double the sum of its genes' rows, of an
  unmeasured gene 0 (so the prediction falls back to the training mean);
  W = (GᵀG + λI)⁻¹ Gᵀ Yc Pᵀ (PPᵀ + λI)⁻¹; ŷ = G W p + b + μ. K = 10, λ = 0.1. The SVD is
  exact (no randomness); signs fixed so each component's largest |entry| is positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from grapekg.perturb.conditions import parse_condition

__all__ = ["Additive", "BASELINES", "Baseline", "LinearPCA", "NoChange", "TrainMean"]


class Baseline(Protocol):
    """fit(train condition means, ctrl mean) -> predict(conditions) -> dict."""

    def fit(
        self,
        train_means: Mapping[str, np.ndarray],
        ctrl_mean: np.ndarray,
        gene_names: Sequence[str] | None = None,
    ) -> Baseline: ...

    def predict(self, conditions: Iterable[str]) -> dict[str, np.ndarray]: ...


def _perts(train_means: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {c: np.asarray(v, dtype=np.float64) for c, v in train_means.items() if parse_condition(c)}
    if not out:
        raise ValueError("train_means holds no perturbation condition (only ctrl or empty)")
    return out


class NoChange:
    """ŷ_p = μ for every condition."""

    def fit(
        self,
        train_means: Mapping[str, np.ndarray],
        ctrl_mean: np.ndarray,
        gene_names: Sequence[str] | None = None,
    ) -> NoChange:
        self.ctrl = np.asarray(ctrl_mean, dtype=np.float64)
        return self

    def predict(self, conditions: Iterable[str]) -> dict[str, np.ndarray]:
        return {c: self.ctrl.copy() for c in conditions}


class TrainMean:
    """ŷ_p = (1/|T|) Σ_{q∈T} ȳ_q."""

    def fit(
        self,
        train_means: Mapping[str, np.ndarray],
        ctrl_mean: np.ndarray,
        gene_names: Sequence[str] | None = None,
    ) -> TrainMean:
        self.mean = np.mean(np.stack(list(_perts(train_means).values())), axis=0)
        return self

    def predict(self, conditions: Iterable[str]) -> dict[str, np.ndarray]:
        return {c: self.mean.copy() for c in conditions}


class Additive:
    """ŷ = μ + Σ_{X∈p} d_X, d_X = δ_{X+ctrl} if seen else the mean training single delta."""

    def fit(
        self,
        train_means: Mapping[str, np.ndarray],
        ctrl_mean: np.ndarray,
        gene_names: Sequence[str] | None = None,
    ) -> Additive:
        self.ctrl = np.asarray(ctrl_mean, dtype=np.float64)
        perts = _perts(train_means)
        self.single_delta = {
            parse_condition(c)[0]: v - self.ctrl
            for c, v in perts.items()
            if len(parse_condition(c)) == 1
        }
        pool = list(self.single_delta.values()) or [v - self.ctrl for v in perts.values()]
        self.fallback = np.mean(np.stack(pool), axis=0)
        return self

    def predict(self, conditions: Iterable[str]) -> dict[str, np.ndarray]:
        out = {}
        for c in conditions:
            deltas = [self.single_delta.get(g, self.fallback) for g in parse_condition(c)]
            out[c] = self.ctrl + np.sum(deltas, axis=0) if deltas else self.ctrl.copy()
        return out


class LinearPCA:
    """Linear model of Ahlmann-Eltze et al. (formulas in the module docstring)."""

    def __init__(self, n_components: int = 10, ridge: float = 0.1) -> None:
        self.n_components = n_components
        self.ridge = ridge

    def fit(
        self,
        train_means: Mapping[str, np.ndarray],
        ctrl_mean: np.ndarray,
        gene_names: Sequence[str] | None = None,
    ) -> LinearPCA:
        if gene_names is None:
            raise ValueError("LinearPCA needs gene_names to embed the perturbed genes")
        self.ctrl = np.asarray(ctrl_mean, dtype=np.float64)
        self.position = {str(g): i for i, g in enumerate(gene_names)}
        perts = _perts(train_means)
        y = np.stack([v - self.ctrl for v in perts.values()], axis=1)  # genes × perts
        self.offset = y.mean(axis=1)
        yc = y - self.offset[:, None]
        centred = yc - yc.mean(axis=0, keepdims=True)
        u, s, vt = np.linalg.svd(centred, full_matrices=False)
        k = int(min(self.n_components, np.sum(s > 1e-10 * max(s.max(), 1e-300))))
        k = max(k, 1)
        flip = np.sign(u[np.argmax(np.abs(u[:, :k]), axis=0), range(k)])
        flip[flip == 0] = 1.0
        self.gene_emb = u[:, :k] * s[:k] * flip  # G: genes × K
        p = np.stack([self._embed(c) for c in perts], axis=1)  # K × perts
        g, lam = self.gene_emb, self.ridge
        left = np.linalg.solve(g.T @ g + lam * np.eye(k), g.T @ yc @ p.T)
        self.weights = np.linalg.solve((p @ p.T + lam * np.eye(k)).T, left.T).T
        return self

    def _embed(self, condition: str) -> np.ndarray:
        rows = [
            self.gene_emb[self.position[g]]
            for g in parse_condition(condition)
            if g in self.position
        ]
        return np.sum(rows, axis=0) if rows else np.zeros(self.gene_emb.shape[1])

    def predict(self, conditions: Iterable[str]) -> dict[str, np.ndarray]:
        return {
            c: self.gene_emb @ self.weights @ self._embed(c) + self.offset + self.ctrl
            for c in conditions
        }


BASELINES: dict[str, type] = {
    "no_change": NoChange,
    "train_mean": TrainMean,
    "additive": Additive,
    "linear_pca": LinearPCA,
}
"""Registry name -> class; every class builds with no arguments."""
