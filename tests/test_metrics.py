"""Metric formulas on hand-computed examples, and a cross-check against cell-eval."""

import logging
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grapekg.evaluation import metrics as m

CTRL = np.array([1.0, 1.0, 1.0, 0.0, 2.0])
TRUE = np.array([2.0, 0.5, 1.0, 0.0, 3.0])  # delta  +1, -0.5, 0, 0, +1
PRED = np.array([1.5, 1.5, 1.0, 0.5, 2.0])  # delta +0.5, +0.5, 0, +0.5, 0


def test_rmse_mse() -> None:
    # squared errors 0.25, 1, 0, 0.25, 1 -> mean 0.5
    assert m.mse(PRED, TRUE) == pytest.approx(0.5)
    assert m.rmse(PRED, TRUE) == pytest.approx(np.sqrt(0.5))
    assert m.mse(PRED, TRUE, [0, 1]) == pytest.approx(0.625)


def test_dac_counts_zero_equal_zero() -> None:
    # signs pred (+,+,0,+,0) vs true (+,-,0,0,+): matches at genes 0 and 2 -> 2/5
    assert m.dac(PRED, TRUE, CTRL) == pytest.approx(0.4)
    # non-zero true delta: genes 0, 1, 4 -> only gene 0 matches -> 1/3
    assert m.dac_nonzero(PRED, TRUE, CTRL) == pytest.approx(1 / 3)
    assert m.dac(CTRL, TRUE, CTRL) == pytest.approx(0.4)  # no-change scores on zeros
    assert m.dac_nonzero(CTRL, TRUE, CTRL) == 0.0
    assert np.isnan(m.dac_nonzero(PRED, TRUE, CTRL, [2, 3]))


def test_pearson_delta() -> None:
    a, b = PRED - CTRL, TRUE - CTRL
    assert m.pcc_delta(PRED, TRUE, CTRL) == pytest.approx(np.corrcoef(a, b)[0, 1])
    # delta pred (0.5, 0.5, 0, 0.5, 0), true (1, -0.5, 0, 0, 1), both means 0.3;
    # Σ centred products = -0.2, Σa² = 0.3, Σb² = 1.8 -> r = -0.2 / sqrt(0.54)
    assert m.pcc_delta(PRED, TRUE, CTRL) == pytest.approx(-0.2 / np.sqrt(0.54))
    assert m.pcc_delta(CTRL, TRUE, CTRL) == 0.0  # constant prediction -> 0, not NaN
    assert m.pcc_delta(PRED, TRUE, CTRL, [0, 1, 4]) == pytest.approx(
        np.corrcoef([0.5, 0.5, 0.0], [1.0, -0.5, 1.0])[0, 1]
    )


def test_frac_opposite_and_within() -> None:
    # d = |sign(pred δ) − sign(true δ)| = 0, 2, 0, 1, 1 -> one opposite of five
    assert m.frac_opposite_direction(PRED, TRUE, CTRL, np.arange(5)) == pytest.approx(0.2)
    assert m.frac_opposite_direction(PRED, TRUE, CTRL, [1, 3]) == pytest.approx(0.5)
    true = np.array([1.0, 2.0, 10.0, 0.0])
    pred = np.array([1.04, 2.2, 9.5, 0.0])  # within 5 %: yes, no, yes (0.5 ≤ 0.5), yes
    assert m.frac_within(pred, true) == pytest.approx(0.75)


def test_condition_metrics_use_ranking_prefixes() -> None:
    rng = np.random.default_rng(0)
    ctrl, true, pred = rng.random(60), rng.random(60), rng.random(60)
    ranking = rng.permutation(60)
    out = m.condition_metrics(pred, true, ctrl, ranking, non_dropout_20=ranking[5:25])
    assert out["mse_de"] == pytest.approx(m.mse(pred, true, ranking[:20]))
    assert out["rmse_de40"] == pytest.approx(m.rmse(pred, true, ranking[:40]))
    assert out["pearson_de_delta"] == pytest.approx(m.pcc_delta(pred, true, ctrl, ranking[:20]))
    assert out["frac_opposite_direction_top20_non_dropout"] == pytest.approx(
        m.frac_opposite_direction(pred, true, ctrl, ranking[5:25])
    )


