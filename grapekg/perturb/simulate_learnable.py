"""The planted network of the SYNTHETIC ``learnable`` simulator (steps 2a-2c of
:mod:`grapekg.perturb.simulate`): regulator modes that follow the KG annotations, edges that
mostly join genes sharing a Reactome pathway or GO term.

Notation: T = the shared terms of the gene table (pathways and GO terms with at least two
member genes, keyed ``pathways:<id>`` / ``go_terms:<id>`` and sorted by that key), n_t = the
members of term t in the table, T_g = the shared terms of gene g.

* Modules: the module of gene g is t*(g) = its shared term with the most members (ties: the
  first in sorted order), the gene's most general annotation; genes sharing a large pathway
  or GO term mostly share their module.
* Module mode m_t: the shared terms ranked by (−n_t, key); m_t = +1 at even rank, −1 at odd
  rank (no hashing: the rule reads only term sizes and the sorted ids; it alternates down the
  size order, so activators and repressors are balanced).
* Regulator mode of gene g: M_g = m_{t*(g)}; M_g = ``mode_default[class]`` (+1 for c, −1 for
  nc unless configured) when g has no shared term. Pairs sharing a term, and prior pairs,
  agree on their mode only a little more often than by chance: too weak to infer an unseen
  regulator's sign, and few of the term pairs planted that way are prior edges the models
  receive (figures in docs/benchmarks.md).
* With given prior pairs (``grape data simulate``) the mode is instead M_g = the mode of g's
  community in the prior graph (:func:`graph_modes`): nearly every prior pair joins genes
  of one mode, so the trained neighbours of an unseen regulator tell its sign, unless its
  community has no trained member.
* Edges: E = round(``edges_per_gene`` · G) ordered pairs, a share ``prior_share`` of them
  prior edges. When the caller gives the prior pairs the models receive (``grape data
  simulate`` does: the KG's GO-Jaccard and Reactome prior edges among the chosen genes,
  both directions), every one of those pairs is planted and E = their number /
  ``prior_share`` (``edges_per_gene`` does not apply), so the planted network is the graph
  GRAPE, BioDSNN and GEARS are given, signed by the regulator modes, plus background edges.
  Without them (the Python API on a bare gene table): source s uniform among the genes with
  T_s ≠ ∅, a term t uniform in T_s, a target uniform among t's other members. The rest are
  background edges: pairs uniform over all s ≠ d (for discovery; one that lands on a prior
  pair by chance counts as prior). No pair twice, no self-loop. When the
  prior pairs run out, fewer background edges are drawn, so the share never falls below
  ``prior_share``.
* Weight W[s, d] = M_s · u, u ~ Uniform(``weight_range``): every target of an activator
  follows its knock-down (goes down), every target of a repressor goes up. With given prior
  pairs the weight is degree-normalised as a GCN normalises its graph:
  W[s, d] = M_s · u · min(1, c / sqrt(k_s · k_d)), k_g = g's number of prior pairs (≥ 1;
  for a background edge k_d = k_s, so it weighs like a prior edge of its source),
  c = ``degree_scale`` (6), u ~ Uniform(0.8, 1.2) (:data:`PRIOR_PAIR_DEFAULTS`): a
  knock-down moves each prior neighbour by an amount the graph fixes up to ±20 %.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "graph_communities",
    "graph_modes",
    "modules",
    "plant_learnable_edges",
    "regulator_modes",
    "term_modes",
]

log = logging.getLogger(__name__)

#: rounds of rejection sampling before the planter stops looking for new pairs
_ROUNDS = 60


def term_modes(terms: Sequence[np.ndarray]) -> np.ndarray:
    """m_t = ±1 by the parity of t's rank in the order (−n_t, sorted key)."""
    sizes = np.array([len(m) for m in terms], dtype=np.int64)
    order = np.lexsort((np.arange(len(terms)), -sizes))  # terms come in sorted-key order
    rank = np.empty(len(terms), dtype=np.int64)
    rank[order] = np.arange(len(terms))
    return np.where(rank % 2 == 0, 1.0, -1.0)


