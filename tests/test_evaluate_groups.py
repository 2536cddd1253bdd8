"""Scoring over splits with n/a reasons and notes, the linear-KG baseline in the table, and
the evaluation of a dataset group (hand-made bundles on disk, no KG needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from grapekg.app import evaluate as app_eval
from grapekg.app.workspace import Workspace
from grapekg.cli.evaluate import model_chunks
from grapekg.evaluation import scoring as ev
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.de import compute_de
from grapekg.perturb.splits import resolve_split
from grapekg.perturb.summaries import ConditionSummary
from grapekg.settings import Settings

N_GENES = 30


def _save(path, conditions, *, measured_targets: bool, seed: int = 0, meta=None):
    """A bundle whose genes are G0..G29; targets T* are unmeasured, M* measured (M0 = G0)."""
    rng = np.random.default_rng(seed)
    names = [f"G{i}" for i in range(N_GENES)]
    if measured_targets:
        names[:4] = ["M0", "M1", "M2", "M3"]
    conditions = ["ctrl", *sorted(c for c in conditions if c != "ctrl")]
    base = rng.gamma(2.0, 1.0, N_GENES) + 0.5
    mean = np.stack(
        [base + (0 if c == "ctrl" else rng.normal(0, 0.5, N_GENES)) for c in conditions]
    )
    summary = ConditionSummary(
        conditions=conditions,
        gene_ids=np.array([f"ENSG{i:011d}" for i in range(N_GENES)], dtype=object),
        gene_names=np.array(names, dtype=object),
        n_cells=np.full(len(conditions), 20),
        mean=mean,
        var=np.full_like(mean, 0.5),
        frac_nonzero=np.full_like(mean, 0.9),
    )
    genes = pd.DataFrame(
        {"ensembl_id": summary.gene_ids.astype(str), "symbol": names, "in_kg": True}
    )
    meta = {"name": path.name, "synthetic": False, **(meta or {})}
    bundle_mod.save(path, summary, compute_de(summary), genes, meta)
    return bundle_mod.load(path)


SINGLES = [f"T{i}+ctrl" for i in range(10)]


def test_linear_is_na_when_no_target_is_measured_and_linear_kg_is_counted(tmp_path) -> None:
    b = _save(tmp_path / "screen", ["ctrl", *SINGLES, "T0+T1", "T2+T3"], measured_targets=False)
    rng = np.random.default_rng(1)
    embedding = {f"T{i}": rng.normal(size=4) for i in range(8)}  # T8, T9 have no membership
    models = {
        label: ev.baseline_predictor(key, b, embedding) for label, key in ev.BASELINE_LABELS.items()
    }
    res = ev.evaluate_models(b, "random", [1, 2], models)
    table = res.table()
    assert table.loc["linear", "pcc_delta"] == "n/a (target not measured)"
    assert table.loc["linear-kg", "pcc_delta"] != table.loc["mean", "pcc_delta"]
    assert "±" in table.loc["linear-kg", "pcc_delta"]
    assert table.loc["mean", "gi_magnitude_pearson"] == "n/a (< 5 doubles)"
    assert res.na["linear"]["rmse"] == "target not measured"
    assert res.notes[0] == ev.FIT_NOTE
    assert any(n.startswith("linear-kg: ") and "no GO BP / Reactome" in n for n in res.notes)
    pc = res.per_condition
    lin = pc[(pc.model == "linear") & (pc.metric == "rmse")]
    assert lin["value"].isna().all() and set(lin.reason) == {"target not measured"}
    # Systema: the mean baseline has no perturbation-specific signal
    assert float(res.summary.loc["mean", "pcc_delta_train_mean_mean"]) == 0.0
    files = ev.write_outputs(res, tmp_path / "out")
    summary = json.loads(files["summary_json"].read_text())
    assert summary["na"]["linear"]["pcc_delta"] == "target not measured"
    assert summary["models"]["linear"]["pcc_delta_mean"] is None
    assert ev.FIT_NOTE in summary["notes"]
    assert "reason" in pd.read_csv(files["per_condition"]).columns
    for chunk in model_chunks(table, 100):  # each printed table fits 100 columns
        width = max(len(m) for m in table.columns) + 4
        width += sum(max(len(c), *(len(v) for v in table.loc[c])) + 3 for c in chunk)
        assert width <= 100 or len(chunk) == 1


def test_baselines_fit_on_split_train_only(tmp_path) -> None:
    b = _save(tmp_path / "s2", ["ctrl", *SINGLES], measured_targets=False)
    split = resolve_split("random", b.summary.conditions, 1)
    assert split.val
    seen: list[list[str]] = []

    class Spy(ev.BASELINES["train_mean"]):
        def fit(self, train_means, ctrl_mean, gene_names=None):
            seen.append(sorted(train_means))
            return super().fit(train_means, ctrl_mean, gene_names)

    ev.BASELINES["spy"] = Spy
    try:
        ev.evaluate_models(b, "random", [1], {"spy": ev.baseline_predictor("spy", b)})
    finally:
        del ev.BASELINES["spy"]
    assert seen == [sorted(c for c in split.train if c != "ctrl")]
    assert not set(seen[0]) & set(split.val)


def test_linear_partly_na_scores_the_others(tmp_path) -> None:
    conds = ["ctrl", "M0+ctrl", "M1+ctrl", "M2+ctrl", "M3+ctrl", *SINGLES]
    b = _save(tmp_path / "s3", conds, measured_targets=True)
    res = ev.evaluate_models(
        b, "random", [1, 2, 3], {"linear": ev.baseline_predictor("linear_pca", b)}
    )
    note = [n for n in res.notes if n.startswith("linear: n/a for")]
    assert note and "target not measured" in note[0]
    assert "linear" not in res.na or "rmse" not in res.na["linear"]


def test_group_evaluation_per_context_and_overall(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    ws = Workspace(settings)
    stim = [*SINGLES, "T0+T1"]
    rest = [*SINGLES[2:], "X1+ctrl", "X2+ctrl"]
    for ctx, conds, seed in (("stim", stim, 0), ("rest", rest, 1)):
        _save(
            ws.dataset_dir(f"scr@{ctx}"),
            conds,
            measured_targets=False,
            seed=seed,
            meta={"group": "scr", "context": ctx},
        )
    members = app_eval.group_members(None, ws, "scr")
    assert members == ["scr@rest", "scr@stim"]
    assert app_eval.group_members(None, ws, "scr@rest") == []
    group = app_eval.evaluate_group(None, ws, "scr", members, "random", [1, 2])
    assert set(group.members) == set(members)
    for seed in (1, 2):
        tests = {
            m: set(e.result.per_condition[e.result.per_condition.seed == seed].condition)
            - {"__all__"}
            for m, e in group.members.items()
        }
        # a perturbation held out in one context is held out in every context that has it
        for c in tests["scr@stim"] & set(rest):
            assert c in tests["scr@rest"]
    overall = group.overall.result
    assert overall.dataset == "scr" and set(overall.per_condition.context) == set(members)
    pooled = overall.per_condition.query("model == 'mean' and metric == 'rmse' and seed == 1")
    per_seed = overall.per_seed.query("model == 'mean' and metric == 'rmse' and seed == 1")
    assert float(per_seed["value"].iloc[0]) == pytest.approx(pooled["value"].mean())
    assert len(pooled) == sum(
        len(e.result.per_condition.query("model == 'mean' and metric == 'rmse' and seed == 1"))
        for e in group.members.values()
    )
    assert (ws.results_dir("scr", "random") / "summary.json").exists()
    for m in members:
        assert (ws.results_dir(m, "random") / "summary.json").exists()
    assert "linear-kg" not in overall.summary.index  # no KG at hand: left out
    out = app_eval.evaluate_group(None, ws, "scr", members, "random", [1], out=tmp_path / "o")
    assert (tmp_path / "o" / "overall" / "summary.csv").exists()
    assert (tmp_path / "o" / "scr@stim" / "per_condition.csv").exists()
    assert out.overall.out == tmp_path / "o" / "overall"
