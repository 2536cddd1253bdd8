"""Baselines: hand examples and the linear PCA model against its closed form."""

import numpy as np
import pytest

from grapekg.evaluation.baselines import BASELINES, Additive, LinearPCA, NoChange, TrainMean

CTRL = np.array([1.0, 2.0, 0.0, 1.0])
TRAIN = {
    "A+ctrl": np.array([2.0, 2.0, 0.0, 1.0]),  # δ_A = (1, 0, 0, 0)
    "B+ctrl": np.array([1.0, 1.0, 0.5, 1.0]),  # δ_B = (0, -1, 0.5, 0)
    "A+C": np.array([3.0, 3.0, 1.0, 1.0]),
}


def test_no_change_and_train_mean() -> None:
    assert np.array_equal(NoChange().fit(TRAIN, CTRL).predict(["X+ctrl"])["X+ctrl"], CTRL)
    pred = TrainMean().fit({**TRAIN, "ctrl": CTRL}, CTRL).predict(["X+ctrl", "A+B"])
    np.testing.assert_allclose(pred["X+ctrl"], [2.0, 2.0, 0.5, 1.0])
    np.testing.assert_allclose(pred["A+B"], pred["X+ctrl"])


def test_additive_with_fallback() -> None:
    model = Additive().fit(TRAIN, CTRL)
    pred = model.predict(["A+B", "A+X", "X+ctrl"])
    np.testing.assert_allclose(pred["A+B"], [2.0, 1.0, 0.5, 1.0])
    fallback = np.array([0.5, -0.5, 0.25, 0.0])  # mean of the single deltas δ_A, δ_B
    np.testing.assert_allclose(pred["A+X"], CTRL + [1, 0, 0, 0] + fallback)
    np.testing.assert_allclose(pred["X+ctrl"], CTRL + fallback)


def _linear_data(seed: int = 0) -> tuple[dict, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    n_genes = 30
    names = [f"G{i}" for i in range(n_genes)]
    ctrl = rng.random(n_genes) + 1
    train = {f"G{i}+ctrl": ctrl + rng.normal(0, 1, n_genes) for i in range(12)}
    train["G0+G1"] = ctrl + rng.normal(0, 1, n_genes)
    return train, ctrl, names


def test_linear_pca_matches_closed_form() -> None:
    train, ctrl, names = _linear_data()
    model = LinearPCA(n_components=4, ridge=0.1).fit(train, ctrl, names)
    conds = list(train)
    y = np.stack([train[c] - ctrl for c in conds], axis=1)
    b = y.mean(axis=1)
    yc = y - b[:, None]
    centred = yc - yc.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    g = u[:, :4] * s[:4]
    assert np.allclose(np.abs(model.gene_emb), np.abs(g))  # same PCA scores up to sign
    g = model.gene_emb
    idx = {"G0+ctrl": [0], "G0+G1": [0, 1]}
    p = np.stack([g[idx.get(c, [int(c[1:].split("+")[0])])].sum(0) for c in conds], axis=1)
    w = (
        np.linalg.inv(g.T @ g + 0.1 * np.eye(4))
        @ g.T
        @ yc
        @ p.T
        @ np.linalg.inv(p @ p.T + 0.1 * np.eye(4))
    )
    np.testing.assert_allclose(model.weights, w, rtol=1e-8, atol=1e-10)
    pred = model.predict(["G20+ctrl", "G20+G21", "NOTMEASURED+ctrl"])
    np.testing.assert_allclose(pred["G20+ctrl"], g @ w @ g[20] + b + ctrl)
    np.testing.assert_allclose(pred["G20+G21"], g @ w @ (g[20] + g[21]) + b + ctrl)
    # unmeasured gene -> embedding 0 -> the training mean
    np.testing.assert_allclose(pred["NOTMEASURED+ctrl"], np.mean(list(train.values()), axis=0))


def test_linear_pca_is_deterministic_and_needs_names() -> None:
    train, ctrl, names = _linear_data(1)
    a = LinearPCA().fit(train, ctrl, names).predict(["G25+ctrl"])["G25+ctrl"]
    b = (
        LinearPCA()
        .fit(dict(reversed(list(train.items()))), ctrl, names)
        .predict(["G25+ctrl"])["G25+ctrl"]
    )
    np.testing.assert_allclose(a, b, atol=1e-10)
    with pytest.raises(ValueError, match="gene_names"):
        LinearPCA().fit(train, ctrl)


def test_registry_and_empty_training() -> None:
    assert set(BASELINES) == {"no_change", "train_mean", "additive", "linear_pca"}
    with pytest.raises(ValueError, match="no perturbation"):
        TrainMean().fit({"ctrl": CTRL}, CTRL)
