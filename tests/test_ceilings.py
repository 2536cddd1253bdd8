"""Ceilings of SYNTHETIC datasets (mean+self, true graph with average or voted sign, oracle) and
the gap row: by hand on tiny cases, through the evaluation flow, and through the CLI against the
real Neo4j (synthetic KG)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grapekg.app import evaluate as app_eval
from grapekg.app.workspace import Workspace
from grapekg.evaluation import ceilings
from grapekg.evaluation import scoring as ev
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.de import compute_de
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.splits import Split
from grapekg.perturb.summaries import ConditionSummary, summarise_adata
from grapekg.perturb.truth import SimulationTruth, expected_mean
from grapekg.settings import Settings
from tests.synthetic_kg import load_synthetic_kg
from tests.test_cli import grape

REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}
CEILINGS = [
    "ceiling:mean+self",
    "ceiling:true-graph-avg-sign",
    "ceiling:true-graph-vote-sign",
    "ceiling:oracle",
]


def _bundle(ws: Workspace, name: str, sim, *, noise_free: bool) -> bundle_mod.Bundle:
    """A dataset bundle of ``sim`` with its truth saved where ``grape data simulate`` puts
    it; ``noise_free``: the condition means are E[ȳ | z] of the truth (no cell noise)."""
    ws.raw_dir(name).mkdir(parents=True, exist_ok=True)
    sim.truth.save(ws.simulation_truth(name))
    s = summarise_adata(sim.adata)
    if noise_free:
        tr = sim.truth
        mean = np.stack([tr.expected(tr.mean[tr.row(c)]) for c in s.conditions])
        s = dataclasses.replace(s, mean=mean, var=np.full_like(mean, 0.05))
    genes = pd.DataFrame(
        {"ensembl_id": s.gene_ids.astype(str), "symbol": s.gene_names.astype(str), "in_kg": True}
    )
    meta = {
        "name": name,
        "synthetic": True,
        "source_file": str(ws.raw_dir(name) / "perturb_processed.h5ad"),
    }
    bundle_mod.save(ws.dataset_dir(name), s, compute_de(s), genes, meta)
    return bundle_mod.load(ws.dataset_dir(name))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(Settings.load(env={}, data_dir=tmp_path / "data"))


def test_ceilings_on_noise_free_data(ws: Workspace, tmp_path: Path) -> None:
    """Against the noise-free truth the oracle is exact; the gap of mean is 0 and of the
    oracle 1; mean+self equals mean once the perturbed genes are excluded and beats it where
    the knock-down dominates (the plain DE20 metrics)."""
    sim = simulate(
        synthetic_genes(150, seed=2),
        relations=REL,
        seed=4,
        signal="learnable",
        n_conditions=30,
        cells_per_condition=10,
        n_control_cells=20,
        add_de=False,
    )
    b = _bundle(ws, "nf", sim, noise_free=True)
    res = app_eval.evaluate(ws, b, "nf", "simulation", [1, 2], out=tmp_path / "out").result
    s = res.summary
    assert list(s.index[-4:]) == CEILINGS
    oracle = s.loc["ceiling:oracle"]
    assert oracle["rmse_mean"] == pytest.approx(0.0, abs=1e-6)  # float32 bundle
    for m in ("pcc_delta", "pcc_delta_de20", "pcc_delta_de20_excl_pert"):
        assert oracle[f"{m}_mean"] == pytest.approx(1.0, abs=1e-6)
    assert s.loc["mean", "gap_mean"] == 0.0 and oracle["gap_mean"] == pytest.approx(1.0)
    assert oracle["gap_sd"] == pytest.approx(0.0, abs=1e-12)
    self_ = s.loc["ceiling:mean+self"]
    for m in ("pcc_delta_de20_excl_pert", "pcc_delta_excl_pert", "rmse_de20_excl_pert"):
        assert self_[f"{m}_mean"] == pytest.approx(s.loc["mean", f"{m}_mean"])
    assert self_["gap_mean"] == pytest.approx(0.0)
    assert self_["pcc_delta_de20_mean"] > s.loc["mean", "pcc_delta_de20_mean"] + 0.05
    assert self_["rmse_mean"] < s.loc["mean", "rmse_mean"]
    # every row has a gap, in the table too
    assert s["gap_mean"].notna().all()
    assert res.table().loc["ceiling:oracle", "gap"].startswith("1.0000")
    assert ev.GAP_NOTE in res.notes
    # the same test conditions per seed for ceilings and baselines
    pc = res.per_condition[res.per_condition.metric == "rmse"]
    by = pc.groupby("model")["condition"].apply(lambda c: tuple(sorted(c)))
    assert len(set(by)) == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(CEILINGS) <= set(summary["models"])
    assert summary["models"]["ceiling:oracle"]["gap_mean"] == pytest.approx(1.0)
    assert "gap_mean" in (tmp_path / "out" / "summary.csv").read_text()


def _chain_truth() -> SimulationTruth:
    """Genes A, B, C, D: edges A->B (+0.5, cc), A->C (-1.0, cc), B->D (+0.8, cn); A and the
    double A+B knocked down; noise-free means built by hand."""
    mu = np.array([1.5, 1.0, 2.0, 0.5])
    conds = ["ctrl", "A+B", "A+ctrl"]
    shock = np.array([[0, 0, 0, 0], [-1.0, -1.0, 0, 0], [-1.0, 0, 0, 0]])
    mean = np.stack([mu, mu + [-1.0, -1.0, 0.3, -0.2], mu + [-1.0, -0.4, 0.9, 0.1]])
    return SimulationTruth(
        signal="learnable",
        gene_ids=np.array(["GA", "GB", "GC", "GD"]),
        conditions=conds,
        mean=mean,
        shock=shock,
        generic=np.zeros(4),
        amplitude=np.zeros(3),
        modes=np.array([1.0, 1.0, -1.0, 1.0]),
        edge_src=np.array([0, 0, 1]),
        edge_dst=np.array([1, 2, 3]),
        edge_weight=np.array([0.5, -1.0, 0.8]),
        edge_relation=np.array(["cc", "cc", "cn"]),
        params={
            "damping": 1.0,
            "propagation_steps": 1,
            "noise_sd": 0.25,
            "library_sd": 0.2,
            "dropout_rate": 2.0,
        },
    )


def _e(z) -> np.ndarray:
    """E(z) with the chain truth's noise, library and dropout parameters."""
    return expected_mean(np.asarray(z, float), 0.25, 0.2, 2.0)


