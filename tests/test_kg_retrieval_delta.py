"""Expression ``kg-retrieval``: the similarity-weighted mean of training deltas, by hand
(SYNTHETIC profiles)."""

from __future__ import annotations

import numpy as np
import pytest

from grapekg.evaluation.baselines import KGRetrievalDelta, TrainMean

CTRL = np.array([1.0, 1.0, 1.0])
TRAIN = {
    "A+ctrl": CTRL + np.array([1.0, 0.0, 0.0]),
    "B+ctrl": CTRL + np.array([0.0, 2.0, 0.0]),
    "C+ctrl": CTRL + np.array([0.0, 0.0, 3.0]),
}
GO = {"A": {"t1", "t2"}, "B": {"t2", "t3"}, "C": {"t9"}, "X": {"t1", "t2"}, "Y": {"t3"}}


def test_retrieved_delta_by_hand():
    model = KGRetrievalDelta({"go": GO}, top_k=None).fit(TRAIN, CTRL)
    pred = model.predict(["X+ctrl", "Y+ctrl", "Z+ctrl", "A+ctrl", "X+Y"])
    # X: J(X, A) = 1, J(X, B) = 1/3, J(X, C) = 0 -> (1 * dA + 1/3 * dB) / (4/3)
    d_x = (np.array([1.0, 0, 0]) + np.array([0, 2.0, 0]) / 3) / (4 / 3)
    assert pred["X+ctrl"] == pytest.approx(CTRL + d_x)
    # Y: only B (J = 1/2) -> dB
    assert pred["Y+ctrl"] == pytest.approx(CTRL + np.array([0, 2.0, 0]))
    # Z: no knowledge -> the mean training delta (the mean baseline)
    assert pred["Z+ctrl"] == pytest.approx(TrainMean().fit(TRAIN, CTRL).predict(["Z"])["Z"])
    assert pred["A+ctrl"] == pytest.approx(TRAIN["A+ctrl"])  # a training single keeps its delta
    assert pred["X+Y"] == pytest.approx(CTRL + d_x + np.array([0, 2.0, 0]))  # additive
    assert model.without_embedding(["Z+ctrl", "X+ctrl", "A+ctrl"]) == ["Z"]


def test_top_k_power_and_sources_sum():
    top1 = KGRetrievalDelta({"go": GO}, top_k=1).fit(TRAIN, CTRL)
    assert top1.predict(["X+ctrl"])["X+ctrl"] == pytest.approx(TRAIN["A+ctrl"])
    sq = KGRetrievalDelta({"go": GO}, top_k=None, power=2.0).fit(TRAIN, CTRL)
    d = (np.array([1.0, 0, 0]) + np.array([0, 2.0, 0]) / 9) / (1 + 1 / 9)
    assert sq.predict(["X+ctrl"])["X+ctrl"] == pytest.approx(CTRL + d)
    # a second source: STRING closed neighbourhoods X -> {X, C}, C -> {C, X}: J = 1
    both = KGRetrievalDelta({"go": GO, "string": {"X": {"C"}, "C": {"X"}}}, top_k=None)
    got = both.fit(TRAIN, CTRL).predict(["X+ctrl"])["X+ctrl"]
    d2 = (np.array([1.0, 0, 0]) + np.array([0, 2.0, 0]) / 3 + np.array([0, 0, 3.0])) / (7 / 3)
    assert got == pytest.approx(CTRL + d2)
    assert KGRetrievalDelta().fit(TRAIN, CTRL).predict(["X+ctrl"])["X+ctrl"] == pytest.approx(
        np.mean(np.stack(list(TRAIN.values())), axis=0)
    )
