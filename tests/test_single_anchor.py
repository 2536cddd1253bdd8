"""GRAPE's ``single_anchor`` switch: the empirical-Bayes residual of the measured training
singles, added to every condition holding their genes (model/grape/single_anchor.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from grapekg.model.grape.config import GrapeConfig
from grapekg.model.grape.graph import GeneGraph, directed_edge_types
from grapekg.model.grape.single_anchor import ANCHOR_FILE, shrunk_residuals
from grapekg.model.grape.train import load_model, predict, predict_with, train_grape
from grapekg.perturb.splits import Split
from grapekg.perturb.summaries import ConditionSummary

TYPES = directed_edge_types([("c", "cc", "c"), ("c", "cn", "nc"), ("nc", "nn", "nc")])


def test_shrunk_residuals_by_hand():
    """Two singles, two output genes, noise variance 0.5 of every mean: gene 0's residuals
    (±1) exceed the noise, τ² = 1 − 0.5 = 0.5, λ = 0.5 / (0.5 + 0.5) = 0.5; gene 1's (±0.1)
    do not, τ² = 0, λ = 0. A noiseless entry keeps its whole residual."""
    obs = np.array([[1.0, 0.1], [-1.0, -0.1]])
    value, tau2 = shrunk_residuals(obs, np.zeros_like(obs), np.full_like(obs, 0.5))
    assert tau2.tolist() == pytest.approx([0.5, 0.0])
    assert value.ravel().tolist() == pytest.approx([0.5, 0.0, -0.5, 0.0])
    noise = np.array([[0.0, 0.5], [0.5, 0.5]])
    value, _ = shrunk_residuals(obs, np.zeros_like(obs), noise)
    assert value[0, 0] == pytest.approx(1.0)  # τ² = 1 − 0.25: λ = 1 where v = 0
    assert value[1, 0] == pytest.approx(-0.75 / 1.25)
    empty, t0 = shrunk_residuals(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
    assert empty.shape == (0, 3) and t0.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="differ in shape"):
        shrunk_residuals(obs, obs, np.zeros((1, 2)))


def _case(noise: float) -> tuple[GeneGraph, ConditionSummary, Split]:
    """30 genes, the first 20 measured; knock-downs of genes 20-29 (targets that are not
    measured genes), singles and doubles with random mean profiles."""
    from grapekg.perturb.simulate import synthetic_genes

    genes = synthetic_genes(30, seed=1)
    graph = GeneGraph.from_gene_table(genes, edge_types=TYPES, text_dim=8, dna_dim=4)
    sym = graph.symbols
    singles = [f"{sym[i]}+ctrl" for i in range(20, 30)]
    doubles = [f"{sym[a]}+{sym[b]}" for a, b in ((20, 21), (22, 23), (24, 25), (20, 29))]
    conds = ["ctrl", *singles, *doubles]
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(len(conds), 20)).astype(np.float32)
    summary = ConditionSummary(
        conditions=conds,
        gene_ids=np.asarray(graph.gene_ids[:20]),
        gene_names=np.asarray(sym[:20]),
        n_cells=np.full(len(conds), 4),
        mean=mean,
        var=np.full_like(mean, noise),
        frac_nonzero=np.ones_like(mean),
    )
    split = Split(
        "file",
        1,
        ["ctrl", *singles[:8], doubles[0]],
        [singles[8]],
        [doubles[1], doubles[2], doubles[3], singles[9]],
    )
    return graph, summary, split


CFG = GrapeConfig(
    epochs=2, align_epochs=0, hidden=8, gat_heads=1, sim_heads=1, sim_top_k=2, single_anchor=True
)


def _raw(run, conditions):
    """Predictions of the run's model with the anchor taken off."""
    from grapekg.model.grape.train import perturbed_indices

    model, graph = load_model(run)
    model.single_anchor = None
    return predict_with(model, perturbed_indices(graph, conditions))


def test_anchor_without_noise_gives_back_the_measured_singles(tmp_path):
    """With noiseless means (s² = 0) λ = 1: a trained single is predicted at its observed
    mean, a double of two trained singles moves by both residuals, a condition of genes
    never trained as singles (the val single, the unseen test single) is the model's own."""
    graph, summary, split = _case(noise=0.0)
    train_grape(graph, summary, split, CFG, tmp_path)
    z = np.load(tmp_path / ANCHOR_FILE, allow_pickle=False)
    trained = [c for c in split.train if c != "ctrl" and "+ctrl" in c]
    assert sorted(z["gene_ids"].tolist()) == sorted(
        graph.gene_ids[graph.index_of(c[:-5])] for c in trained
    )
    conds = [*trained, "ctrl", *split.val, *split.test]
    got = predict(tmp_path, conds)
    raw = dict(zip(conds, _raw(tmp_path, conds), strict=True))
    for c in trained[:2]:
        assert got[c] == pytest.approx(summary.mean[summary.index(c)], abs=1e-5)
    resid = {c[: -len("+ctrl")]: got[c] - raw[c] for c in trained}
    a, b = split.test[1].split("+")  # both singles trained
    assert got[split.test[1]] - raw[split.test[1]] == pytest.approx(resid[a] + resid[b], abs=1e-5)
    a, b = split.test[2].split("+")  # one trained, one never measured
    assert got[split.test[2]] - raw[split.test[2]] == pytest.approx(resid[a], abs=1e-5)
    for c in ["ctrl", *split.val, split.test[3]]:
        assert got[c] == pytest.approx(raw[c], abs=1e-6)


def test_anchor_shrinks_with_noise_and_follows_the_gene_on_an_extended_graph(tmp_path):
    """With noisy means the anchor keeps only part of each residual (0 ≤ λ < 1; 0 on a gene
    whose residuals do not exceed the noise), and a
    graph extended after training (nodes reordered) carries each anchor by gene id."""
    graph, summary, split = _case(noise=0.0)
    noisy = dataclasses.replace(summary, var=np.full_like(summary.mean, 2.0))
    train_grape(graph, noisy, split, CFG, tmp_path)
    c = split.train[1]
    got = predict(tmp_path, [c])[c]
    raw = _raw(tmp_path, [c])[0]
    obs = summary.mean[summary.index(c)]
    kept = (got - raw) / (obs - raw)
    assert (kept > -1e-6).all() and (kept < 1).all() and (kept > 0.1).any(), kept
    model, g = load_model(tmp_path)
    new = pd.DataFrame({"ensembl_id": ["ENSGNEW"], "symbol": ["NEWG"], "biotype_class": ["c"]})
    bigger = g.extended(new, text=np.zeros((1, 8), dtype=np.float32))
    model2, _ = load_model(tmp_path, graph=bigger)
    gene = c[: -len("+ctrl")]
    one = model.single_anchor([[g.index_of(gene)]])
    two = model2.single_anchor([[bigger.index_of(gene)]])
    assert torch.equal(one, two) and float(one.abs().sum()) > 0
    assert float(model2.single_anchor([[bigger.index_of("NEWG")]]).abs().sum()) == 0.0