def _chain_bundle(tr: SimulationTruth, tmp_path: Path) -> tuple[bundle_mod.Bundle, np.ndarray]:
    """A bundle whose observed means are E(z) of the chain truth plus 0.01 · row ("cells")."""
    observed = np.stack([_e(z) + 0.01 * i for i, z in enumerate(tr.mean)])
    s = ConditionSummary(
        conditions=tr.conditions,
        gene_ids=np.array(["GA", "GB", "GC", "GD"], dtype=object),
        gene_names=np.array(["A", "B", "C", "D"], dtype=object),
        n_cells=np.full(3, 10),
        mean=observed,
        var=np.full_like(observed, 0.1),
        frac_nonzero=np.full_like(observed, 0.9),
    )
    genes = pd.DataFrame({"ensembl_id": ["GA", "GB", "GC", "GD"], "symbol": list("ABCD")})
    bundle_mod.save(tmp_path / "b", s, compute_de(s), genes, {"name": "b", "synthetic": True})
    return bundle_mod.load(tmp_path / "b"), observed


def test_true_graph_ceiling_by_hand(tmp_path: Path) -> None:
    tr = _chain_truth()
    np.testing.assert_allclose(ceilings.relation_average_weights(tr), [-0.25, -0.25, 0.8])
    b, observed = _chain_bundle(tr, tmp_path)
    pred = ceilings.ceiling_predictors(tr, b)
    split = Split("hand", 1, train=["ctrl", "A+B"], val=[], test=["A+ctrl"])
    m_train = observed[1]
    mu = tr.mean[0]
    # A -> B, C with w̄_cc = -0.25 and shock -1: δ_B = δ_C = +0.25; D untouched (one step)
    z_bar = np.maximum(mu + np.array([-1.0, 0.25, 0.25, 0.0]), 0.0)
    want = m_train + _e(z_bar) - _e(mu)
    want[0] = _e(tr.mean[2])[0]  # the perturbed gene: its true knock-down
    np.testing.assert_allclose(pred["ceiling:true-graph-avg-sign"](split)["A+ctrl"], want)
    got_self = pred["ceiling:mean+self"](split)["A+ctrl"]
    np.testing.assert_allclose(got_self, np.r_[_e(tr.mean[2])[0], m_train[1:]])
    np.testing.assert_allclose(pred["ceiling:oracle"](split)["A+ctrl"], _e(tr.mean[2]))
    # the double propagates both shocks together: B's own value is reset, D gets B's push
    split2 = Split("hand", 1, train=["ctrl", "A+ctrl"], val=[], test=["A+B"])
    z2 = np.maximum(mu + np.array([-1.0, -1.0, 0.25, -0.8]), 0.0)
    want2 = observed[2] + _e(z2) - _e(mu)
    want2[:2] = _e(tr.mean[1])[:2]
    np.testing.assert_allclose(pred["ceiling:true-graph-avg-sign"](split2)["A+B"], want2)
    with pytest.raises(ValueError, match="genes differ"):
        ceilings.ceiling_predictors(dataclasses.replace(tr, gene_ids=np.array(list("WXYZ"))), b)


