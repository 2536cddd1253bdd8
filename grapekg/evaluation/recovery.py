"""Recovery of a SYNTHETIC dataset's planted regulatory edges by learned edges.

The simulator (:mod:`~grapekg.perturb.simulate`) plants a signed network W and
saves it; a model that learned the regulation should rank the planted pairs r → t above the
others. The candidate universe is every ordered pair (r, t) with r a *regulator* (a gene
perturbed in the dataset, optionally only those held out from training) and t an expression
gene, t ≠ r; the positives are the planted pairs. Rankings scored (higher = more likely):

* ``grape_insilico``: |Δ_rt| = |ŷ_t(r) − μ_t|, GRAPE's predicted change of t when r alone is
  knocked down (Eq. 13; the ``PREDICTED_REGULATES`` score over all targets, not just the top);
* ``grape_attention``: the HGAT's attention on the message r → t (Eq. 11), 0 off the graph;
* ``grape_khop``: the structure learner's 𝔾_rt (Eq. 9), symmetric, 0 where not a candidate;
* ``go_jaccard``: |GO(r) ∩ GO(t)| / |GO(r) ∪ GO(t)| from the KG (GEARS' GO graph weight,
  without its threshold and top-k, so every pair is ranked);
* ``random``: a seeded random ranking; its expected AUPRC is the positive rate.

AUPRC is average precision, AP = Σ_n (R_n − R_{n−1}) P_n over the ranking (scikit-learn's
``average_precision_score``; ties broken by that function's convention).

Everything here scores given arrays and tables; what comes from a model (predicted changes,
attention, learned edges) is computed by the caller (:mod:`grapekg.app.recover`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from os import PathLike

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import average_precision_score, precision_recall_curve

__all__ = [
    "PairUniverse",
    "attention_scores",
    "auprc_table",
    "draw_pr_curves",
    "go_jaccard_scores",
    "khop_scores",
    "pr_curves",
    "summarise_runs",
]


class PairUniverse:
    """Ordered pairs (r, t): ``regulators`` × ``targets`` without r = t, and their labels.

    Args:
        regulators: Ensembl ids of the regulators (rows).
        targets: Ensembl ids of the expression genes (columns).
        planted: planted edges with ``src`` / ``dst`` Ensembl ids.
    """

    def __init__(
        self, regulators: Sequence[str], targets: Sequence[str], planted: pd.DataFrame
    ) -> None:
        self.regulators = list(regulators)
        self.targets = list(targets)
        col = {g: j for j, g in enumerate(self.targets)}
        row = {g: i for i, g in enumerate(self.regulators)}
        self.valid = np.ones((len(self.regulators), len(self.targets)), dtype=bool)
        for i, r in enumerate(self.regulators):
            if r in col:
                self.valid[i, col[r]] = False
        self.labels = np.zeros_like(self.valid)
        for s, d in zip(planted["src"].astype(str), planted["dst"].astype(str), strict=True):
            if s in row and d in col and s != d:
                self.labels[row[s], col[d]] = True

    @property
    def n_pairs(self) -> int:
        return int(self.valid.sum())

    @property
    def n_positive(self) -> int:
        return int(self.labels[self.valid].sum())

    def scores_from_pairs(
        self,
        src: Sequence[str],
        dst: Sequence[str],
        values: Sequence[float],
        symmetric: bool = False,
    ) -> np.ndarray:
        """``[R, T]`` matrix of pair scores (the largest where a pair repeats, 0 elsewhere);
        ``symmetric`` also scores (dst, src)."""
        out = np.zeros(self.valid.shape, dtype=np.float64)
        row = {g: i for i, g in enumerate(self.regulators)}
        col = {g: j for j, g in enumerate(self.targets)}
        for s, d, v in zip(src, dst, values, strict=True):
            for a, b in ((s, d), (d, s)) if symmetric else ((s, d),):
                i, j = row.get(a), col.get(b)
                if i is not None and j is not None:
                    out[i, j] = max(out[i, j], v)
        return out

    def flat(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) over the valid pairs of a ``[R, T]`` score matrix."""
        if scores.shape != self.valid.shape:
            raise ValueError(f"scores have shape {scores.shape}, expected {self.valid.shape}")
        return self.labels[self.valid], np.nan_to_num(scores[self.valid], nan=-np.inf)


