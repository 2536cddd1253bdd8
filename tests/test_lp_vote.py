"""GRAPE's ``lp_vote`` switch: a closed-form, leave-one-out label-propagated vote of the
training singles' fitted effects in the prior-shock term (model/grape/lp_vote.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from grapekg.model.grape.config import GrapeConfig, PriorShockConfig
from grapekg.model.grape.graph import GeneGraph, directed_edge_types
from grapekg.model.grape.lp_vote import RESTART, fitted_effects, propagated_votes
from grapekg.model.grape.prior_shock import LP_FILE
from grapekg.model.grape.train import load_model, train_grape
from grapekg.perturb.splits import Split
from grapekg.perturb.summaries import ConditionSummary

TYPES = directed_edge_types([("c", "cc", "c"), ("c", "cn", "nc"), ("nc", "nn", "nc")])


def _both(pairs):
    return (
        torch.tensor([a for a, _ in pairs] + [b for _, b in pairs]),
        torch.tensor([b for _, b in pairs] + [a for a, _ in pairs]),
    )


def test_fitted_effect_is_the_least_squares_a():
    """Δ_t[d] = a · Â[t, d] exactly gives o_t = a; a single without measured prior neighbours
    gets 0; the noise of a gene off t's neighbours does not enter."""
    src = torch.tensor([0, 0, 1])
    col = torch.tensor([1, 2, 2])
    w = torch.tensor([0.5, 0.25, 1.0])
    deltas = torch.tensor([[9.0, -1.0, -0.5], [0.0, 0.0, 2.0], [1.0, 1.0, 1.0]])
    out = fitted_effects(src, col, w, torch.tensor([0, 1, 3]), deltas)
    assert out.tolist() == pytest.approx([-2.0, 2.0, 0.0])


def test_leave_one_out_vote_by_hand():
    """Path 0 - 1 - 2 and a separate pair 3 - 4; trained 0 (o = +1) and 2 (o = −3). Gene 1
    sits halfway: v = (1 − 3) / 2 = −1. A trained gene never hears itself: v_0 = −3 (only 2
    is left), v_2 = +1. The pair reaches no trained gene: 0. The walk kernel by hand: from 1
    a walk ends at 0 with the chance (1 − α) α / 2 · (1 + (1 − α)² + …) = the same as at 2."""
    nb_src, nb_dst = _both([(0, 1), (1, 2), (3, 4)])
    v = propagated_votes(5, nb_src, nb_dst, torch.tensor([0, 2]), torch.tensor([1.0, -3.0]))
    assert v.tolist() == pytest.approx([-3.0, -1.0, 1.0, 0.0, 0.0], abs=1e-5)
    # a nearer trained gene weighs more: chain 1 - 0 - 5 - 6 - 7 with 0 (+1) and 6 (−1)
    nb_src, nb_dst = _both([(1, 0), (0, 5), (5, 6), (6, 7)])
    v = propagated_votes(8, nb_src, nb_dst, torch.tensor([0, 6]), torch.tensor([1.0, -1.0]))
    assert 0.0 < float(v[1]) < 1.0 and -1.0 < float(v[7]) < 0.0
    assert 0 < RESTART < 1


def test_chunks_give_the_same_votes(monkeypatch):
    """Trained genes are propagated in chunks; the chunk size does not change v."""
    import grapekg.model.grape.lp_vote as lp

    g = torch.Generator().manual_seed(0)
    pairs = {(int(a), int(b)) for a, b in torch.randint(0, 40, (80, 2), generator=g) if a != b}
    nb_src, nb_dst = _both(sorted(pairs))
    nodes = torch.arange(0, 40, 3)
    eff = torch.randn(nodes.shape[0], generator=g)
    whole = propagated_votes(40, nb_src, nb_dst, nodes, eff)
    monkeypatch.setattr(lp, "CHUNK", 4)
    assert torch.allclose(propagated_votes(40, nb_src, nb_dst, nodes, eff), whole, atol=1e-6)


