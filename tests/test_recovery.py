"""Planted-edge recovery scoring (grapekg/evaluation/recovery.py) on hand-made examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grapekg.evaluation.recovery import PairUniverse, auprc_table, go_jaccard_scores, khop_scores


@pytest.fixture
def universe() -> PairUniverse:
    planted = pd.DataFrame({"src": ["A", "A", "B", "Z"], "dst": ["C", "D", "A", "C"]})
    return PairUniverse(["A", "B"], ["A", "B", "C", "D"], planted)


def test_universe_labels_and_self_pairs(universe: PairUniverse) -> None:
    assert universe.n_pairs == 6  # 2 x 4 minus (A, A) and (B, B)
    assert universe.n_positive == 3  # Z is no regulator
    assert not universe.valid[0, 0] and not universe.valid[1, 1]
    assert universe.labels[0, 2] and universe.labels[0, 3] and universe.labels[1, 0]


def test_perfect_and_inverted_rankings(universe: PairUniverse) -> None:
    perfect = universe.labels.astype(float)
    inverted = np.where(universe.labels, 0.1, 0.7) + np.arange(8).reshape(2, 4) * 0.01
    table = auprc_table(universe, {"perfect": perfect, "inverted": inverted}).set_index("ranking")
    assert table.loc["perfect", "auprc"] == pytest.approx(1.0)
    assert table.loc["perfect", "x_random"] == pytest.approx(2.0)  # rate 3/6
    # inverted: positives ranked 4..6 -> AP = (1/4 + 2/5 + 3/6) / 3
    assert table.loc["inverted", "auprc"] == pytest.approx((1 / 4 + 2 / 5 + 3 / 6) / 3)
    assert "random" in table.index and table.loc["random", "positive_rate"] == pytest.approx(0.5)


def test_random_ranking_is_near_the_positive_rate() -> None:
    rng = np.random.default_rng(1)
    regs, tg = [f"r{i}" for i in range(50)], [f"t{j}" for j in range(400)]
    src = rng.choice(regs, 600)
    planted = pd.DataFrame({"src": src, "dst": rng.choice(tg, 600)})
    u = PairUniverse(regs, tg, planted)
    t = auprc_table(u, {}, seed=3).set_index("ranking")
    assert abs(t.loc["random", "auprc"] - t.loc["random", "positive_rate"]) < 0.01


def test_go_jaccard_by_hand(universe: PairUniverse) -> None:
    terms = {"A": ["g1", "g2"], "B": ["g2"], "C": ["g1", "g2", "g3"], "D": []}
    s = go_jaccard_scores(universe, terms)
    assert s[0, 2] == pytest.approx(2 / 3) and s[1, 2] == pytest.approx(1 / 3)
    assert s[0, 1] == pytest.approx(1 / 2) and s[0, 3] == 0.0


def test_khop_scores_are_symmetric(universe: PairUniverse) -> None:
    edges = pd.DataFrame(
        {
            "src": ["C", "A", "B"],
            "dst": ["A", "B", "D"],
            "type": ["khop_link", "similar_to", "khop_link"],
            "score": [0.7, 0.9, 0.4],
        }
    )
    s = khop_scores(universe, edges)
    assert s[0, 2] == pytest.approx(0.7)  # C -> A counts for the pair (A, C)
    assert s[0, 1] == 0.0  # similar_to is not a K-hop edge
    assert s[1, 3] == pytest.approx(0.4)


def test_shape_mismatch_is_an_error(universe: PairUniverse) -> None:
    with pytest.raises(ValueError, match="shape"):
        universe.flat(np.zeros((3, 3)))