def go_jaccard_scores(
    universe: PairUniverse, go_terms: Mapping[str, Collection[str]]
) -> np.ndarray:
    """``[R, T]`` Jaccard of the GO term sets (genes without terms score 0)."""
    genes = list(dict.fromkeys([*universe.regulators, *universe.targets]))
    terms = sorted({t for g in genes for t in go_terms.get(g, ())})
    tpos = {t: j for j, t in enumerate(terms)}
    gpos = {g: i for i, g in enumerate(genes)}
    rows, cols = [], []
    for g in genes:
        for t in set(go_terms.get(g, ())):
            rows.append(gpos[g])
            cols.append(tpos[t])
    m = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(genes), max(len(terms), 1))
    )
    a = m[[gpos[g] for g in universe.regulators]]
    b = m[[gpos[g] for g in universe.targets]]
    inter = (a @ b.T).toarray()
    na = np.asarray(a.sum(1)).reshape(-1, 1)
    nb = np.asarray(b.sum(1)).reshape(1, -1)
    union = na + nb - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def khop_scores(universe: PairUniverse, edges: pd.DataFrame) -> np.ndarray:
    """``[R, T]`` learned-graph score 𝔾 of the pair in either direction (0 if absent)."""
    k = edges[edges["type"] == "khop_link"]
    return universe.scores_from_pairs(
        k["src"].astype(str).tolist(),
        k["dst"].astype(str).tolist(),
        k["score"].astype(float).tolist(),
        symmetric=True,
    )


def attention_scores(
    universe: PairUniverse, attention: Mapping[tuple[str, str], float]
) -> np.ndarray:
    """``[R, T]`` GATv2 attention of the message r → t (Eq. 11, mean over heads and layers of
    the unperturbed pass; 0 where r → t is no edge of the graph the HGAT used), from the
    attention per (source id, destination id)."""
    return universe.scores_from_pairs(
        [s for s, _ in attention], [d for _, d in attention], list(attention.values())
    )


def auprc_table(
    universe: PairUniverse, rankings: Mapping[str, np.ndarray], seed: int = 0
) -> pd.DataFrame:
    """AUPRC of each ranking (plus ``random``) with the positive rate beside it."""
    rng = np.random.default_rng(seed)
    rows = []
    scored = dict(rankings)
    scored["random"] = rng.random(universe.valid.shape)
    for name, scores in scored.items():
        y, s = universe.flat(scores)
        ap = float(average_precision_score(y, s)) if y.any() else float("nan")
        rows.append(
            {
                "ranking": name,
                "auprc": ap,
                "positive_rate": y.mean() if y.size else 0.0,
                "pairs": int(y.size),
                "positives": int(y.sum()),
            }
        )
    df = pd.DataFrame(rows)
    df["x_random"] = df["auprc"] / df["positive_rate"].where(df["positive_rate"] > 0)
    return df


def pr_curves(
    universe: PairUniverse, rankings: Mapping[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(recall, precision) arrays per ranking, for plotting."""
    out = {}
    for name, scores in rankings.items():
        y, s = universe.flat(scores)
        if y.any():
            p, r, _ = precision_recall_curve(y, s)
            out[name] = (r, p)
    return out


def summarise_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd of the AUPRC over runs per (label, ranking) of a table of
    :func:`auprc_table` rows with ``run`` and ``label`` columns (columns label, ranking,
    auprc, sd, x_random, rate, runs; first-seen order)."""
    return (
        frame.groupby(["label", "ranking"], sort=False)
        .agg(
            auprc=("auprc", "mean"),
            sd=("auprc", "std"),
            x_random=("x_random", "mean"),
            rate=("positive_rate", "mean"),
            runs=("run", "nunique"),
        )
        .reset_index()
    )


def draw_pr_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    positive_rate: float,
    title: str,
    path: str | PathLike[str],
) -> None:
    """Precision-recall curves (log precision) with the random ranking's level, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, (rec, prec) in curves.items():
        ax.plot(rec, prec, label=name)
    ax.axhline(positive_rate, color="grey", ls="--", label="random")
    ax.set(xlabel="recall", ylabel="precision", yscale="log")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
