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
  A test condition none of whose genes is measured gets p = 0, i.e. exactly the mean
  baseline: :meth:`LinearPCA.not_applicable` names those ("target not measured").
* :class:`LinearKG`: the same model with the perturbation embedding taken from the KG
  instead of G: p_X = row of E for gene X, E (genes × K') = U_K' S_K' of the truncated SVD of
  the binary membership matrix M (genes × GO BP terms ∪ Reactome pathways) over the
  dataset's measured genes and targets (:func:`membership_embedding`, K' = 10); a double =
  the sum of its genes' rows; W = (GᵀG + λI)⁻¹ Gᵀ Yc Pᵀ (PPᵀ + λI)⁻¹ (K × K'). It works for
  unmeasured targets; a target without any membership gets p = 0 (= the mean baseline) and
  is counted (:meth:`LinearKG.without_embedding`).
* :class:`KGRetrievalDelta` (``kg-retrieval``): an unseen gene X gets the similarity-weighted
  mean of the training singles' deltas, d_X = Σ_q u_q δ_q / Σ_q u_q over the top-k training
  singles q by s(X, q) = Σ_k J_k(X, q) (Jaccard of GO term sets, Jaccard of closed STRING
  neighbourhoods, ... one term per knowledge source given: the similarity of
  :class:`grapekg.evaluation.label_baselines.KGRetrieval`), u_q = s(X, q)^γ, only q with
  s > 0; a gene measured as a training single keeps its own δ; a gene without any similar
  training single gets the fallback d̄ (mean of all training deltas: the mean baseline);
  ŷ = μ + Σ_{X∈p} d_X (a double is additive over its genes). Without knowledge it is
  :class:`TrainMean` for singles. :meth:`KGRetrievalDelta.without_embedding` names the genes
  predicted by the fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np

from grapekg.perturb.conditions import parse_condition

__all__ = [
    "Additive",
    "BASELINES",
    "Baseline",
    "KGRetrievalDelta",
    "LinearKG",
    "LinearPCA",
    "NoChange",
    "TrainMean",
    "membership_embedding",
]

TARGET_NOT_MEASURED = "target not measured"


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
        p = np.stack([self._embed(c) for c in perts], axis=1)  # K' × perts
        g, lam, kp = self.gene_emb, self.ridge, p.shape[0]
        left = np.linalg.solve(g.T @ g + lam * np.eye(k), g.T @ yc @ p.T)
        self.weights = np.linalg.solve((p @ p.T + lam * np.eye(kp)).T, left.T).T
        return self

    def not_applicable(self, conditions: Iterable[str]) -> dict[str, str]:
        """Conditions none of whose genes is measured (p = 0: the prediction IS the mean
        baseline) -> ``"target not measured"``."""
        return {
            c: TARGET_NOT_MEASURED
            for c in conditions
            if parse_condition(c) and not any(g in self.position for g in parse_condition(c))
        }

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


def membership_embedding(
    memberships: Mapping[str, Iterable[str]], genes: Sequence[str], n_components: int = 10
) -> dict[str, np.ndarray]:
    """Gene embedding from annotation memberships: M_{g,t} = 1 when gene g ∈ ``genes`` is a
    member of term t (GO BP term or Reactome pathway; ``memberships`` gene -> terms), terms
    = union over ``genes``; truncated SVD M = U S Vᵀ, E = U_K S_K (K = min(n_components,
    rank)), signs fixed so each column's largest |entry| is positive. Returns gene -> row of
    E for the genes with at least one membership (others are absent: the caller's zero
    vector)."""
    genes = list(dict.fromkeys(str(g) for g in genes if memberships.get(str(g))))
    terms = sorted({str(t) for g in genes for t in memberships[g]})
    if not genes or not terms:
        return {}
    col = {t: j for j, t in enumerate(terms)}
    m = np.zeros((len(genes), len(terms)))
    for i, g in enumerate(genes):
        m[i, [col[str(t)] for t in memberships[g]]] = 1.0
    u, s, _ = np.linalg.svd(m, full_matrices=False)
    k = max(1, int(min(n_components, np.sum(s > 1e-10 * s.max()))))
    flip = np.sign(u[np.argmax(np.abs(u[:, :k]), axis=0), range(k)])
    flip[flip == 0] = 1.0
    emb = u[:, :k] * s[:k] * flip
    if k < n_components:  # constant width K' (zero columns change no prediction)
        emb = np.hstack([emb, np.zeros((len(genes), n_components - k))])
    return {g: emb[i] for i, g in enumerate(genes)}


