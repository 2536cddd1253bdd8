"""Evaluation metrics of perturbation-effect predictions, computed per condition from means.

Notation for one condition p: ŷ = predicted mean profile, y = true mean profile (mean over
the condition's cells), μ = control mean, all vectors over genes; D ⊆ genes an index set
(all genes, DE20 = first 20 genes of the DE ranking, DE40, or GEARS's non-dropout top-20
N20). sign(0) = 0. Pearson(a, b) = cov(a, b) / (sd(a) sd(b)), defined as 0 when either
vector is constant (GEARS replaces NaN by 0).

Families (REFERENCES 1.7, 3.4, 8):

* GRAPE: ``rmse`` = sqrt(mean_g (ŷ_g − y_g)²); ``dac`` = mean_{g∈D} 1[sign(ŷ_g − μ_g) =
  sign(y_g − μ_g)] (a zero true delta matched by a zero predicted delta counts);
  ``dac_nonzero`` = the same over {g ∈ D : y_g ≠ μ_g}; ``pcc_delta`` = Pearson(ŷ − μ, y − μ)
  on D. Each on all genes, DE20 and DE40.
* GEARS: ``pearson_delta`` (all genes), ``mse`` = mean_g (ŷ_g − y_g)², ``mse_de`` (DE20),
  ``pearson_de_delta`` (Pearson of deltas on DE20), ``frac_opposite_direction_top20_non_dropout``
  = #{g ∈ N20 : |sign(ŷ_g − μ_g) − sign(y_g − μ_g)| = 2} / |N20|.
* BioDSNN: ``mse_top20_de`` (= mse on DE20), ``frac_within_5pct_de`` = mean_{g∈DE20}
  1[|ŷ_g − y_g| ≤ 0.05 |y_g|]; genetic interactions of doubles (see :func:`gi_coefficients`).
* Systema (Viñas Torné et al., Nat Biotech 2025): ``pcc_delta_train_mean`` =
  Pearson(ŷ − m_train, y − m_train) on all genes, ``pcc_delta_train_mean_de20`` on DE20, with
  m_train = (1/|T|) Σ_{q∈T} ȳ_q the mean of the TRAINING perturbations' mean profiles: the
  delta against control rewards predicting the shift every perturbation shares (the mean
  baseline scores high); against m_train only the perturbation-specific part counts (the
  mean baseline scores 0).
* ``<metric>_excl_pert``: every metric above with the condition's perturbed genes P removed
  from the gene set first: all genes → genes ∖ P, DE20 / DE40 = first 20 / 40 of the DE
  ranking with P removed, N20 ∖ P. A knock-down of a measured gene is its largest effect and
  would otherwise dominate DE20 and the all-gene correlations (trivially predicted by any
  model that knows the target). GI magnitudes likewise regress on genes ∖ {A, B}.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from grapekg.perturb.conditions import parse_condition

__all__ = [
    "MIN_GI_DOUBLES",
    "dac",
    "dac_nonzero",
    "evaluate",
    "frac_opposite_direction",
    "frac_within",
    "gi_coefficients",
    "gi_metrics",
    "mse",
    "pearson",
    "pcc_delta",
    "rmse",
    "summarise",
]

Index = Sequence[int] | np.ndarray | None

#: fewest doubles over which the GI correlation / overlaps are reported (else n/a)
MIN_GI_DOUBLES = 5
GI_TOO_FEW = f"< {MIN_GI_DOUBLES} doubles"
EXCL = "_excl_pert"


def _sel(v: np.ndarray, idx: Index) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v if idx is None else v[np.asarray(idx, dtype=np.int64)]


def mse(pred: np.ndarray, true: np.ndarray, idx: Index = None) -> float:
    """MSE = (1/|D|) Σ_{g∈D} (ŷ_g − y_g)²."""
    d = _sel(pred, idx) - _sel(true, idx)
    return float(np.mean(d * d)) if d.size else float("nan")


def rmse(pred: np.ndarray, true: np.ndarray, idx: Index = None) -> float:
    """RMSE = sqrt((1/|D|) Σ_{g∈D} (ŷ_g − y_g)²)."""
    return float(np.sqrt(mse(pred, true, idx)))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r = Σ (a−ā)(b−b̄) / sqrt(Σ (a−ā)² Σ (b−b̄)²); 0 when a or b is constant."""
    a = np.asarray(a, dtype=np.float64) - np.mean(a)
    b = np.asarray(b, dtype=np.float64) - np.mean(b)
    denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / denom) if denom > 0 else 0.0


