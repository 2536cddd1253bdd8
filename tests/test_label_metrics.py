"""AUC per gene (PerturbQA's definition) and AUPRC, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from grapekg.evaluation.label_metrics import average_precision, roc_auc, score_labels

# gene, label, score (SYNTHETIC values chosen for the hand computation below)
ROWS = [
    ("A", 1, 0.9),
    ("A", 0, 0.8),
    ("A", 1, 0.3),
    ("A", 0, 0.1),
    ("B", 0, 0.5),
    ("B", 1, 0.5),
    ("B", 0, 0.2),
    ("C", 1, 0.4),  # one class only: skipped
    ("C", 1, 0.6),
    ("D", 0, 0.7),
    ("D", 1, 0.2),
]


def _cols():
    g, y, s = zip(*ROWS, strict=True)
    return list(g), np.array(y), np.array(s)


def test_auc_per_gene_matches_the_hand_computation():
    # A: positive-negative pairs (.9>.8, .9>.1, .3<.8, .3>.1) -> 3/4
    # B: (.5 = .5 -> 1/2, .5 > .2 -> 1) -> 1.5/2 = .75;  C: skipped;  D: .2 < .7 -> 0
    res = score_labels(*_cols())
    assert res.n_genes == 3 and res.n_skipped == 1
    assert res.per_gene["A"][0] == pytest.approx(0.75)
    assert res.per_gene["B"][0] == pytest.approx(0.75)
    assert res.per_gene["D"][0] == pytest.approx(0.0)
    assert res.auc == pytest.approx((0.75 + 0.75 + 0.0) / 3)


def test_auprc_per_gene_and_pooled_match_the_hand_computation():
    # A: thresholds .9 (P 1, R .5), .8 (P .5, R .5), .3 (P 2/3, R 1) -> .5*1 + .5*2/3 = 5/6
    # B: one threshold .5 holds both (P .5, R 1) -> .5;  D: .2 reached at P .5 -> .5
    res = score_labels(*_cols())
    assert res.per_gene["A"][1] == pytest.approx(5 / 6)
    assert res.per_gene["B"][1] == pytest.approx(0.5)
    assert res.per_gene["D"][1] == pytest.approx(0.5)
    assert res.auprc == pytest.approx((5 / 6 + 0.5 + 0.5) / 3)
    # pooled over the 9 pairs of A, B, D (4 positives): recall steps of .25 at precision
    # 1 (.9), .4 (.5: 2 of 5), .5 (.3: 3 of 6), .5 (.2: 4 of 8)
    assert res.auprc_pooled == pytest.approx(0.25 * (1 + 0.4 + 0.5 + 0.5))


def test_the_helpers_agree_with_scikit_learn_on_random_ties():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 30)
        if y.min() == y.max():
            continue
        s = rng.integers(0, 6, 30) / 5.0  # many ties
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
        assert average_precision(y, s) == pytest.approx(average_precision_score(y, s))


def test_one_class_and_bad_input():
    assert np.isnan(roc_auc(np.ones(3), np.arange(3)))
    res = score_labels(["A", "A"], [1, 1], np.array([0.1, 0.2]))
    assert res.n_genes == 0 and np.isnan(res.auc)
    with pytest.raises(ValueError, match="NaN"):
        score_labels(["A", "A"], [1, 0], np.array([np.nan, 0.2]))
    with pytest.raises(ValueError, match="length"):
        score_labels(["A"], [1, 0], np.array([0.1, 0.2]))