def _case() -> tuple[GeneGraph, ConditionSummary, Split]:
    """24 genes, the first 16 measured; two prior communities {16, 18, 20, 0-7} and
    {17, 19, 21, 8-15}: knocking a gene of the first lowers genes 0-7, of the second raises
    genes 8-15. Trained: 16-19; 20 and 21 are unseen singles of each community."""
    from grapekg.perturb.simulate import synthetic_genes

    genes = synthetic_genes(24, seed=2)
    ids = genes["ensembl_id"].to_numpy()
    pairs = [(r, d) for r in (16, 18, 20) for d in range(8)]
    pairs += [(r, d) for r in (17, 19, 21) for d in range(8, 16)]
    prior = pd.DataFrame({"src": [ids[a] for a, _ in pairs], "dst": [ids[b] for _, b in pairs]})
    graph = GeneGraph.from_gene_table(genes, prior, edge_types=TYPES, text_dim=8, dna_dim=4)
    pos = {g: i for i, g in enumerate(graph.gene_ids)}
    sym = list(genes["symbol"])
    measured = [ids[i] for i in range(16)]
    conds = ["ctrl", *[f"{sym[i]}+ctrl" for i in range(16, 22)]]
    mean = np.zeros((len(conds), 16), dtype=np.float32)
    for j, i in enumerate(range(16, 22), start=1):
        mean[j, :8] = -1.0 if i % 2 == 0 else 0.0
        mean[j, 8:] = 1.0 if i % 2 == 1 else 0.0
    summary = ConditionSummary(
        conditions=conds,
        gene_ids=np.asarray(measured),
        gene_names=np.asarray(sym[:16]),
        n_cells=np.full(len(conds), 4),
        mean=mean,
        var=np.zeros_like(mean),
        frac_nonzero=np.ones_like(mean),
    )
    assert all(g in pos for g in measured)
    split = Split("file", 1, conds[:5], [conds[5]], [conds[6]])
    return graph, summary, split


def test_lp_vote_trains_records_and_reloads(tmp_path):
    """Trained with ``lp_vote``: the fitted effects are saved by gene id, meta.json records
    the singles, the leave-one-out sign agreement (1 here: each trained gene's community has
    another trained gene of its sign) and the gain; the unseen singles' votes have their
    community's sign; a reloaded run, also on an extended graph, has the same votes."""
    graph, summary, split = _case()
    cfg = GrapeConfig(
        epochs=2, align_epochs=0, hidden=8, gat_heads=1, sim_heads=1, sim_top_k=2,
        prior_shock=PriorShockConfig(lp_vote=True),
    )  # fmt: skip
    train_grape(graph, summary, split, cfg, tmp_path)
    z = np.load(tmp_path / LP_FILE, allow_pickle=False)
    assert len(z["gene_ids"]) == 4
    lp = json.loads((tmp_path / "meta.json").read_text())["lp_vote"]
    assert lp["singles"] == 4 and lp["loo_sign_agreement"] == 1.0 and "gain" in lp
    model, g = load_model(tmp_path)
    v = model.prior_shock.lp_vote
    sym = [c[: -len("+ctrl")] for c in summary.conditions[1:]]
    lowers, raises = g.index_of(sym[4]), g.index_of(sym[5])  # genes 20 and 21
    assert float(v[lowers]) < 0 < float(v[raises])
    new = pd.DataFrame({"ensembl_id": ["ENSGNEW"], "symbol": ["NEWG"], "biotype_class": ["c"]})
    bigger = g.extended(new, text=np.zeros((1, 8), dtype=np.float32))
    model2, _ = load_model(tmp_path, graph=bigger)
    v2 = model2.prior_shock.lp_vote
    for gene in sym:
        assert float(v2[bigger.index_of(gene)]) == pytest.approx(float(v[g.index_of(gene)]))
    assert float(v2[bigger.index_of("NEWG")]) == 0.0
    with pytest.raises(TypeError):
        GrapeConfig(lp_vote=True)  # type: ignore[call-arg]  # the vote is prior_shock's
    with pytest.raises(ValueError, match="lp_vote needs prior_shock"):
        GrapeConfig.from_dict({"lp_vote": True})  # a config file written with flat keys
