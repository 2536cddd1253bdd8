"""Baselines for (perturbation, gene) -> P(label = 1) on label datasets (PerturbQA-style: the
test perturbations are unseen in training).

One interface: ``fit(pert, gene, label)`` on the training pairs (parallel arrays), then
``predict(pert, gene)`` -> scores of the given pairs. All are pure functions of arrays and
dicts: the knowledge they read (GO annotations, STRING neighbourhoods, text vectors) is passed
in, keyed by the same identifiers as the pairs (e.g. Ensembl ids).

Notation: T = training perturbations, y_{q,g} ∈ {0, 1} the label of pair (q, g) when it is
labelled, L_g = {q ∈ T : (q, g) labelled}, r_g = mean_{q∈L_g} y_{q,g} (the gene's training
rate; the mean over all training pairs for a gene without training pairs).

* :class:`GeneRate`: ŝ(p, g) = r_g. Constant within a gene, so its AUC per gene is exactly
  0.5 (every pair of a gene ties; a tie counts one half).
* :class:`KGRetrieval`: similarity s(p, q) = Σ_k w_k J_k(p, q) over the knowledge sources k
  given (e.g. ``go``: J = Jaccard of the GO term sets; ``string``: Jaccard of the *closed*
  STRING neighbourhoods N[p] = N(p) ∪ {p}, so a direct interaction counts even without
  shared partners); w_k = 1 unless given. For a pair (p, g): the top-k training perturbations
  of L_g by s(p, q) (all of L_g when ``top_k`` is None; ties broken by a seeded random order),
  weights u_q = s(p, q)^γ, and

      ŝ(p, g) = (Σ_q u_q y_{q,g} + α r_g) / (Σ_q u_q + α)

  (α = ``prior``, a pseudo-count that shrinks towards the rate). Where no retained q has
  s > 0 the score is r_g (the fallback). Each source can be left out (ablation) by passing
  a subset; :attr:`KGRetrieval.coverage` says how many perturbations each source knows.
* :class:`TextKNN` (GenePT-style): the same retrieval with s(p, q) = max(0, cos(v_p, v_q)) on
  text-embedding vectors v (the project's offline encoder on the gene's text).
* :class:`LogisticKG`: gene embedding e = truncated SVD (K components) of the gene × item
  incidence matrix whose column blocks are the sources' items (GO terms; STRING neighbours),
  each row L2-normalised per block; features x(p, g) = [e_p, e_g, e_p ⊙ e_g], standardised;
  an L2 logistic regression (C) gives ŝ(p, g) = σ(βᵀx + b). A gene without knowledge has
  e = 0. The seed fixes the randomised SVD.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "LABEL_BASELINES",
    "GeneRate",
    "KGRetrieval",
    "LabelBaseline",
    "LogisticKG",
    "TextKNN",
    "cosine_similarity",
    "jaccard_similarity",
]


class LabelBaseline(Protocol):
    """fit(train pairs) -> predict(pairs) -> scores."""

    def fit(
        self, pert: Sequence[str], gene: Sequence[str], label: Sequence[int]
    ) -> LabelBaseline: ...

    def predict(self, pert: Sequence[str], gene: Sequence[str]) -> np.ndarray: ...


def _arrays(pert, gene, label=None):
    p = np.asarray(pert, dtype=object)
    g = np.asarray(gene, dtype=object)
    if len(p) != len(g):
        raise ValueError("pert and gene differ in length")
    if label is None:
        return p, g
    y = np.asarray(label, dtype=np.float64)
    if len(y) != len(p):
        raise ValueError("label and pert differ in length")
    if len(y) == 0:
        raise ValueError("no training pairs")
    return p, g, y


class GeneRate:
    """ŝ(p, g) = r_g (module docstring)."""

    def fit(self, pert, gene, label) -> GeneRate:
        _, g, y = _arrays(pert, gene, label)
        self.global_rate = float(y.mean())
        self.rate = pd.Series(y).groupby(g).mean().to_dict()
        return self

    def predict(self, pert, gene) -> np.ndarray:
        _, g = _arrays(pert, gene)
        return np.array([self.rate.get(x, self.global_rate) for x in g], dtype=np.float64)


# ----------------------------------------------------------------------------- similarities
def _incidence(keys: Sequence[str], sets: Mapping[str, Iterable[str]], closed: bool):
    rows, cols, col = [], [], {}
    for i, k in enumerate(keys):
        items = set(sets.get(k, ()))
        if closed and items:
            items.add(k)
        for t in items:
            rows.append(i)
            cols.append(col.setdefault(t, len(col)))
    m = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), max(len(col), 1)))
    return m


def jaccard_similarity(
    a: Sequence[str], b: Sequence[str], sets: Mapping[str, Iterable[str]], *, closed: bool = False
) -> np.ndarray:
    """J(a_i, b_j) = |S(a_i) ∩ S(b_j)| / |S(a_i) ∪ S(b_j)| (0 when both are empty); with
    ``closed`` each non-empty set also holds its own key (closed neighbourhood)."""
    keys = list(dict.fromkeys([*a, *b]))
    m = _incidence(keys, sets, closed)
    pos = {k: i for i, k in enumerate(keys)}
    ma = m[[pos[x] for x in a]]
    mb = m[[pos[x] for x in b]]
    inter = np.asarray((ma @ mb.T).todense(), dtype=np.float64)
    na = np.asarray(ma.sum(axis=1)).ravel()
    nb = np.asarray(mb.sum(axis=1)).ravel()
    union = na[:, None] + nb[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1e-300), 0.0)


def cosine_similarity(
    a: Sequence[str], b: Sequence[str], vectors: Mapping[str, np.ndarray]
) -> np.ndarray:
    """max(0, cos(v_a, v_b)); 0 for a key without a vector."""
    dim = len(next(iter(vectors.values()))) if vectors else 1

    def mat(keys):
        m = np.zeros((len(keys), dim))
        for i, k in enumerate(keys):
            v = vectors.get(k)
            if v is not None:
                n = np.linalg.norm(v)
                m[i] = np.asarray(v, dtype=np.float64) / n if n > 0 else 0.0
        return m

    return np.clip(mat(a) @ mat(b).T, 0.0, None)


# ----------------------------------------------------------------------------- retrieval
class _Retrieval:
    """The weighted-mean retrieval of the module docstring over a similarity of subclasses."""

    def __init__(
        self, top_k: int | None = 20, power: float = 1.0, prior: float = 0.0, seed: int = 0
    ) -> None:
        if top_k is not None and top_k < 1:
            raise ValueError("top_k must be >= 1 or None")
        self.top_k, self.power, self.prior, self.seed = top_k, power, prior, seed

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def fit(self, pert, gene, label):
        p, g, y = _arrays(pert, gene, label)
        self.rates = GeneRate().fit(p, g, y)
        self.train_perts = sorted(set(p))
        ti = {q: i for i, q in enumerate(self.train_perts)}
        self.by_gene = {
            k: (np.array([ti[q] for q in rows["p"]]), rows["y"].to_numpy())
            for k, rows in pd.DataFrame({"p": p, "g": g, "y": y}).groupby("g", sort=False)
        }
        rng = np.random.default_rng(self.seed)
        self.tiebreak = rng.permutation(len(self.train_perts))  # lower = preferred on a tie
        return self

    def predict(self, pert, gene) -> np.ndarray:
        p, g = _arrays(pert, gene)
        out = self.rates.predict(p, g)
        if len(p) == 0:
            return out
        queries = sorted(set(p))
        qi = {q: i for i, q in enumerate(queries)}
        sim = np.asarray(self.similarity(queries, self.train_perts), dtype=np.float64)
        pairs = pd.DataFrame({"q": [qi[x] for x in p], "g": g, "row": np.arange(len(p))})
        for gname, rows in pairs.groupby("g", sort=False):
            if gname not in self.by_gene:
                continue
            cand, yg = self.by_gene[gname]
            s = sim[rows["q"].to_numpy()][:, cand]  # pairs × labelled training perts
            if self.top_k is not None and self.top_k < len(cand):
                # rank by similarity, ties by the seeded order; keep the top k
                order = np.lexsort((np.broadcast_to(self.tiebreak[cand], s.shape), -s), axis=1)
                keep = np.zeros_like(s, dtype=bool)
                np.put_along_axis(keep, order[:, : self.top_k], True, axis=1)
                s = np.where(keep, s, 0.0)
            u = np.where(s > 0, s**self.power, 0.0)
            num, den = u @ yg, u.sum(axis=1)
            rate = self.rates.rate[gname]
            score = (num + self.prior * rate) / np.maximum(den + self.prior, 1e-300)
            idx = rows["row"].to_numpy()
            out[idx] = np.clip(np.where(den > 0, score, rate), 0.0, 1.0)
        return out


class KGRetrieval(_Retrieval):
    """Label retrieval over KG similarity (module docstring). ``sources``: name -> (key ->
    set of items); ``closed``: source names whose sets are neighbourhoods (closed, e.g.
    ``{"string"}``); ``weights``: name -> w_k (1 by default)."""

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, Iterable[str]]],
        *,
        closed: Iterable[str] = ("string",),
        weights: Mapping[str, float] | None = None,
        top_k: int | None = 20,
        power: float = 1.0,
        prior: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(top_k, power, prior, seed)
        if not sources:
            raise ValueError("KGRetrieval needs at least one knowledge source")
        self.sources = {k: {str(g): set(v) for g, v in s.items() if v} for k, s in sources.items()}
        self.closed = set(closed)
        self.weights = {k: float((weights or {}).get(k, 1.0)) for k in self.sources}

    def similarity(self, a, b) -> np.ndarray:
        return sum(
            self.weights[k] * jaccard_similarity(a, b, s, closed=k in self.closed)
            for k, s in self.sources.items()
        )

    def coverage(self, keys: Iterable[str]) -> dict[str, int]:
        """Per source: how many of ``keys`` it has a non-empty set for."""
        keys = set(keys)
        return {k: len(keys & set(s)) for k, s in self.sources.items()}


class TextKNN(_Retrieval):
    """Retrieval with cosine similarity of text-embedding vectors (GenePT-style)."""

    def __init__(
        self,
        vectors: Mapping[str, np.ndarray],
        *,
        top_k: int | None = 20,
        power: float = 1.0,
        prior: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(top_k, power, prior, seed)
        self.vectors = {str(k): np.asarray(v, dtype=np.float64) for k, v in vectors.items()}

    def similarity(self, a, b) -> np.ndarray:
        return cosine_similarity(a, b, self.vectors)


# ----------------------------------------------------------------------------- logistic
def kg_embedding(
    sources: Mapping[str, Mapping[str, Iterable[str]]],
    keys: Sequence[str],
    n_components: int = 32,
    seed: int = 0,
    closed: Iterable[str] = ("string",),
) -> dict[str, np.ndarray]:
    """Truncated SVD embedding of ``keys`` from the sources' incidence blocks (module
    docstring); keys without any item are left out (the caller's zero vector)."""
    from sklearn.decomposition import TruncatedSVD

    keys = list(dict.fromkeys(str(k) for k in keys))
    closed = set(closed)
    blocks = []
    for name, sets in sources.items():
        m = _incidence(keys, sets, name in closed)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        blocks.append(sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ m)
    m = sparse.hstack(blocks).tocsr()
    has = np.asarray(m.getnnz(axis=1)) > 0
    k = int(min(n_components, m.shape[1] - 1, has.sum() - 1))
    if k < 1:
        return {}
    emb = TruncatedSVD(n_components=k, random_state=seed).fit_transform(m)
    if k < n_components:
        emb = np.hstack([emb, np.zeros((len(keys), n_components - k))])
    return {key: emb[i] for i, key in enumerate(keys) if has[i]}


class LogisticKG:
    """Logistic regression on [e_p, e_g, e_p ⊙ e_g] (module docstring)."""

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, Iterable[str]]],
        *,
        n_components: int = 32,
        C: float = 1.0,
        seed: int = 0,
        closed: Iterable[str] = ("string",),
    ) -> None:
        self.sources, self.n_components, self.C, self.seed = sources, n_components, C, seed
        self.closed = tuple(closed)

    def _features(self, p, g) -> np.ndarray:
        zero = np.zeros(self.n_components)
        ep = np.stack([self.emb.get(x, zero) for x in p])
        eg = np.stack([self.emb.get(x, zero) for x in g])
        return np.hstack([ep, eg, ep * eg])

    def fit(self, pert, gene, label) -> LogisticKG:
        from sklearn.linear_model import LogisticRegression

        p, g, y = _arrays(pert, gene, label)
        universe = sorted(
            {*map(str, p), *map(str, g)} | {k for s in self.sources.values() for k in s}
        )
        self.emb = kg_embedding(self.sources, universe, self.n_components, self.seed, self.closed)
        x = self._features(p, g)
        self.mu, self.sd = x.mean(axis=0), x.std(axis=0)
        self.sd[self.sd == 0] = 1.0
        self.model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        self.model.fit((x - self.mu) / self.sd, y.astype(int))
        return self

    def predict(self, pert, gene) -> np.ndarray:
        p, g = _arrays(pert, gene)
        x = (self._features(p, g) - self.mu) / self.sd
        return self.model.predict_proba(x)[:, 1]


LABEL_BASELINES: dict[str, type] = {
    "gene-rate": GeneRate,
    "kg-retrieval": KGRetrieval,
    "logistic-kg": LogisticKG,
    "text-knn": TextKNN,
}
"""Registry name -> class (GeneRate builds with no arguments; the others take knowledge)."""