def test_vote_sign_ceiling_by_hand(tmp_path: Path) -> None:
    """Trained regulators keep their true weights; an unseen one takes the sign voted by the
    trained genes within two hops (here B, next to A whose net sign is 0.5 - 1.0 < 0)."""
    tr = _chain_truth()
    np.testing.assert_allclose(ceilings.voted_weights(tr, np.array([0])), [0.5, -1.0, -0.8])
    np.testing.assert_allclose(ceilings.voted_weights(tr, np.array([0, 1])), tr.edge_weight)
    # nothing trained: no sign to vote, the unseen edges carry nothing
    np.testing.assert_allclose(ceilings.voted_weights(tr, np.array([], dtype=int)), [0, 0, 0])
    b, observed = _chain_bundle(tr, tmp_path)
    pred = ceilings.ceiling_predictors(tr, b)
    mu = tr.mean[0]
    # A+B with only A trained: A -> B, C as true (C +1.0; B reset), B -> D voted -0.8: D +0.8
    split = Split("hand", 1, train=["ctrl", "A+ctrl"], val=[], test=["A+B"])
    want = observed[2] + _e(np.maximum(mu + [-1.0, -1.0, 1.0, 0.8], 0.0)) - _e(mu)
    want[:2] = _e(tr.mean[1])[:2]
    np.testing.assert_allclose(pred["ceiling:true-graph-vote-sign"](split)["A+B"], want)
    # both trained: the true graph (A's single reaches B and C only, in one step)
    split2 = Split("hand", 1, train=["ctrl", "A+B"], val=[], test=["A+ctrl"])
    want2 = observed[1] + _e(np.maximum(mu + [-1.0, -0.5, 1.0, 0.0], 0.0)) - _e(mu)
    want2[0] = _e(tr.mean[2])[0]
    np.testing.assert_allclose(pred["ceiling:true-graph-vote-sign"](split2)["A+ctrl"], want2)


def test_gap_by_hand() -> None:
    rows = [
        ("mean", 1, 0.5),
        ("mean", 2, 0.6),
        ("ceiling:oracle", 1, 1.0),
        ("ceiling:oracle", 2, 0.9),
        ("m", 1, 0.75),
        ("m", 2, 0.75),
        ("flat", 1, 0.5),
        ("flat", 2, 0.3),
    ]
    per_seed = pd.DataFrame(rows, columns=["model", "seed", "value"]).assign(metric=ev.GAP_METRIC)
    other = per_seed.assign(metric="rmse")
    got = ev.with_gap(pd.concat([per_seed, other], ignore_index=True))
    gap = got[got.metric == "gap"].set_index(["model", "seed"])["value"]
    assert gap["mean"].tolist() == [0.0, 0.0] and gap["ceiling:oracle"].tolist() == [1.0, 1.0]
    np.testing.assert_allclose(gap["m"].tolist(), [0.5, 0.5])
    np.testing.assert_allclose(gap["flat"].tolist(), [0.0, -1.0])
    # no oracle (a real dataset): no gap rows; a zero-width gap: n/a
    assert "gap" not in set(ev.with_gap(other[other.model != "ceiling:oracle"]).metric)
    same = per_seed.copy()
    same.loc[same.model == "ceiling:oracle", "value"] = [0.5, 0.6]
    flat = ev.with_gap(same)
    assert flat[flat.metric == "gap"]["value"].isna().all()