def pcc_delta(pred: np.ndarray, true: np.ndarray, ctrl: np.ndarray, idx: Index = None) -> float:
    """Pearson delta = Pearson(ŷ_D − μ_D, y_D − μ_D)."""
    c = _sel(ctrl, idx)
    return pearson(_sel(pred, idx) - c, _sel(true, idx) - c)


def dac(pred: np.ndarray, true: np.ndarray, ctrl: np.ndarray, idx: Index = None) -> float:
    """DAC = (1/|D|) Σ_{g∈D} 1[sign(ŷ_g − μ_g) = sign(y_g − μ_g)] (0 = 0 counts as a match)."""
    c = _sel(ctrl, idx)
    same = np.sign(_sel(pred, idx) - c) == np.sign(_sel(true, idx) - c)
    return float(np.mean(same)) if same.size else float("nan")


def dac_nonzero(pred: np.ndarray, true: np.ndarray, ctrl: np.ndarray, idx: Index = None) -> float:
    """DAC over D' = {g ∈ D : y_g ≠ μ_g}: (1/|D'|) Σ_{g∈D'} 1[sign(ŷ_g − μ_g) = sign(y_g − μ_g)];
    NaN when D' is empty."""
    c = _sel(ctrl, idx)
    t = _sel(true, idx) - c
    keep = t != 0
    if not keep.any():
        return float("nan")
    return float(np.mean(np.sign(_sel(pred, idx) - c)[keep] == np.sign(t[keep])))


def frac_opposite_direction(
    pred: np.ndarray, true: np.ndarray, ctrl: np.ndarray, idx: Index
) -> float:
    """#{g ∈ D : |sign(ŷ_g − μ_g) − sign(y_g − μ_g)| = 2} / |D| (strictly opposite signs)."""
    c = _sel(ctrl, idx)
    d = np.abs(np.sign(_sel(pred, idx) - c) - np.sign(_sel(true, idx) - c))
    return float(np.mean(d == 2)) if d.size else float("nan")


def frac_within(
    pred: np.ndarray, true: np.ndarray, idx: Index = None, tolerance: float = 0.05
) -> float:
    """(1/|D|) Σ_{g∈D} 1[|ŷ_g − y_g| ≤ tolerance · |y_g|] (BioDSNN's ±5 % of the truth)."""
    p, t = _sel(pred, idx), _sel(true, idx)
    ok = np.abs(p - t) <= tolerance * np.abs(t)
    return float(np.mean(ok)) if ok.size else float("nan")


