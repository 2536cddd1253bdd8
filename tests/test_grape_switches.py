"""GRAPE's documented switches beyond the paper: each changes what it says."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from grapekg.model.grape import GeneGraph, GrapeConfig
from grapekg.model.grape.config import PriorShockConfig
from grapekg.model.grape.graph import directed_edge_types
from grapekg.model.grape.self_term import SelfKnockdown, self_entries
from grapekg.model.grape.train import predict, train_grape, validation_score
from grapekg.perturb.conditions import parse_condition
from grapekg.perturb.de import compute_de
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.splits import resolve_split
from grapekg.perturb.summaries import summarise_adata
from tests.synthetic_cases import clique_learnable

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
        signal="random-sign",
    )
    summary = summarise_adata(sim.adata)
    graph = GeneGraph.from_gene_table(
        genes,
        sim.edges.sample(frac=0.5, random_state=0),
        edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()]),
    )
    split = resolve_split("simulation", summary.conditions, 1)
    return {"summary": summary, "graph": graph, "split": split}


def _held_out_vs_mean(graph, summary, split, cfg, tmp_path) -> tuple[float, float]:
    """Train on the split, then pcc_de20 (perturbed genes excluded) of GRAPE and of the mean
    baseline on the held-out unseen singles."""
    from grapekg.model.grape.train import _top_de

    unseen = split.test_subgroup["unseen_single"]
    ranking = compute_de(summary).ranking
    train_grape(graph, summary, split, cfg, tmp_path, de_rank=ranking)
    pred = predict(tmp_path, unseen)
    true = np.stack([summary.mean[summary.index(c)] for c in unseen])
    train = [c for c in split.train if c != "ctrl"]
    mean = np.mean([summary.mean[summary.index(c)] for c in train], axis=0)
    de = _top_de(summary, unseen, ranking)
    ctrl = summary.ctrl_mean
    grape = -validation_score(np.stack([pred[c] for c in unseen]), true, ctrl, de, "pcc_de20")
    base = -validation_score(np.tile(mean, (len(unseen), 1)), true, ctrl, de, "pcc_de20")
    return grape, base


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
    with pytest.raises(ValueError, match="de_rank"):
        train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path)
    ranking = compute_de(data["summary"]).ranking
    res = train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path, de_rank=ranking)
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


def test_min_steps_are_done_before_early_stopping(data, tmp_path):
    """With lr = 0 the validation score never improves after the first epoch, so patience
    (1, scaled to 3 by the longer schedule) would stop at epoch 4 of 6; min_steps holds the
    run to its 6 epochs and the first epoch stays the best."""
    split = data["split"]
    n_train = len([c for c in split.train if c in data["summary"].conditions])
    steps_per_epoch = -(-n_train // 8)
    fast = FAST | {"patience": 1}
    cfg = GrapeConfig(epochs=2, min_steps=6 * steps_per_epoch, lr=0.0, seed=0, **fast)
    res = train_grape(data["graph"], data["summary"], split, cfg, tmp_path)
    assert len(res.history) == 6 and res.best_epoch == 0


def test_negative_control_random_sign_no_gain_over_mean_on_held_out(tmp_path):
    """Negative control: on the random-sign simulator an unseen regulator's effect has no
    predictable sign, so GRAPE (all switches on) must not beat the mean baseline on held-out
    unseen singles beyond noise; a clear gain would mean a leak from test to training."""
    import itertools

    import pandas as pd

    genes = synthetic_genes(200, seed=5)
    sim = simulate(
        genes,
        relations=REL,
        n_conditions=60,
        cells_per_condition=10,
        seed=5,
        n_control_cells=60,
        add_de=False,
        signal="random-sign",
    )
    summary = summarise_adata(sim.adata)
    ids = genes["ensembl_id"].to_numpy()
    members: dict[str, list[int]] = {}
    for col in ("pathways", "go_terms"):
        for i, terms in enumerate(genes[col]):
            for t in terms:
                members.setdefault(f"{col}:{t}", []).append(i)
    pairs = {p for m in members.values() for p in itertools.combinations(m, 2)}
    prior = pd.DataFrame({"src": [ids[a] for a, _ in pairs], "dst": [ids[b] for _, b in pairs]})
    # the prior is what a KG shows (shared terms), never the planted edges themselves
    graph = GeneGraph.from_gene_table(
        genes, prior, edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()])
    )
    split = resolve_split("simulation", summary.conditions, 2)
    unseen = split.test_subgroup["unseen_single"]
    assert unseen and not set(unseen) & (set(split.train) | set(split.val))
    cfg = GrapeConfig(
        epochs=40,
        seed=0,
        self_term=True,
        control_input=True,
        select_on="pcc_de20",
        prior_shock=PriorShockConfig(vote=True, lp_vote=True),
        **FAST,
    )
    grape, base = _held_out_vs_mean(graph, summary, split, cfg, tmp_path)
    print(f"held-out unseen singles: grape {grape:.3f}, mean {base:.3f}")
    assert grape < base + 0.1, (grape, base)


def test_prior_shock_starts_at_zero_and_trains(data):
    from grapekg.model.grape.prior_shock import PriorShock

    graph = data["graph"]
    prior = graph.prior_edge_index()
    n = graph.num_genes
    out_pos = torch.arange(n)
    term = PriorShock(prior, out_pos, n, 8)
    h = torch.randn(n, 8)
    g = int(prior[0, 0])
    out = term(h, [[g], []])
    assert out.shape == (2, n) and float(out.detach().abs().max()) == 0.0
    out.sum().backward()  # zero start, nonzero gradient on the readout
    assert float(term.readout.weight.grad.abs().sum()) > 0
    with torch.no_grad():
        term.readout.bias.fill_(1.0)
    out = term(h, [[g], []])
    nbrs = set(prior[1, prior[0] == g].tolist())
    assert set(torch.nonzero(out[0]).flatten().tolist()) == nbrs and float(out[1].abs().max()) == 0


def test_prior_vote_carries_a_trained_sign_to_an_unseen_neighbour():
    """prior_vote: regulator 0 is trained to lower its prior neighbours 2 and 3; regulator 1,
    never trained but sharing those neighbours, then lowers them too, and regulator 4 (no
    trained gene within two hops) moves nothing. The embedding readout is frozen at its zero
    start, so the learned vote is the only thing that can carry a sign."""
    from grapekg.model.grape.prior_shock import PriorShock

    pairs = [(0, 2), (0, 3), (1, 2), (1, 3), (4, 5)]
    src = [a for a, _ in pairs] + [b for _, b in pairs]
    prior = torch.tensor([src, [b for _, b in pairs] + [a for a, _ in pairs]])
    n = 6
    target = torch.tensor([0.0, 0.0, -1.0, -1.0, 0.0, 0.0])
    h = torch.randn(n, 4)
    torch.manual_seed(0)
    term = PriorShock(prior, torch.arange(n), n, 4, vote=True)
    term.readout.requires_grad_(False)
    assert float(term(h, [[0], [1]]).detach().abs().max()) == 0.0  # zero start
    opt = torch.optim.Adam([p for p in term.parameters() if p.requires_grad], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        ((term(h, [[0]])[0] - target) ** 2).sum().backward()
        opt.step()
    with torch.no_grad():
        out = term(h, [[0], [1], [4]])
    assert out[0, 2:4].tolist() == pytest.approx([-1.0, -1.0], abs=0.05)
    assert float(out[1, 2]) < -0.3 and float(out[1, 3]) < -0.3
    assert float(out[1, [0, 1, 4, 5]].abs().max()) == 0.0  # only its prior neighbours move
    assert float(out[2].abs().max()) == 0.0
    with pytest.raises(TypeError):
        GrapeConfig(prior_vote=True)  # type: ignore[call-arg]  # a vote is prior_shock's


@pytest.mark.parametrize("hops", [1, 2])
def test_vote_hops_reach_a_regulator_two_hops_further(hops):
    """Prior chain 0 - 2 - 3 - 1: regulator 0 is trained to lower its neighbour 2. With one
    vote hop regulator 1 (three hops from 0) reads nothing; with two it reads the trained sign
    through 2 and 3 and lowers its neighbour 3."""
    from grapekg.model.grape.prior_shock import PriorShock

    pairs = [(0, 2), (2, 3), (3, 1)]
    prior = torch.tensor(
        [
            [a for a, _ in pairs] + [b for _, b in pairs],
            [b for _, b in pairs] + [a for a, _ in pairs],
        ]
    )
    torch.manual_seed(0)
    term = PriorShock(prior, torch.arange(4), 4, 4, vote=True, vote_hops=hops)
    term.readout.requires_grad_(False)
    h = torch.randn(4, 4)
    target = torch.tensor([0.0, 0.0, -1.0, 0.0])
    opt = torch.optim.Adam([p for p in term.parameters() if p.requires_grad], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        ((term(h, [[0]])[0, 2] - target[2]) ** 2).backward()
        opt.step()
    with torch.no_grad():
        out = term(h, [[0], [1]])
    assert float(out[0, 2]) == pytest.approx(-1.0, abs=0.05)
    if hops == 1:
        assert float(out[1].abs().max()) == 0.0
    else:
        assert float(out[1, 3]) < -0.1
    with pytest.raises(ValueError, match="vote_hops"):
        PriorShockConfig(vote_hops=0)


def test_positive_control_learnable_prior_signal_beats_mean_on_held_out(tmp_path):
    """Positive control: on a learnable simulation whose planted network is the prior graph the
    model receives (signed by community modes), GRAPE with prior_shock beats the mean
    baseline on held-out unseen singles (pcc on DE20, perturbed genes excluded)."""
    import pandas as pd

    genes, pairs, sim = clique_learnable(cells_per_condition=40)
    summary = summarise_adata(sim.adata)
    ids = genes["ensembl_id"].to_numpy()
    prior = pd.DataFrame({"src": ids[pairs[0]], "dst": ids[pairs[1]]})
    graph = GeneGraph.from_gene_table(
        genes, prior, edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()])
    )
    split = resolve_split("simulation", summary.conditions, 1)
    unseen = split.test_subgroup["unseen_single"]
    assert len(unseen) >= 4 and not set(unseen) & (set(split.train) | set(split.val))
    cfg = GrapeConfig(
        epochs=60,
        seed=0,
        prior_shock=PriorShockConfig(),
        self_term=True,
        select_on="pcc_de20",
        **FAST,
    )
    grape, base = _held_out_vs_mean(graph, summary, split, cfg, tmp_path)
    print(f"held-out unseen singles: grape+prior_shock {grape:.3f}, mean {base:.3f}")
    assert grape > base + 0.15, (grape, base)
    voted, _ = _held_out_vs_mean(
        graph,
        summary,
        split,
        dataclasses.replace(cfg, prior_shock=PriorShockConfig(vote=True)),
        tmp_path / "vote",
    )
    print(f"held-out unseen singles: grape+prior_shock+prior_vote {voted:.3f}")
    assert voted > base + 0.15, (voted, base)
    lp, _ = _held_out_vs_mean(
        graph,
        summary,
        split,
        dataclasses.replace(cfg, prior_shock=PriorShockConfig(lp_vote=True)),
        tmp_path / "lp",
    )
    print(f"held-out unseen singles: grape+prior_shock+lp_vote {lp:.3f}")
    assert lp > base + 0.15, (lp, base)