def test_load_truth_says_why_not(ws: Workspace) -> None:
    genes = synthetic_genes(60, seed=1)
    kw = {"relations": REL, "n_conditions": 8, "cells_per_condition": 5, "n_control_cells": 10}
    sim = simulate(genes, seed=1, add_de=False, **kw)
    b = _bundle(ws, "a", sim, noise_free=False)
    truth, why = app_eval.load_truth(ws, b, "a")
    assert truth is not None and why is None and truth.signal == "random-sign"
    plain = dataclasses.replace(b, meta={**b.meta, "synthetic": False})
    assert app_eval.load_truth(ws, plain, "a") == (None, None)
    ws.simulation_truth("a").unlink()
    truth, why = app_eval.load_truth(ws, b, "a")
    assert truth is None and "not found" in why and "grape data simulate" in why
    other = simulate(synthetic_genes(70, seed=1), seed=1, add_de=False, **kw)
    other.truth.save(ws.simulation_truth("a"))
    truth, why = app_eval.load_truth(ws, b, "a")
    assert truth is None and "genes differ" in why
    moved = dataclasses.replace(b, meta={**b.meta, "source_file": "/elsewhere/x.h5ad"})
    sim.truth.save(ws.simulation_truth("a"))
    assert "not imported from" in app_eval.load_truth(ws, moved, "a")[1]


def test_cli_simulate_signals_and_evaluate_with_ceilings(store, cli_env, tmp_path) -> None:
    load_synthetic_kg(store, n_genes=300)
    env = dict(cli_env, COLUMNS="100")
    out = grape(
        env,
        "data",
        "simulate",
        "--genes",
        "200",
        "--conditions",
        "40",
        "--cells-per-condition",
        "20",
        "--name",
        "simlearn",
    ).stdout
    assert "SYNTHETIC data (learnable)" in out
    data = Path(cli_env["GRAPE_DATA_DIR"])
    truth = SimulationTruth.load(data / "raw" / "simlearn" / "simulation_truth.npz")
    assert truth.signal == "learnable" and len(truth.conditions) == 41
    res = tmp_path / "res"
    args = ("evaluate", "--dataset", "simlearn", "--seeds", "1..2", "--out", str(res))
    out = grape(env, *args).stdout
    assert "SYNTHETIC" in out and "ceiling:" in out and "true-graph-avg-sign" in out
    assert "oracle" in out and "mean+self" in out and "gap" in out and "note: gap = " in out
    assert max(len(line) for line in out.splitlines() if "│" in line) <= 100
    summary = json.loads((res / "summary.json").read_text())
    assert set(CEILINGS) <= set(summary["models"])
    models = summary["models"]
    assert models["mean"]["gap_mean"] == 0.0
    assert models["ceiling:oracle"]["gap_mean"] == pytest.approx(1.0)
    assert models["ceiling:oracle"]["pcc_delta_de20_excl_pert_mean"] > 0.9
    assert models["additive"]["gap_mean"] < 0.9
    as_json = json.loads(grape(env, *args, "--format", "json").stdout)
    assert "gap_mean" in as_json["models"]["linear"]
    csv = grape(env, *args, "--format", "csv").stdout
    assert "ceiling:true-graph-avg-sign" in csv and "gap_mean" in csv.splitlines()[0]
    # the negative control is still there, with its ceilings
    out = grape(
        env,
        "data",
        "simulate",
        "--genes",
        "200",
        "--conditions",
        "40",
        "--cells-per-condition",
        "20",
        "--signal",
        "random-sign",
        "--name",
        "simrs",
    ).stdout
    assert "SYNTHETIC data (random-sign)" in out
    rs = json.loads(
        grape(env, "evaluate", "--dataset", "simrs", "--seeds", "1", "--format", "json").stdout
    )
    assert "ceiling:oracle" in rs["models"] and rs["models"]["mean"]["gap_mean"] == 0.0
    bad = grape(env, "data", "simulate", "--signal", "coin", check=False)
    assert bad.returncode == 2 and "--signal" in bad.stderr + bad.stdout