def modules(terms: Sequence[np.ndarray], n: int) -> np.ndarray:
    """t*(g): index of g's shared term with the most members (first in sorted order on a
    tie), −1 for a gene without shared terms."""
    best = np.full(n, -1, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    for t, members in enumerate(terms):
        larger = len(members) > size[members]
        best[members[larger]] = t
        size[members[larger]] = len(members)
    return best


def regulator_modes(
    terms: Sequence[np.ndarray], classes: np.ndarray, default: Mapping[str, float]
) -> np.ndarray:
    """M_g = m_{t*(g)}, else ``default[class of g]`` (module docstring). ``terms``: the
    member indices of each shared term, in sorted term-key order."""
    module = modules(terms, len(classes))
    m_t = term_modes(terms) if len(terms) else np.zeros(1)
    fallback = np.sign(np.array([float(default[str(c)]) for c in classes]))
    return np.where(module >= 0, m_t[np.maximum(module, 0)], fallback)


def graph_communities(n: int, pairs: tuple[np.ndarray, np.ndarray], rounds: int = 30) -> np.ndarray:
    """Communities of the prior graph by deterministic label propagation: every gene starts
    with its own index as label; in each round, genes in index order take the label most
    common among their neighbours (ties: the smallest label), until nothing changes. −1 for a
    gene without prior pairs."""
    s, d = (np.asarray(x, dtype=np.int64) for x in pairs)
    keep = s != d
    s, d = s[keep], d[keep]
    order = np.argsort(s, kind="stable")
    s, d = s[order], d[order]
    start = np.searchsorted(s, np.arange(n + 1))
    label = np.arange(n, dtype=np.int64)
    for _ in range(rounds):
        changed = False
        for g in range(n):
            nb = d[start[g] : start[g + 1]]
            if nb.size == 0:
                continue
            vals, counts = np.unique(label[nb], return_counts=True)
            best = int(vals[counts == counts.max()].min())
            if best != label[g]:
                label[g] = best
                changed = True
        if not changed:
            break
    has = np.bincount(s, minlength=n) > 0
    return np.where(has, label, -1)


def graph_modes(n: int, pairs: tuple[np.ndarray, np.ndarray], fallback: np.ndarray) -> np.ndarray:
    """M_g with prior pairs: the mode of g's prior-graph community
    (:func:`graph_communities`), ±1 by the parity of the community's rank in the order
    (−size, label); ``fallback[g]`` for a gene without prior pairs."""
    com = graph_communities(n, pairs)
    labels, sizes = np.unique(com[com >= 0], return_counts=True)
    rank = np.empty(labels.size, dtype=np.int64)
    rank[np.lexsort((labels, -sizes))] = np.arange(labels.size)
    mode_of = dict(zip(labels.tolist(), np.where(rank % 2 == 0, 1.0, -1.0).tolist(), strict=True))
    return np.array([mode_of[int(c)] if c >= 0 else float(fallback[g]) for g, c in enumerate(com)])


def _ragged(lists: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = np.array([len(x) for x in lists], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    flat = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]) if lists else np.zeros(0)
    return flat.astype(np.int64), offsets, counts


def _prior_pairs(
    n: int, terms: Sequence[np.ndarray], m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``m`` draws of (s, t uniform in T_s, d uniform in t ∖ {s})."""
    gene_terms: list[list[int]] = [[] for _ in range(n)]
    for t, members in enumerate(terms):
        for g in members:
            gene_terms[int(g)].append(t)
    has = np.array([g for g in range(n) if gene_terms[g]], dtype=np.int64)
    g_flat, g_off, g_cnt = _ragged([np.array(t) for t in gene_terms])
    m_flat, m_off, m_cnt = _ragged(terms)
    src = has[rng.integers(len(has), size=m)]
    t = g_flat[g_off[src] + rng.integers(g_cnt[src])]
    j = rng.integers(m_cnt[t] - 1)
    at_j = m_flat[m_off[t] + j]
    dst = np.where(at_j < src, at_j, m_flat[m_off[t] + j + 1])
    return src, dst


def _take_new(
    src: np.ndarray, dst: np.ndarray, seen: set[int], n: int, want: int
) -> tuple[list[int], list[int]]:
    out_s, out_d = [], []
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        key = s * n + d
        if s == d or key in seen:
            continue
        seen.add(key)
        out_s.append(s)
        out_d.append(d)
        if len(out_s) == want:
            break
    return out_s, out_d


def _given_pairs(n: int, pairs: tuple[np.ndarray, np.ndarray]) -> tuple[list[int], list[int]]:
    """The distinct given (model-visible) prior pairs, self-loops dropped, in index order."""
    s, d = (np.asarray(x, dtype=np.int64) for x in pairs)
    key = np.unique(s[s != d] * n + d[s != d])
    return (key // n).tolist(), (key % n).tolist()


def plant_learnable_edges(
    n: int,
    terms: Sequence[np.ndarray],
    modes: np.ndarray,
    *,
    edges_per_gene: float,
    prior_share: float,
    weight_range: tuple[float, float],
    rng: np.random.Generator,
    relation: Callable[[np.ndarray, np.ndarray], np.ndarray],
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
    degree_scale: float = 6.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, relation, weight) of the learnable network (module docstring). With
    ``pairs`` (the KG prior edges the models receive, as gene-index pairs) the prior edges
    are drawn from those pairs instead of from shared terms."""
    total = int(round(edges_per_gene * n))
    if pairs is None:
        want_prior = int(math.ceil(prior_share * total)) if terms else 0
    else:  # every given pair is planted; edges_per_gene does not apply
        want_prior = len(pairs[0])
    seen: set[int] = set()
    src: list[int] = []
    dst: list[int] = []
    if pairs is not None:
        src, dst = _given_pairs(n, pairs)
        want_prior = len(src)
        seen.update(s * n + d for s, d in zip(src, dst, strict=True))
    for _ in range(_ROUNDS):
        if pairs is not None or len(src) >= want_prior:
            break
        batch = max(2 * (want_prior - len(src)), 64)
        s, d = _take_new(*_prior_pairs(n, terms, batch, rng), seen, n, want_prior - len(src))
        src += s
        dst += d
    if len(src) < want_prior:
        log.warning(
            "only %d distinct prior pairs found (wanted %d); background edges reduced",
            len(src),
            want_prior,
        )
    n_prior = len(src)
    if prior_share >= 1.0:
        want_bg = 0
    elif pairs is not None or n_prior < want_prior:
        want_bg = int(math.floor(n_prior * (1.0 - prior_share) / prior_share))
    else:
        want_bg = total - n_prior
    want_bg = min(want_bg, n * (n - 1) - n_prior)
    for _ in range(_ROUNDS):
        missing = n_prior + want_bg - len(src)
        if missing <= 0:
            break
        batch = max(2 * missing, 64)
        s, d = _take_new(rng.integers(n, size=batch), rng.integers(n, size=batch), seen, n, missing)
        src += s
        dst += d
    s_arr, d_arr = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)
    weight = modes[s_arr] * rng.uniform(*weight_range, size=s_arr.size)
    if pairs is not None:  # GCN-style degree normalisation on the prior graph
        k = np.maximum(np.bincount(s_arr[:n_prior], minlength=n), 1)
        k_d = k[d_arr].copy()
        k_d[n_prior:] = k[s_arr[n_prior:]]  # a background edge weighs as if k_d = k_s
        weight = weight * np.minimum(1.0, degree_scale / np.sqrt(k[s_arr] * k_d))
    return s_arr, d_arr, relation(s_arr, d_arr), weight
