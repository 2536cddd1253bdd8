"""CUDA checks on a small SYNTHETIC simulation (skipped where no CUDA device is visible; run
by ``bench/gpu_check.sh`` with ``pytest -m gpu``): the same weights give the same predictions
on the GPU as on the CPU in float32, bf16 autocast predictions stay close to float32 ones,
and BioDSNN trains on the GPU and predicts the same after loading on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}
FAST = dict(hidden=32, batch_size=8, align_epochs=1, gat_heads=2, sim_heads=2, sim_top_k=6)


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    from grapekg.model.grape import GeneGraph
    from grapekg.model.grape.graph import directed_edge_types
    from grapekg.perturb.simulate import simulate, synthetic_genes
    from grapekg.perturb.splits import make_split
    from grapekg.perturb.summaries import summarise_adata

    genes = synthetic_genes(300, seed=0)
    sim = simulate(
        genes,
        relations=REL,
        n_conditions=40,
        cells_per_condition=10,
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
    return {"summary": summary, "split": split, "graph": graph}


@pytest.fixture(scope="module")
def cuda_run(data: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from grapekg.model.grape import GrapeConfig
    from grapekg.model.grape.train import train_grape

    out = tmp_path_factory.mktemp("gpu-run")
    cfg = GrapeConfig(epochs=4, seed=0, **FAST)
    res = train_grape(data["graph"], data["summary"], data["split"], cfg, out, device="cuda")
    assert np.isfinite(res.history[-1]["loss"])
    assert res.history[-1]["loss"] < res.history[0]["loss"]
    return out


def _test_nodes(data: dict) -> tuple[list[str], list[list[int]]]:
    from grapekg.model.grape.train import perturbed_indices

    test = [c for c in data["split"].test if c != "ctrl"]
    return test, perturbed_indices(data["graph"], test)


def test_cuda_and_cpu_float32_predictions_agree(data: dict, cuda_run: Path) -> None:
    """A model trained on the GPU, loaded on the CPU and on the GPU: float32 forwards of the
    same weights agree to float32 rounding (no autocast on either)."""
    from grapekg.model.grape.train import load_model

    _, pert = _test_nodes(data)
    outs = []
    for device in ("cpu", "cuda"):
        model, _ = load_model(cuda_run, device=device)
        with torch.no_grad():
            outs.append(model(pert)[0].float().cpu().numpy())
    scale = float(np.abs(outs[0]).max())
    assert np.abs(outs[0] - outs[1]).max() <= 1e-4 * max(scale, 1.0)


def test_bf16_autocast_predictions_stay_close_to_float32(data: dict, cuda_run: Path) -> None:
    """What ``grape train`` writes on CUDA (bf16 autocast) against float32 on the same weights:
    the predicted deltas correlate above 0.99 and differ by under 5 % of their mean size."""
    from grapekg.model.grape.train import load_model, predict_with

    _, pert = _test_nodes(data)
    model, _ = load_model(cuda_run, device="cuda")
    with torch.no_grad():
        fp32 = model(pert)[0].float().cpu().numpy()
    bf16 = predict_with(model, pert)
    ctrl = np.asarray(data["summary"].ctrl_mean)
    d32, d16 = fp32 - ctrl, bf16 - ctrl
    assert np.corrcoef(d32.ravel(), d16.ravel())[0, 1] > 0.99
    assert np.abs(d32 - d16).mean() < 0.05 * np.abs(d32).mean()


def test_biodsnn_trains_on_cuda_and_loads_on_cpu(data: dict, tmp_path: Path) -> None:
    from grapekg.model.biodsnn.config import BiodsnnConfig
    from grapekg.model.biodsnn.train import BiodsnnData, fit, load_model, predict_with

    s = data["summary"]
    cfg = BiodsnnConfig(hidden=16, heads=2, ff_hidden=32, vae_widths="32,8", vae_latent=4)
    cfg = BiodsnnConfig(**{**cfg.__dict__, "epochs": 2, "steps_per_epoch": 4, "batch_size": 8})
    ids = [str(g) for g in s.gene_ids]
    pw = [list(range(i, min(i + 15, len(ids)))) for i in range(0, len(ids), 15)]
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    names = [str(g) for g in s.gene_names]
    d = BiodsnnData.build(ids, [], none, np.asarray(s.mean, np.float32), pw, cfg, symbols=names)
    res = fit(d, s, data["split"], cfg, tmp_path / "bio", device="cuda")
    assert all(np.isfinite(h["loss"]) for h in res.history)
    test, _ = _test_nodes(data)
    on_gpu, d1 = load_model(tmp_path / "bio", device="cuda")
    on_cpu, d2 = load_model(tmp_path / "bio", device="cpu")
    a = predict_with(on_gpu, d1.perturbed(test))
    b = predict_with(on_cpu, d2.perturbed(test))
    assert np.isfinite(a).all() and np.abs(a - b).max() <= 1e-4 * max(float(np.abs(b).max()), 1.0)
