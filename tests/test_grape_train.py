"""GRAPE end to end on a small SYNTHETIC dataset: training, checkpoints, ablations, GPU."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from grapekg.evaluation.baselines import NoChange, TrainMean
from grapekg.model.grape import GeneGraph, GrapeConfig
from grapekg.model.grape.graph import directed_edge_types
from grapekg.model.grape.train import (
    build_model,
    load_model,
    perturbed_indices,
    predict,
    predict_with,
    train_grape,
)
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.splits import make_split
from grapekg.perturb.summaries import summarise_adata

#: the KG schema's gene relations (kg/schema.yaml gene_relations), passed as data
REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}
FAST = dict(
    hidden=24,
    batch_size=8,
    align_epochs=2,
    gat_heads=2,
    sim_heads=2,
    sim_top_k=6,
    seed=0,
    patience=100,
)


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    genes = synthetic_genes(200, seed=0)
    sim = simulate(
        genes,
        relations=REL,
        n_conditions=40,
        cells_per_condition=12,
        seed=0,
        n_control_cells=60,
        add_de=False,
    )
    summary = summarise_adata(sim.adata)
    split = make_split("random", summary.conditions, seed=1, test_fraction=0.25, val_fraction=0.15)
    graph = GeneGraph.from_gene_table(
        genes,
        sim.edges.sample(frac=0.5, random_state=0),
        edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()]),
    )
    return {"adata": sim.adata, "summary": summary, "split": split, "graph": graph}


@pytest.fixture(scope="module")
def run(data: dict, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("grape-run")
    res = train_grape(
        data["graph"], data["summary"], data["split"], GrapeConfig(epochs=8, **FAST), out
    )
    return out, res


def test_training_decreases_loss_and_beats_no_change_and_mean(data: dict, run: tuple) -> None:
    out, res = run
    losses = [h["loss"] for h in res.history]
    assert losses[-1] < 0.9 * losses[0]
    summary = data["summary"]
    train = [c for c in data["split"].train if c != "ctrl"]
    pred = predict(out, train)
    fitted = summary.means(train)
    base = NoChange().fit(fitted, summary.ctrl_mean).predict(train)
    mean = TrainMean().fit(fitted, summary.ctrl_mean).predict(train)
    truth = summary.means(train)
    mse = {
        k: np.mean([np.mean((p[c] - truth[c]) ** 2) for c in train])
        for k, p in (("grape", pred), ("nochange", base), ("mean", mean))
    }
    assert mse["grape"] < mse["mean"] < mse["nochange"]


@pytest.mark.parametrize("pert_channel", [False, True])
def test_step_zero_predicts_the_mean_baseline(
    data: dict, tmp_path: Path, pert_channel: bool
) -> None:
    """W_i = 0 and b_i = mean training delta (and U = 0 in the perturbation channel): before
    any update GRAPE is the mean baseline."""
    summary, split = data["summary"], data["split"]
    train_grape(
        data["graph"],
        summary,
        split,
        GrapeConfig(
            **{**FAST, "epochs": 1, "lr": 0.0, "align_epochs": 0, "pert_channel": pert_channel}
        ),
        tmp_path,
    )
    model, graph = load_model(tmp_path)
    train = [c for c in split.train if c in summary.conditions and c != "ctrl"]
    expect = np.mean([summary.mean[summary.index(c)] for c in train], axis=0)
    got = predict_with(model, perturbed_indices(graph, split.test[:3]))
    assert np.abs(got - expect).max() < 1e-5


def test_perturbation_channel_reaches_genes_the_graph_does_not(data: dict) -> None:
    """Without the channel a gene more than L hops from every perturbed gene keeps the
    unperturbed prediction; with it (readout set non-zero) every output gene can respond.
    Incremental and full passes still agree."""
    summary, graph = data["summary"], data["graph"]
    torch.manual_seed(0)
    model, _ = build_model(
        graph,
        GrapeConfig(**FAST, pert_channel=True, dropout=0.0),
        summary.gene_ids,
        summary.ctrl_mean,
    )
    model.refresh_candidates()
    model.eval()
    pert = perturbed_indices(graph, [f"{graph.symbols[3]}+ctrl", "ctrl"])
    with torch.no_grad():
        before, _ = model(pert)
        untouched = (before[0] == before[1]).sum().item()
        assert untouched > 0  # some genes lie outside the L-hop neighbourhood of gene 3
        model.pert_channel.readout.normal_()
        inc, _ = model(pert, incremental=True)
        full, _ = model(pert, incremental=False)
    assert (inc[0] != inc[1]).all()
    assert torch.allclose(inc, full, atol=1e-5)


def test_checkpoint_roundtrip_and_unseen_doubles(data: dict, run: tuple) -> None:
    out, res = run
    assert {"config.json", "model.pt", "graph.pt", "meta.json", "ctrl.npy", "last.pt"} <= {
        p.name for p in out.iterdir()
    }
    meta = json.loads((out / "meta.json").read_text())
    assert meta["best_epoch"] == res.best_epoch
    model, graph = load_model(out)
    # any genes of the graph, seen or not, singles and doubles
    g = graph.symbols
    conds = [f"{g[0]}+ctrl", f"{g[5]}+{g[150]}", "ctrl"]
    a = predict(out, conds)
    b = predict_with(model, perturbed_indices(graph, conds))
    assert np.allclose(np.stack([a[c] for c in conds]), b, atol=1e-6)
    assert a[conds[1]].shape == (200,) and np.isfinite(b).all()
    # incremental and full pass agree on the trained model
    full, _ = model(perturbed_indices(graph, conds), incremental=False)
    assert np.abs(full.detach().numpy() - b).max() < 1e-4
    with pytest.raises(KeyError):
        predict(out, ["NOT_A_GENE+ctrl"])


def test_same_seed_same_run_with_two_threads(data: dict, tmp_path: Path) -> None:
    """Two runs with one seed are bit-identical on a 2-thread CPU (seed_everything)."""
    torch.set_num_threads(2)
    cfg = GrapeConfig(**{**FAST, "epochs": 3, "align_epochs": 1})
    preds = []
    for name in ("a", "b"):
        train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path / name)
        preds.append(np.stack(list(predict(tmp_path / name, data["split"].test[:5]).values())))
    assert np.array_equal(preds[0], preds[1])


def test_resume_continues(data: dict, run: tuple, tmp_path: Path) -> None:
    cfg = GrapeConfig(epochs=2, **FAST)
    train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path)
    seen: list[tuple[int, int, float]] = []
    res = train_grape(
        data["graph"],
        data["summary"],
        data["split"],
        replace(cfg, epochs=3),
        tmp_path,
        resume=True,
        progress=lambda *a: seen.append(a),
    )
    assert [h["epoch"] for h in res.history] == [0, 1, 2]
    assert seen == [(3, 3, res.history[-1]["val_mse"])]  # progress: a callback per epoch


@pytest.mark.parametrize(
    "flags",
    [
        {"only_seq": True},
        {"only_desc": True},
        {"only_fusion": True},
        {"no_gsl": True},
        {"no_biotype": True},
        {"graph_source": "prior", "mask_mode": "zero"},
        {"edge_weight_in_gat": False, "graph_source": "learned"},
    ],
)
def test_ablations_construct_and_run(data: dict, flags: dict) -> None:
    cfg = GrapeConfig(**FAST, **flags)
    summary = data["summary"]
    model, cfg = build_model(data["graph"], cfg, summary.gene_ids, summary.ctrl_mean)
    model.refresh_candidates()
    pert = perturbed_indices(data["graph"], data["split"].train[:3])
    pred, reg = model(pert)
    (pred.sum() + reg).backward()
    assert pred.shape == (3, 200) and torch.isfinite(pred).all()


def test_cell_mode_runs(data: dict, tmp_path: Path) -> None:
    cfg = GrapeConfig(epochs=1, mode="cell", cells_per_step=64, **FAST)
    res = train_grape(
        data["graph"], data["summary"], data["split"], cfg, tmp_path, cells=data["adata"]
    )
    assert np.isfinite(res.history[0]["loss"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_bf16_training(data: dict, tmp_path: Path) -> None:
    res = train_grape(
        data["graph"],
        data["summary"],
        data["split"],
        GrapeConfig(epochs=2, **FAST),
        tmp_path,
        device="cuda",
    )
    assert np.isfinite(res.history[-1]["loss"])
    pred = predict(tmp_path, data["split"].test, device="cuda")
    assert all(np.isfinite(v).all() for v in pred.values())
