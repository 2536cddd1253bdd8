"""GRAPE's documented switches beyond the paper (issue 10.3): each changes what it says."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from grapekg.model.grape import GeneGraph, GrapeConfig
from grapekg.model.grape.graph import directed_edge_types
from grapekg.model.grape.self_term import SelfKnockdown, self_entries
from grapekg.model.grape.train import predict, train_grape, validation_score
from grapekg.perturb.conditions import parse_condition
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.splits import resolve_split
from grapekg.perturb.summaries import summarise_adata

REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}
FAST = dict(
    hidden=16, batch_size=8, align_epochs=1, gat_heads=2, sim_heads=2, sim_top_k=4, patience=100
)


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    torch.set_num_threads(2)
    genes = synthetic_genes(150, seed=3)
    sim = simulate(
        genes,
        relations=REL,
        n_conditions=40,
        cells_per_condition=10,
        seed=3,
        n_control_cells=60,
        add_de=False,
    )
    summary = summarise_adata(sim.adata)
    graph = GeneGraph.from_gene_table(
        genes,
        sim.edges.sample(frac=0.5, random_state=0),
        edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()]),
    )
    split = resolve_split("simulation", summary.conditions, 1)
    return {"summary": summary, "graph": graph, "split": split}


def _self_error(summary, conds, pred) -> float:
    names = {str(g): i for i, g in enumerate(summary.gene_names)}
    errs = []
    for c in conds:
        for g in parse_condition(c):
            i = names[g]
            errs.append(abs(pred[c][i] - summary.mean[summary.index(c)][i]))
    return float(np.mean(errs))


def test_self_term_predicts_an_unseen_genes_own_drop(data, tmp_path):
    summary, split = data["summary"], data["split"]
    unseen = split.test_subgroup["unseen_single"]
    assert unseen
    errs = {}
    for on in (False, True):
        cfg = GrapeConfig(epochs=3, self_term=on, seed=0, **FAST)
        train_grape(data["graph"], summary, split, cfg, tmp_path / str(on))
        errs[on] = _self_error(summary, unseen, predict(tmp_path / str(on), unseen))
    # the simulator's knock-down takes 80 % of the expression: far from the mean baseline
    assert errs[True] < 0.5 * errs[False], errs


def test_self_knockdown_init_is_least_squares_and_entries_skip_unmeasured():
    f = SelfKnockdown()
    x = np.array([0.5, 1.0, 2.0, 3.0])
    f.init_from(x, -0.5 * x + 0.1)
    got = f(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    assert np.allclose(got, -0.5 * x + 0.1, atol=1e-5)
    out_pos = torch.tensor([0, -1, 1])  # node 1 is not measured
    rows, cols = self_entries([[1], [0, 2], []], out_pos)
    assert rows.tolist() == [1, 1] and cols.tolist() == [0, 1]
    assert self_entries([[1], []], out_pos) is None


def test_control_input_reaches_the_prediction(data, tmp_path):
    cfg = GrapeConfig(epochs=2, control_input=True, seed=0, **FAST)
    res = train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path)
    state = torch.load(res.run_dir / "model.pt", weights_only=True)
    assert "ctrl_in.weight" in state and float(state["ctrl_in.weight"].abs().sum()) > 0


def test_validation_score_de20_and_selection_recorded(data, tmp_path):
    true = np.array([[1.0, 2.0, 3.0, 0.0]])
    ctrl = np.zeros(4)
    de = [np.array([0, 1, 2])]
    assert validation_score(true, true, ctrl, de, "pcc_de20") == pytest.approx(-1.0)
    assert validation_score(true + 1, true, ctrl, de, "mse_de20") == pytest.approx(1.0)
    assert validation_score(true + 1, true, ctrl, de, "mse") == pytest.approx(1.0)
    cfg = GrapeConfig(epochs=2, select_on="pcc_de20", seed=0, **FAST)
    res = train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path)
    meta = json.loads((res.run_dir / "meta.json").read_text())
    assert meta["select_on"] == "pcc_de20"
    best = [h for h in res.history if h["epoch"] == res.best_epoch][0]
    assert best["val_score"] == min(h["val_score"] for h in res.history)
    assert res.best_val == pytest.approx(best["val_mse"])


def test_min_steps_extends_a_short_schedule(data, tmp_path):
    split = data["split"]
    n_train = len([c for c in split.train if c in data["summary"].conditions])
    steps_per_epoch = -(-n_train // 8)
    cfg = GrapeConfig(epochs=1, min_steps=3 * steps_per_epoch, seed=0, **FAST)
    res = train_grape(data["graph"], data["summary"], split, cfg, tmp_path)
    assert len(res.history) == 3
