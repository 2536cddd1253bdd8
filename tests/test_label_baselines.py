"""Label baselines: the per-gene rate scores 0.5 by construction; kg-retrieval reads a planted
(SYNTHETIC) structure where similar perturbations share labels; logistic and text kNN run and
are deterministic per seed."""

from __future__ import annotations

import numpy as np
import pytest

from grapekg.evaluation.label_baselines import (
    GeneRate,
    KGRetrieval,
    LogisticKG,
    TextKNN,
    jaccard_similarity,
)
from grapekg.evaluation.label_metrics import score_labels


def planted(seed: int = 0, n_modules: int = 4, per_module: int = 12, n_genes: int = 24):
    """SYNTHETIC: perturbations in modules; a module's perturbations share most of its GO
    terms and are STRING neighbours of its hub; gene g responds (label 1) to module g % 4
    (with 10 % label noise) and carries some of that module's GO terms; 3 of each module's
    perturbations are test."""
    rng = np.random.default_rng(seed)
    go, string, rows = {}, {}, []
    for m in range(n_modules):
        terms = [f"GO:{m}{t:03d}" for t in range(8)]
        for i in range(per_module):
            p = f"P{m}_{i}"
            go[p] = {t for t in terms if rng.random() < 0.6} | {f"GO:9{rng.integers(100):03d}"}
            string[p] = {f"HUB{m}"} if rng.random() < 0.7 else set()
            split = "test" if i < 3 else "train"
            for g in range(n_genes):
                y = int((g % n_modules) == m)
                if rng.random() < 0.1:
                    y = 1 - y
                rows.append((p, f"G{g}", y, split))
    for g in range(n_genes):  # a downstream gene is annotated like its module
        go[f"G{g}"] = {f"GO:{g % n_modules}{t:03d}" for t in range(8) if rng.random() < 0.5}
    p, g, y, s = (np.array(c, dtype=object) for c in zip(*rows, strict=True))
    return go, string, p, g, y.astype(int), s


def _split(p, g, y, s):
    tr, te = s == "train", s == "test"
    return (p[tr], g[tr], y[tr]), (p[te], g[te], y[te])


def test_gene_rate_is_constant_per_gene_so_its_auc_is_one_half():
    _, _, p, g, y, s = planted()
    (ptr, gtr, ytr), (pte, gte, yte) = _split(p, g, y, s)
    model = GeneRate().fit(ptr, gtr, ytr)
    score = model.predict(pte, gte)
    g0 = gte == "G0"
    assert np.allclose(score[g0], ytr[gtr == "G0"].mean())
    res = score_labels(gte, yte, score)
    assert res.n_genes > 0
    assert all(a == pytest.approx(0.5) for a, _ in res.per_gene.values())
    assert res.auc == pytest.approx(0.5)
    # an unseen gene gets the global training rate
    assert model.predict(["P0_0"], ["NEW"])[0] == pytest.approx(ytr.mean())


def test_jaccard_by_hand_and_closed_neighbourhoods():
    sets = {"a": {"x", "y"}, "b": {"y", "z"}, "c": set()}
    j = jaccard_similarity(["a"], ["b", "c"], sets)
    assert j[0, 0] == pytest.approx(1 / 3) and j[0, 1] == 0.0
    # closed: a -> {x, a}, b -> {a, b}: a direct link shares {a}: 1 / 3
    nb = {"a": {"x"}, "b": {"a"}}
    assert jaccard_similarity(["a"], ["b"], nb, closed=True)[0, 0] == pytest.approx(1 / 3)
    assert jaccard_similarity(["a"], ["b"], nb)[0, 0] == 0.0


def test_kg_retrieval_beats_the_rate_on_the_planted_structure_and_each_source_works():
    go, string, p, g, y, s = planted()
    (ptr, gtr, ytr), (pte, gte, yte) = _split(p, g, y, s)
    rate = score_labels(gte, yte, GeneRate().fit(ptr, gtr, ytr).predict(pte, gte)).auc
    for sources in ({"go": go, "string": string}, {"go": go}, {"string": string}):
        model = KGRetrieval(sources, top_k=10).fit(ptr, gtr, ytr)
        auc = score_labels(gte, yte, model.predict(pte, gte)).auc
        assert auc > rate + 0.2, (sorted(sources), auc)
    model = KGRetrieval({"go": go, "string": string})
    assert model.coverage(set(p)) == {
        "go": len(set(p)),
        "string": sum(bool(v) for v in string.values()),
    }


def test_kg_retrieval_formula_by_hand_and_fallback():
    # q1 shares 1 of 3 terms with the query, q2 2 of 2 -> weights 1/3 and 1; labels 1 and 0
    sets = {"p": {"a", "b"}, "q1": {"a", "c"}, "q2": {"a", "b"}, "q3": {"z"}}
    model = KGRetrieval({"go": sets}, top_k=None).fit(
        ["q1", "q2", "q3", "q3"], ["g", "g", "g", "h"], [1, 0, 1, 1]
    )
    got = model.predict(["p", "p", "zz"], ["g", "h", "g"])
    assert got[0] == pytest.approx((1 / 3 * 1 + 1 * 0) / (1 / 3 + 1))
    assert got[1] == pytest.approx(1.0)  # h: only q3 (similarity 0) -> the rate of h
    assert got[2] == pytest.approx(2 / 3)  # unknown perturbation -> the rate of g
    top1 = KGRetrieval({"go": sets}, top_k=1).fit(["q1", "q2"], ["g", "g"], [1, 0])
    assert top1.predict(["p"], ["g"])[0] == pytest.approx(0.0)  # only q2 kept
    shrunk = KGRetrieval({"go": sets}, top_k=None, prior=1.0).fit(["q1", "q2"], ["g", "g"], [1, 0])
    assert shrunk.predict(["p"], ["g"])[0] == pytest.approx((1 / 3 + 0.5) / (4 / 3 + 1))


def test_logistic_and_text_knn_run_and_are_deterministic_per_seed():
    go, string, p, g, y, s = planted()
    (ptr, gtr, ytr), (pte, gte, yte) = _split(p, g, y, s)
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 16))
    vectors = {q: centres[int(q[1])] + 0.5 * rng.normal(size=16) for q in set(p)}
    for make in (
        lambda seed: LogisticKG({"go": go, "string": string}, n_components=8, seed=seed),
        lambda seed: TextKNN(vectors, top_k=5, seed=seed),
    ):
        a = make(7).fit(ptr, gtr, ytr).predict(pte, gte)
        b = make(7).fit(ptr, gtr, ytr).predict(pte, gte)
        assert np.array_equal(a, b)
        assert np.all((a >= 0) & (a <= 1))
        assert score_labels(gte, yte, a).auc > 0.6


def test_knn_ties_are_broken_by_the_seed():
    vectors = {"p": np.array([1.0, 0.0]), "a": np.array([1.0, 0.0]), "b": np.array([1.0, 0.0])}
    picks = set()
    for seed in range(20):
        model = TextKNN(vectors, top_k=1, seed=seed).fit(["a", "b"], ["g", "g"], [1, 0])
        picks.add(float(model.predict(["p"], ["g"])[0]))
    assert picks == {0.0, 1.0}