def theil_sen_2(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_pairs: int = 2000,
    seed: int = 0,
    n_iter: int = 200,
    tol: float = 1e-9,
) -> np.ndarray:
    """Multivariate Theil-Sen estimate (no intercept) of y ≈ X c for two regressors, the
    estimator scikit-learn's ``TheilSenRegressor`` computes, vectorised: for ``n_pairs``
    random pairs of rows (i, j) solve the 2×2 system [x_i; x_j] c = [y_i, y_j] exactly, then
    return the spatial median of those solutions (Weiszfeld iterations from the
    coordinate-wise median). Pairs with a near-singular system are skipped."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # j != i
    a1, a2, b1, b2 = x[i, 0], x[i, 1], x[j, 0], x[j, 1]
    det = a1 * b2 - a2 * b1
    ok = np.abs(det) > 1e-12 * (np.abs(a1 * b2) + np.abs(a2 * b1) + 1e-300)
    if not ok.any():
        return np.zeros(2)
    c = np.column_stack(
        [(y[i] * b2 - a2 * y[j])[ok] / det[ok], (a1 * y[j] - y[i] * b1)[ok] / det[ok]]
    )
    m = np.median(c, axis=0)
    for _ in range(n_iter):
        d = np.linalg.norm(c - m, axis=1)
        w = 1.0 / np.maximum(d, 1e-12)
        new = (c * w[:, None]).sum(axis=0) / w.sum()
        if np.linalg.norm(new - m) < tol:
            m = new
            break
        m = new
    return m


def gi_coefficients(
    delta_ab: np.ndarray, delta_a: np.ndarray, delta_b: np.ndarray, *, seed: int = 0
) -> tuple[float, float, float]:
    """Genetic-interaction fit of a double (Norman et al., as GEARS does it):
    Theil-Sen regression without intercept δ_AB ≈ c_A δ_A + c_B δ_B over genes
    (:func:`theil_sen_2`, seeded); returns (c_A, c_B, magnitude = sqrt(c_A² + c_B²))."""
    x = np.column_stack([delta_a, delta_b]).astype(np.float64)
    c_a, c_b = (float(v) for v in theil_sen_2(x, np.asarray(delta_ab, dtype=np.float64), seed=seed))
    return c_a, c_b, float(np.hypot(c_a, c_b))


def _top_overlap(true: np.ndarray, pred: np.ndarray, k: int, largest: bool) -> float:
    sign = -1.0 if largest else 1.0
    t = set(np.argsort(sign * true, kind="stable")[:k].tolist())
    p = set(np.argsort(sign * pred, kind="stable")[:k].tolist())
    return len(t & p) / k


def gi_metrics(
    pred: Mapping[str, np.ndarray],
    truth: Mapping[str, np.ndarray],
    ctrl: np.ndarray,
    *,
    k: int = 20,
    seed: int = 0,
    de_rankings: Mapping[str, Sequence[int] | np.ndarray] | None = None,
    n_de: int = 20,
    exclude: Mapping[str, Index] | None = None,
) -> pd.DataFrame:
    """GI magnitudes of every double A+B whose singles A+ctrl and B+ctrl are in ``truth``:
    m_true from the true double delta, m_pred from the predicted double delta, both regressed
    on the TRUE single deltas (:func:`gi_coefficients`). Returns tidy rows: per double
    ``gi_magnitude_true`` / ``gi_magnitude_pred``, and for condition ``__all__``:
    ``gi_magnitude_pearson`` = Pearson(m_pred, m_true) over doubles, ``gi_synergy_overlap``
    / ``gi_suppressor_overlap`` = |top-k_true ∩ top-k_pred| / k by largest / smallest
    magnitude, with k = min(k, ⌊n_doubles / 2⌋) so the overlap is not trivially 1.

    With ``de_rankings`` the regression runs on the genes that respond: the union of the
    top-``n_de`` DE genes of A+B, A+ctrl and B+ctrl. Over all genes, the many unaffected
    genes (pure noise in δ_A, δ_B) drag both coefficients toward 0 (regression dilution).

    With ``exclude`` (condition -> positions of its perturbed genes) those genes are left out
    of the regression and the metric names get the suffix ``_excl_pert``. Columns: condition,
    metric, value, reason; with fewer than :data:`MIN_GI_DOUBLES` doubles the ``__all__`` rows
    are NaN with reason ``"< 5 doubles"``."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    rows, m_true, m_pred = [], [], []
    for cond, y in truth.items():
        genes = parse_condition(cond)
        singles = [f"{g}+ctrl" for g in genes]
        if len(genes) != 2 or cond not in pred or any(s not in truth for s in singles):
            continue
        da, db = (np.asarray(truth[s]) - ctrl for s in singles)
        dy, dp = np.asarray(y) - ctrl, np.asarray(pred[cond]) - ctrl
        drop = set() if exclude is None else {int(i) for i in _as_idx(exclude.get(cond))}
        if de_rankings is not None and all(c in de_rankings for c in (cond, *singles)):
            idx = np.unique(
                np.concatenate([_without(de_rankings[c], drop)[:n_de] for c in (cond, *singles)])
            )
            da, db, dy, dp = da[idx], db[idx], dy[idx], dp[idx]
        elif drop:
            keep = np.setdiff1d(np.arange(len(ctrl)), np.fromiter(drop, dtype=np.int64))
            da, db, dy, dp = da[keep], db[keep], dy[keep], dp[keep]
        mt = gi_coefficients(dy, da, db, seed=seed)[2]
        mp = gi_coefficients(dp, da, db, seed=seed)[2]
        m_true.append(mt)
        m_pred.append(mp)
        rows += [(cond, "gi_magnitude_true", mt, ""), (cond, "gi_magnitude_pred", mp, "")]
    n = len(m_true)
    names = ("gi_magnitude_pearson", "gi_synergy_overlap", "gi_suppressor_overlap")
    if n >= MIN_GI_DOUBLES:
        mt_a, mp_a = np.array(m_true), np.array(m_pred)
        k_eff = max(1, min(k, n // 2))
        values = (
            pearson(mp_a, mt_a),
            _top_overlap(mt_a, mp_a, k_eff, True),
            _top_overlap(mt_a, mp_a, k_eff, False),
        )
        rows += [("__all__", m, v, "") for m, v in zip(names, values, strict=True)]
    else:
        rows += [("__all__", m, float("nan"), GI_TOO_FEW) for m in names]
    table = pd.DataFrame(rows, columns=["condition", "metric", "value", "reason"])
    if exclude is not None:
        table["metric"] = table["metric"] + EXCL
    return table


def _as_idx(idx: Index) -> np.ndarray:
    return np.zeros(0, np.int64) if idx is None else np.asarray(idx, dtype=np.int64).ravel()


def _without(ranking: Sequence[int] | np.ndarray, drop: set[int]) -> np.ndarray:
    r = np.asarray(ranking, dtype=np.int64)
    return r if not drop else r[~np.isin(r, np.fromiter(drop, dtype=np.int64))]


def _family(
    pred: np.ndarray,
    true: np.ndarray,
    ctrl: np.ndarray,
    genes: Index,
    ranking: np.ndarray,
    n20: np.ndarray,
    train_mean: np.ndarray | None,
) -> dict[str, float]:
    """The metrics of one condition on gene set ``genes`` (None = all) and DE ranking."""
    de20, de40 = ranking[:20], ranking[:40]
    out = {
        "rmse": rmse(pred, true, genes),
        "dac": dac(pred, true, ctrl, genes),
        "dac_nonzero": dac_nonzero(pred, true, ctrl, genes),
        "pcc_delta": pcc_delta(pred, true, ctrl, genes),
    }
    for name, idx in (("de20", de20), ("de40", de40)):
        out |= {
            f"rmse_{name}": rmse(pred, true, idx),
            f"dac_{name}": dac(pred, true, ctrl, idx),
            f"dac_nonzero_{name}": dac_nonzero(pred, true, ctrl, idx),
            f"pcc_delta_{name}": pcc_delta(pred, true, ctrl, idx),
        }
    out |= {
        "pearson_delta": out["pcc_delta"],
        "mse": mse(pred, true, genes),
        "mse_de": mse(pred, true, de20),
        "pearson_de_delta": out["pcc_delta_de20"],
        "frac_opposite_direction_top20_non_dropout": frac_opposite_direction(pred, true, ctrl, n20),
        "mse_top20_de": mse(pred, true, de20),
        "frac_within_5pct_de": frac_within(pred, true, de20),
    }
    if train_mean is not None:
        out |= {
            "pcc_delta_train_mean": pcc_delta(pred, true, train_mean, genes),
            "pcc_delta_train_mean_de20": pcc_delta(pred, true, train_mean, de20),
        }
    return out


def condition_metrics(
    pred: np.ndarray,
    true: np.ndarray,
    ctrl: np.ndarray,
    de_ranking: Sequence[int] | np.ndarray,
    non_dropout_20: Sequence[int] | np.ndarray | None = None,
    *,
    perturbed: Index = None,
    train_mean: np.ndarray | None = None,
) -> dict[str, float]:
    """All per-condition metrics of the families for one condition (names and formulas in
    the module docstring); DE20/DE40 = first 20/40 of ``de_ranking``; N20 =
    ``non_dropout_20`` (defaults to DE20). ``perturbed``: positions of the condition's
    perturbed genes among the measured ones (for the ``_excl_pert`` twins; none = the twins
    equal the plain values). ``train_mean`` = m_train of the Systema metrics (left out when
    None)."""
    ranking = np.asarray(de_ranking, dtype=np.int64)
    n20 = ranking[:20] if non_dropout_20 is None else np.asarray(non_dropout_20, np.int64)
    out = _family(pred, true, ctrl, None, ranking, n20, train_mean)
    drop = {int(i) for i in _as_idx(perturbed)}
    if drop:
        keep = np.setdiff1d(np.arange(len(np.asarray(true))), np.fromiter(drop, dtype=np.int64))
        excl = _family(
            pred, true, ctrl, keep, _without(ranking, drop), _without(n20, drop), train_mean
        )
    else:
        excl = out
    return out | {f"{k}{EXCL}": v for k, v in excl.items()}


def evaluate(
    pred: Mapping[str, np.ndarray],
    truth: Mapping[str, np.ndarray],
    ctrl: np.ndarray,
    de_rankings: Mapping[str, Sequence[int] | np.ndarray],
    non_dropout_20: Mapping[str, Sequence[int] | np.ndarray] | None = None,
    *,
    conditions: Iterable[str] | None = None,
    gi: bool = True,
    seed: int = 0,
    perturbed: Mapping[str, Index] | None = None,
    train_mean: np.ndarray | None = None,
    not_applicable: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Evaluate a dict of predicted mean profiles against the true ones.

    Returns a tidy DataFrame (columns condition, metric, value, reason): one row per
    condition and metric of :func:`condition_metrics`, plus the genetic-interaction rows of
    :func:`gi_metrics` (also with perturbed genes excluded when ``perturbed`` is given) when
    ``gi`` (doubles only; aggregate rows use condition ``__all__``). ``conditions`` defaults
    to every predicted condition; a condition missing from ``truth`` or ``de_rankings``
    raises KeyError naming it. ``perturbed``: condition -> positions of its perturbed genes
    (``_excl_pert`` metrics); ``train_mean``: m_train (Systema metrics);
    ``not_applicable``: condition -> reason: its rows are NaN with that reason (the model
    degenerates there, e.g. the linear baseline when no target is measured) and it is left
    out of the GI fit.
    """
    chosen = list(pred) if conditions is None else list(conditions)
    rows = []
    for cond in chosen:
        for key, table in (("truth", truth), ("de_rankings", de_rankings)):
            if cond not in table:
                raise KeyError(f"condition {cond!r} missing from {key}")
        n20 = None if non_dropout_20 is None else non_dropout_20.get(cond)
        values = condition_metrics(
            pred[cond],
            truth[cond],
            ctrl,
            de_rankings[cond],
            n20,
            perturbed=None if perturbed is None else perturbed.get(cond),
            train_mean=train_mean,
        )
        why = (not_applicable or {}).get(cond, "")
        rows += [(cond, k, float("nan") if why else v, why) for k, v in values.items()]
    table = pd.DataFrame(rows, columns=["condition", "metric", "value", "reason"])
    if gi:
        sub = {c: pred[c] for c in chosen if c not in (not_applicable or {})}
        parts = [table, gi_metrics(sub, truth, ctrl, seed=seed, de_rankings=de_rankings)]
        if perturbed is not None:
            parts.append(
                gi_metrics(sub, truth, ctrl, seed=seed, de_rankings=de_rankings, exclude=perturbed)
            )
        table = pd.concat(parts, ignore_index=True)
    return table


def summarise(table: pd.DataFrame) -> pd.Series:
    """Mean of each metric over conditions (NaN ignored), as GEARS / GRAPE report."""
    return table.groupby("metric")["value"].mean()