class LinearKG(LinearPCA):
    """:class:`LinearPCA` with the perturbation embedding from the KG (module docstring);
    ``embedding``: gene symbol or Ensembl id -> vector (all of one length), e.g. from
    :func:`membership_embedding`."""

    def __init__(
        self,
        embedding: Mapping[str, np.ndarray] | None = None,
        n_components: int = 10,
        ridge: float = 0.1,
    ) -> None:
        super().__init__(n_components, ridge)
        self.embedding = {
            str(k): np.asarray(v, dtype=np.float64) for k, v in (embedding or {}).items()
        }
        widths = {v.shape for v in self.embedding.values()}
        if len(widths) > 1:
            raise ValueError(f"embedding vectors differ in length: {sorted(widths)}")
        self.width = next(iter(widths))[0] if widths else n_components

    def _embed(self, condition: str) -> np.ndarray:
        rows = [self.embedding[g] for g in parse_condition(condition) if g in self.embedding]
        return np.sum(rows, axis=0) if rows else np.zeros(self.width)

    def not_applicable(self, conditions: Iterable[str]) -> dict[str, str]:
        """None: the KG embedding does not need the target to be measured."""
        return {}

    def without_embedding(self, conditions: Iterable[str]) -> list[str]:
        """Perturbed genes of ``conditions`` that have no embedding (predicted from p = 0)."""
        return sorted(
            {g for c in conditions for g in parse_condition(c) if g not in self.embedding}
        )


class KGRetrievalDelta:
    """Expression ``kg-retrieval`` (module docstring). ``sources``: name -> (gene symbol or
    Ensembl id, as in the condition strings -> set of items); ``closed``: the sources whose
    sets are neighbourhoods."""

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        *,
        top_k: int | None = 20,
        power: float = 1.0,
        closed: Iterable[str] = ("string",),
    ) -> None:
        self.sources = {
            k: {str(g): set(v) for g, v in s.items() if v} for k, s in (sources or {}).items()
        }
        self.top_k, self.power, self.closed = top_k, power, set(closed)

    def fit(
        self,
        train_means: Mapping[str, np.ndarray],
        ctrl_mean: np.ndarray,
        gene_names: Sequence[str] | None = None,
    ) -> KGRetrievalDelta:
        self.ctrl = np.asarray(ctrl_mean, dtype=np.float64)
        perts = _perts(train_means)
        self.fallback = np.mean(np.stack([v - self.ctrl for v in perts.values()]), axis=0)
        self.single_delta = {
            parse_condition(c)[0]: v - self.ctrl
            for c, v in perts.items()
            if len(parse_condition(c)) == 1
        }
        self.singles = sorted(self.single_delta)
        return self

    def _retrieved(self, genes: Sequence[str]) -> dict[str, np.ndarray | None]:
        """Retrieved delta of each gene (None where no training single is similar)."""
        from grapekg.evaluation.label_baselines import jaccard_similarity

        out: dict[str, np.ndarray | None] = dict.fromkeys(genes)
        if not genes or not self.singles or not self.sources:
            return out
        sim = sum(
            jaccard_similarity(genes, self.singles, s, closed=k in self.closed)
            for k, s in self.sources.items()
        )
        deltas = np.stack([self.single_delta[q] for q in self.singles])
        for i, g in enumerate(genes):
            s = np.asarray(sim[i], dtype=np.float64)
            if self.top_k is not None and self.top_k < len(s):
                cut = np.argsort(-s, kind="stable")[self.top_k :]
                s = s.copy()
                s[cut] = 0.0
            u = np.where(s > 0, s**self.power, 0.0)
            if u.sum() > 0:
                out[g] = u @ deltas / u.sum()
        return out

    def predict(self, conditions: Iterable[str]) -> dict[str, np.ndarray]:
        conditions = list(conditions)
        unseen = sorted(
            {g for c in conditions for g in parse_condition(c) if g not in self.single_delta}
        )
        self._last = self._retrieved(unseen)
        out = {}
        for c in conditions:
            ds = []
            for g in parse_condition(c):
                d = self.single_delta.get(g)
                if d is None:
                    d = self._last.get(g)
                ds.append(self.fallback if d is None else d)
            out[c] = self.ctrl + np.sum(ds, axis=0) if ds else self.ctrl.copy()
        return out

    def without_embedding(self, conditions: Iterable[str]) -> list[str]:
        """Perturbed genes of ``conditions`` predicted by the fallback (not a training single,
        no similar training single)."""
        genes = sorted(
            {g for c in conditions for g in parse_condition(c) if g not in self.single_delta}
        )
        got = self._retrieved(genes)
        return [g for g in genes if got[g] is None]


BASELINES: dict[str, type] = {
    "no_change": NoChange,
    "train_mean": TrainMean,
    "additive": Additive,
    "linear_pca": LinearPCA,
    "linear_kg": LinearKG,
    "kg_retrieval": KGRetrievalDelta,
}
"""Registry name -> class; every class builds with no arguments."""