def test_gi_coefficients_recover_planted_interaction() -> None:
    rng = np.random.default_rng(1)
    da, db = rng.normal(size=300), rng.normal(size=300)
    dab = 1.5 * da + 0.5 * db
    dab[:20] += 5 * rng.normal(size=20)  # outliers; Theil-Sen ignores them
    c_a, c_b, mag = m.gi_coefficients(dab, da, db)
    assert c_a == pytest.approx(1.5, abs=0.05) and c_b == pytest.approx(0.5, abs=0.05)
    assert mag == pytest.approx(np.hypot(c_a, c_b))


def test_gi_metrics_and_evaluate_table() -> None:
    rng = np.random.default_rng(2)
    g = 80
    ctrl = rng.random(g) + 1
    truth = {"ctrl": ctrl}
    genes = [f"G{i}" for i in range(6)]
    for name in genes:
        truth[f"{name}+ctrl"] = ctrl + rng.normal(0, 0.5, g)
    doubles, scales = [], {}
    for i in range(5):
        a, b = genes[i], genes[i + 1]
        s = 0.5 + 0.4 * i
        cond = f"{a}+{b}"
        truth[cond] = ctrl + s * (truth[f"{a}+ctrl"] - ctrl + truth[f"{b}+ctrl"] - ctrl)
        doubles.append(cond)
        scales[cond] = s
    perfect = {c: truth[c] for c in doubles}
    gi = m.gi_metrics(perfect, truth, ctrl, k=2)
    mags = gi[gi.metric == "gi_magnitude_true"].set_index("condition")["value"]
    for cond in doubles:
        assert mags[cond] == pytest.approx(scales[cond] * np.sqrt(2), rel=1e-3)
    agg = gi[gi.condition == "__all__"].set_index("metric")["value"]
    assert agg["gi_magnitude_pearson"] == pytest.approx(1.0)
    assert agg["gi_synergy_overlap"] == 1.0 and agg["gi_suppressor_overlap"] == 1.0
    # reversed magnitudes: no overlap at k = 2
    flipped = {c: ctrl + (truth[c] - ctrl) * (2.3 - scales[c]) / scales[c] for c in doubles}
    agg = m.gi_metrics(flipped, truth, ctrl, k=2).query("condition == '__all__'")
    assert agg.set_index("metric").loc["gi_synergy_overlap", "value"] == 0.0
    rankings = {c: np.arange(g) for c in truth}
    table = m.evaluate(perfect, truth, ctrl, rankings)
    assert set(table.columns) == {"condition", "metric", "value", "reason"}
    per = table[table.condition != "__all__"]
    assert len(per) == 5 * per.metric.nunique()
    assert m.summarise(per)["rmse"] == 0.0
    with pytest.raises(KeyError, match="'X\\+ctrl' missing from truth"):
        m.evaluate({"X+ctrl": ctrl}, truth, ctrl, rankings)


