"""Ceilings of a SYNTHETIC dataset: what a model could reach knowing part of the truth.

Computed from the simulation's saved truth (:class:`~grapekg.perturb.truth.SimulationTruth`)
on each seed's test conditions, like every baseline. Notation for test condition p with
perturbed genes P: E(z) = the expected observed mean of a noise-free log-mean z
(:func:`~grapekg.perturb.truth.expected_mean`: noise, library size and dropout of the
generator), z_p = the noise-free mean profile, μ = the noise-free control, s0_p = the true
knock-down shock, m_train = the mean baseline (mean of the split's training profiles).

* ``ceiling:mean+self``: ŷ = m_train, with ŷ_g = E(z_p)_g for g ∈ P (the mean baseline that
  also knows each perturbed gene's own true knock-down). On the ``_excl_pert`` metrics it
  equals the mean baseline by construction.
* ``ceiling:true-graph-avg-sign``: the true graph with each relation's average sign: W̄[s, d]
  = w̄_r on every true edge (s, d) of relation r, w̄_r = the mean signed weight of the true
  edges of r; δ̄_p = the generator's propagation of s0_p through W̄ (same damping, steps,
  reset of P and clipping; a double propagates its two shocks together, without its
  coefficients and interaction term); ŷ = m_train + E(max(μ + δ̄_p, 0)) − E(μ) (the mean
  baseline supplies the shared generic part), ŷ_P = E(z_p)_P as in mean+self.
* ``ceiling:true-graph-vote-sign``: the true graph and weights, the sign of each regulator
  never perturbed in training voted by the trained ones near it (what a model that knew the
  graph and inferred signs from its neighbours could reach): T = the genes perturbed in any
  training condition, o_t = sign(Σ_d W[t, d]) for t ∈ T, A = the true graph's adjacency
  (undirected, 0/1), v_s = sign(Σ_{t ∈ T, t ≠ s} (A + A²)[s, t] · o_t) (paths of one or two
  hops from s to trained genes vote; 0 when none); W̃[s, ·] = W[s, ·] for s ∈ T,
  |W[s, ·]| · v_s otherwise; δ̃_p and ŷ as for the average sign with W̃ in place of W̄.
* ``ceiling:oracle``: ŷ = E(z_p), the noise-free truth (only the cells' noise is left).

The fraction of the mean → oracle gap a model closes is computed by
:mod:`grapekg.evaluation.scoring` (``gap``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from grapekg.evaluation.baselines import TrainMean
from grapekg.evaluation.scoring import (
    CEILING_MEAN_SELF,
    CEILING_ORACLE,
    CEILING_TRUE_GRAPH,
    CEILING_VOTE,
    Predictions,
    perturbed_positions,
)
from grapekg.perturb.bundle import Bundle
from grapekg.perturb.conditions import CONTROL
from grapekg.perturb.splits import Split
from grapekg.perturb.truth import SimulationTruth, propagate

__all__ = [
    "CEILINGS",
    "ceiling_predictors",
    "mismatch",
    "relation_average_weights",
    "voted_weights",
]

CEILINGS = (CEILING_MEAN_SELF, CEILING_TRUE_GRAPH, CEILING_VOTE, CEILING_ORACLE)


def mismatch(truth: SimulationTruth, bundle: Bundle) -> str | None:
    """Why ``truth`` does not describe ``bundle`` (genes or conditions differ), else None."""
    ids = [str(g) for g in bundle.summary.gene_ids]
    if sorted(ids) != sorted(str(g) for g in truth.gene_ids):
        return "its genes differ from the dataset's"
    missing = sorted(set(bundle.summary.conditions) - set(truth.conditions))
    if missing:
        return f"{len(missing)} of the dataset's conditions are not in it (e.g. {missing[0]})"
    return None


def relation_average_weights(truth: SimulationTruth) -> np.ndarray:
    """W̄ on the true edges: each edge's weight replaced by the mean signed weight of the
    true edges of its relation (w̄_r)."""
    rel = np.asarray(truth.edge_relation).astype(str)
    w = np.asarray(truth.edge_weight, dtype=np.float64)
    out = np.zeros_like(w)
    for r in np.unique(rel):
        sel = rel == r
        out[sel] = w[sel].mean()
    return out


def voted_weights(truth: SimulationTruth, trained: np.ndarray) -> np.ndarray:
    """W̃ on the true edges (``ceiling:true-graph-vote-sign`` in the module docstring):
    ``trained`` = indices (truth order) of the genes perturbed in training."""
    n = len(truth.gene_ids)
    src = np.asarray(truth.edge_src, dtype=np.int64)
    dst = np.asarray(truth.edge_dst, dtype=np.int64)
    w = np.asarray(truth.edge_weight, dtype=np.float64)
    adj = sp.csr_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64)
    near = (adj + adj @ adj).tolil()
    near.setdiag(0)
    is_trained = np.zeros(n, dtype=bool)
    is_trained[np.asarray(trained, dtype=np.int64)] = True
    own = np.sign(np.bincount(src, weights=w, minlength=n)) * is_trained
    vote = np.sign(near.tocsr() @ own)
    return np.where(is_trained[src], w, np.abs(w) * vote[src])


def ceiling_predictors(truth: SimulationTruth, bundle: Bundle) -> dict[str, Predictions]:
    """The four ceilings of the module docstring as predictors (split -> condition ->
    profile in the bundle's gene order). The truth must match the bundle (:func:`mismatch`)."""
    why = mismatch(truth, bundle)
    if why is not None:
        raise ValueError(f"simulation truth does not match {bundle.name}: {why}")
    where = {str(g): i for i, g in enumerate(truth.gene_ids)}
    order = np.array([where[str(g)] for g in bundle.summary.gene_ids], dtype=np.int64)
    n = len(truth.gene_ids)
    params = truth.params
    mu = truth.mean[truth.row(CONTROL)]
    e_mu = truth.expected(mu)
    w_bar_t = sp.csr_matrix(
        (relation_average_weights(truth), (truth.edge_dst, truth.edge_src)), shape=(n, n)
    )
    observed = bundle.truth()
    cache: dict[tuple[str, str], np.ndarray] = {}

    def oracle(cond: str) -> np.ndarray:
        key = ("oracle", cond)
        if key not in cache:
            cache[key] = truth.expected(truth.mean[truth.row(cond)])[order]
        return cache[key]

    def graph_delta(cond: str, w_t: sp.csr_matrix = w_bar_t, tag: str = "avg") -> np.ndarray:
        key = (tag, cond)
        if key not in cache:
            shock = truth.shock[truth.row(cond)]
            delta = propagate(w_t, shock, params["damping"], params["propagation_steps"])
            cache[key] = (truth.expected(np.maximum(mu + delta, 0.0)) - e_mu)[order]
        return cache[key]

    def with_self(base: np.ndarray, cond: str, pos: np.ndarray) -> np.ndarray:
        out = base.copy()
        out[pos] = oracle(cond)[pos]
        return out

    def train_mean(split: Split) -> np.ndarray:
        train = {c: observed[c] for c in split.train if c != CONTROL and c in observed}
        model = TrainMean().fit(train, observed[CONTROL])
        return model.mean

    def mean_self(split: Split) -> dict[str, np.ndarray]:
        m = train_mean(split)
        pos = perturbed_positions(bundle, list(split.test))
        return {c: with_self(m, c, pos[c]) for c in split.test}

    def true_graph(split: Split) -> dict[str, np.ndarray]:
        m = train_mean(split)
        pos = perturbed_positions(bundle, list(split.test))
        return {c: with_self(m + graph_delta(c), c, pos[c]) for c in split.test}

    def vote_graph(split: Split) -> dict[str, np.ndarray]:
        m = train_mean(split)
        pos = perturbed_positions(bundle, list(split.test))
        rows = [truth.row(c) for c in split.train if c != CONTROL and c in truth.conditions]
        trained = np.flatnonzero(np.abs(truth.shock[rows]).sum(axis=0) > 0) if rows else []
        w_t = sp.csr_matrix(
            (voted_weights(truth, np.asarray(trained)), (truth.edge_dst, truth.edge_src)),
            shape=(n, n),
        )
        tag = f"vote:{split.name}:{split.seed}"
        return {c: with_self(m + graph_delta(c, w_t, tag), c, pos[c]) for c in split.test}

    def full(split: Split) -> dict[str, np.ndarray]:
        return {c: oracle(c) for c in split.test}

    fns: dict[str, Callable[[Split], dict[str, np.ndarray]]] = {
        CEILING_MEAN_SELF: mean_self,
        CEILING_TRUE_GRAPH: true_graph,
        CEILING_VOTE: vote_graph,
        CEILING_ORACLE: full,
    }
    return dict(fns)
