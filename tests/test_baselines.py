"""Baselines: hand examples and the linear PCA model against its closed form."""

import numpy as np
import pytest

from grapekg.evaluation.baselines import (
    BASELINES,
    Additive,
    LinearKG,
    LinearPCA,
    NoChange,
    TrainMean,
    membership_embedding,
)

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
    assert set(BASELINES) == {
        "no_change",
        "train_mean",
        "additive",
        "linear_pca",
        "linear_kg",
        "kg_retrieval",
    }
    with pytest.raises(ValueError, match="no perturbation"):
        TrainMean().fit({"ctrl": CTRL}, CTRL)


def test_linear_pca_not_applicable_when_no_target_is_measured() -> None:
    train, ctrl, names = _linear_data()
    model = LinearPCA().fit(train, ctrl, names)
    assert model.not_applicable(["G20+ctrl", "G20+X", "X+ctrl", "X+Y", "ctrl"]) == {
        "X+ctrl": "target not measured",
        "X+Y": "target not measured",
    }


def test_membership_embedding_is_the_truncated_svd() -> None:
    members = {"A": {"t1", "t2"}, "B": {"t2"}, "C": {"t3"}, "D": set()}
    emb = membership_embedding(members, ["A", "B", "C", "D", "E"], n_components=2)
    assert set(emb) == {"A", "B", "C"}  # D, E have no membership: absent (zero vector)
    m = np.array([[1.0, 1, 0], [0, 1, 0], [0, 0, 1]])  # rows A, B, C; columns t1, t2, t3
    u, s, _ = np.linalg.svd(m)
    e = u[:, :2] * s[:2]
    got = np.stack([emb[g] for g in "ABC"])
    np.testing.assert_allclose(np.abs(got), np.abs(e), atol=1e-12)
    np.testing.assert_allclose(got @ got.T, e @ e.T, atol=1e-12)  # same geometry
    assert all(got[np.argmax(np.abs(got[:, j])), j] > 0 for j in range(2))
    padded = membership_embedding({"A": {"t1"}}, ["A"], n_components=3)["A"]
    np.testing.assert_allclose(padded, [1.0, 0.0, 0.0])


def test_linear_kg_matches_closed_form_and_places_unmeasured_targets() -> None:
    train, ctrl, names = _linear_data()
    rng = np.random.default_rng(5)
    table = {f"G{i}": rng.normal(size=3) for i in range(12)}
    table["OUTSIDE"] = rng.normal(size=3)  # a target that is not a measured gene
    model = LinearKG(table, n_components=4, ridge=0.1).fit(train, ctrl, names)
    conds = list(train)
    y = np.stack([train[c] - ctrl for c in conds], axis=1)
    b = y.mean(axis=1)
    yc = y - b[:, None]
    g = model.gene_emb  # G: PCA of the training deltas, as LinearPCA
    np.testing.assert_allclose(g, LinearPCA(n_components=4).fit(train, ctrl, names).gene_emb)
    p = np.stack(
        [table["G0"] + table["G1"] if c == "G0+G1" else table[c.split("+")[0]] for c in conds],
        axis=1,
    )  # 3 × perts
    w = (
        np.linalg.inv(g.T @ g + 0.1 * np.eye(4))
        @ g.T
        @ yc
        @ p.T
        @ np.linalg.inv(p @ p.T + 0.1 * np.eye(3))
    )
    np.testing.assert_allclose(model.weights, w, rtol=1e-8, atol=1e-10)
    pred = model.predict(["OUTSIDE+ctrl", "G3+OUTSIDE", "NONE+ctrl"])
    np.testing.assert_allclose(pred["OUTSIDE+ctrl"], g @ w @ table["OUTSIDE"] + b + ctrl)
    np.testing.assert_allclose(
        pred["G3+OUTSIDE"], g @ w @ (table["G3"] + table["OUTSIDE"]) + b + ctrl
    )
    np.testing.assert_allclose(pred["NONE+ctrl"], np.mean(list(train.values()), axis=0))
    assert model.not_applicable(["OUTSIDE+ctrl"]) == {}
    assert model.without_embedding(["OUTSIDE+ctrl", "NONE+ctrl", "NONE+G3"]) == ["NONE"]
    with pytest.raises(ValueError, match="differ in length"):
        LinearKG({"A": np.zeros(2), "B": np.zeros(3)})