def _cell_eval_pair(seed: int = 0) -> tuple[ad.AnnData, ad.AnnData, dict, dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    g, conds = 40, ["ctrl", "A+ctrl", "B+ctrl", "A+B"]
    cells = {"ctrl": 30, "A+ctrl": 12, "B+ctrl": 9, "A+B": 15}
    base = rng.gamma(2.0, 0.6, g)
    real_blocks, labels = [], []
    for c in conds:
        shift = 0 if c == "ctrl" else rng.normal(0, 0.6, g)
        x = np.clip(base + shift + rng.normal(0, 0.4, (cells[c], g)), 0, None)
        x[rng.random(x.shape) < 0.2] = 0
        real_blocks.append(x)
        labels += [c] * cells[c]
    x_real = np.vstack(real_blocks)
    lab = np.array(labels)
    truth = {c: x_real[lab == c].mean(0) for c in conds}
    ctrl = truth["ctrl"]
    pred = {c: np.clip(truth[c] + rng.normal(0, 0.3, g), 0, None) for c in conds[1:]}
    # predicted cells: every cell of p equals ŷ_p; control cells are the real control mean,
    # so cell-eval's per-AnnData control mean equals μ
    x_pred = np.vstack([np.tile(ctrl if c == "ctrl" else pred[c], (cells[c], 1)) for c in conds])
    var = pd.DataFrame(index=[f"gene{i}" for i in range(g)])

    def make(x: np.ndarray) -> ad.AnnData:
        obs = pd.DataFrame(
            {"condition": pd.Categorical(lab)}, index=[f"c{i}" for i in range(len(lab))]
        )
        return ad.AnnData(X=x.astype(np.float64), obs=obs, var=var.copy())

    return make(x_pred), make(x_real), pred, truth, ctrl


def test_agrees_with_cell_eval(tmp_path: Path) -> None:
    from cell_eval import MetricsEvaluator

    logging.getLogger("cell_eval").setLevel(logging.WARNING)
    adata_pred, adata_real, pred, truth, ctrl = _cell_eval_pair()
    evaluator = MetricsEvaluator(
        adata_pred=adata_pred,
        adata_real=adata_real,
        control_pert="ctrl",
        pert_col="condition",
        num_threads=1,
        outdir=str(tmp_path / "ce"),
        skip_de=True,
    )
    results, _ = evaluator.compute(
        profile="anndata",
        write_csv=False,
        skip_metrics=[
            "discrimination_score_l1",
            "discrimination_score_l2",
            "discrimination_score_cosine",
            "pearson_edistance",
            "clustering_agreement",
            "mae",
            "mae_delta",
            "mse_delta",
        ],
    )
    ce = results.to_pandas().set_index("perturbation")
    assert set(ce.index) == {"A+ctrl", "B+ctrl", "A+B"}
    for cond in ce.index:
        assert m.pcc_delta(pred[cond], truth[cond], ctrl) == pytest.approx(
            ce.loc[cond, "pearson_delta"], abs=1e-6
        )
        assert m.mse(pred[cond], truth[cond]) == pytest.approx(ce.loc[cond, "mse"], abs=1e-6)
    # and our values are not trivially equal to each other (the check can fail)
    assert ce["pearson_delta"].nunique() == 3


def test_theil_sen_matches_scikit_learn_and_resists_outliers():
    from sklearn.linear_model import TheilSenRegressor

    from grapekg.evaluation.metrics import theil_sen_2

    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    y = x @ np.array([0.7, 1.3]) + rng.normal(scale=0.05, size=400)
    y[:40] += 8.0  # 10 % gross outliers
    ours = theil_sen_2(x, y, seed=0)
    ref = TheilSenRegressor(fit_intercept=False, random_state=0).fit(x, y).coef_
    assert np.allclose(ours, [0.7, 1.3], atol=0.08)
    assert np.allclose(ours, ref, atol=0.08)
    ols = np.linalg.lstsq(x, y, rcond=None)[0]
    assert np.linalg.norm(ours - [0.7, 1.3]) < np.linalg.norm(ols - [0.7, 1.3])


# ---------------------------------------------------------------------- excl_pert, train mean, n/a
def test_excl_pert_removes_the_perturbed_genes_by_hand() -> None:
    # gene 0 is the knocked-down target: a huge true drop that dominates the deltas
    ctrl = np.array([10.0, 1.0, 1.0, 1.0, 1.0])
    true = np.array([0.0, 2.0, 1.0, 0.0, 1.5])
    pred = np.array([0.0, 0.5, 1.5, 1.0, 1.0])
    ranking = np.array([0, 1, 3, 4, 2])
    out = m.condition_metrics(pred, true, ctrl, ranking, perturbed=[0])
    keep = [1, 2, 3, 4]
    assert out["pcc_delta"] == pytest.approx(m.pearson(pred - ctrl, true - ctrl))
    assert out["pcc_delta"] > 0.9  # the target alone makes it look good
    d_p, d_t = (pred - ctrl)[keep], (true - ctrl)[keep]  # (-0.5, .5, 0, 0), (1, 0, -1, .5)
    assert out["pcc_delta_excl_pert"] == pytest.approx(m.pearson(d_p, d_t))
    assert out["pcc_delta_excl_pert"] < 0
    assert out["rmse_excl_pert"] == pytest.approx(np.sqrt(np.mean((pred - true)[keep] ** 2)))
    # DE20 without the target = ranking 1, 3, 4, 2 (refilled from the ranking)
    assert out["pcc_delta_de20_excl_pert"] == pytest.approx(
        m.pearson((pred - ctrl)[[1, 3, 4, 2]], (true - ctrl)[[1, 3, 4, 2]])
    )
    # signs of (ŷ − μ, y − μ): gene 0 (−, −) matches; genes 1..4 (−, +), (+, 0), (0, −), (0, +)
    assert out["dac"] == pytest.approx(1 / 5) and out["dac_excl_pert"] == 0.0
    # every metric has its twin; without perturbed genes the twins equal the plain values
    base = {k for k in out if not k.endswith("_excl_pert")}
    assert {f"{k}_excl_pert" for k in base} == set(out) - base
    plain = m.condition_metrics(pred, true, ctrl, ranking)
    assert all(plain[k] == plain[f"{k}_excl_pert"] for k in base if np.isfinite(plain[k]))


def test_pcc_delta_against_the_training_mean_by_hand() -> None:
    ctrl = np.array([1.0, 1.0, 1.0, 1.0])
    m_train = np.array([2.0, 2.0, 1.0, 1.0])  # every perturbation shares +1 on genes 0, 1
    true = np.array([2.5, 2.0, 1.0, 0.0])
    pred = np.array([2.0, 2.0, 1.0, 1.0])  # = the mean baseline
    out = m.condition_metrics(pred, true, ctrl, np.arange(4), train_mean=m_train)
    assert out["pcc_delta"] > 0.4  # against control the shared shift scores
    assert out["pcc_delta_train_mean"] == 0.0  # ŷ − m_train = 0: constant
    better = np.array([2.4, 2.0, 1.0, 0.2])
    out = m.condition_metrics(better, true, ctrl, np.arange(4), train_mean=m_train)
    assert out["pcc_delta_train_mean"] == pytest.approx(m.pearson(better - m_train, true - m_train))
    assert out["pcc_delta_train_mean_de20"] == pytest.approx(out["pcc_delta_train_mean"])
    assert "pcc_delta_train_mean" not in m.condition_metrics(pred, true, ctrl, np.arange(4))


def _doubles(n: int, g: int = 60, seed: int = 3) -> tuple[dict, dict, np.ndarray]:
    rng = np.random.default_rng(seed)
    ctrl = rng.random(g) + 1
    genes = [f"G{i}" for i in range(n + 1)]
    truth = {"ctrl": ctrl, **{f"{x}+ctrl": ctrl + rng.normal(0, 0.5, g) for x in genes}}
    for i in range(n):
        truth[f"{genes[i]}+{genes[i + 1]}"] = ctrl + rng.normal(0, 0.5, g)
    pred = {c: v + rng.normal(0, 0.1, g) for c, v in truth.items() if c.count("G") == 2}
    return pred, truth, ctrl


def test_gi_correlation_needs_five_doubles() -> None:
    pred, truth, ctrl = _doubles(4)
    agg = m.gi_metrics(pred, truth, ctrl).query("condition == '__all__'")
    assert set(agg.metric) == {
        "gi_magnitude_pearson",
        "gi_synergy_overlap",
        "gi_suppressor_overlap",
    }
    assert agg["value"].isna().all() and set(agg.reason) == {"< 5 doubles"}
    pred, truth, ctrl = _doubles(5)
    agg = m.gi_metrics(pred, truth, ctrl).query("condition == '__all__'")
    assert agg["value"].notna().all() and set(agg.reason) == {""}


def test_evaluate_not_applicable_and_excluded_gi() -> None:
    pred, truth, ctrl = _doubles(5)
    rankings = {c: np.arange(60) for c in truth}
    first = next(iter(pred))
    perturbed = {c: np.array([0, 1]) for c in pred}
    t = m.evaluate(pred, truth, ctrl, rankings, perturbed=perturbed, not_applicable={first: "why"})
    rows = t[t.condition == first]
    assert rows["value"].isna().all() and set(rows.reason) == {"why"}
    # the n/a double is left out of the GI fit: 4 doubles remain
    gi = t[t.condition == "__all__"].set_index("metric")
    assert gi.loc["gi_magnitude_pearson", "reason"] == "< 5 doubles"
    assert "gi_magnitude_pearson_excl_pert" in gi.index
    other = t[(t.condition != first) & (t.condition != "__all__")]
    assert other["value"].notna().any() and set(other.reason) == {""}
