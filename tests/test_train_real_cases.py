"""GRAPE on data as real screens deliver it, in the real Neo4j on the SYNTHETIC KG:
a highly-variable-gene-like screen whose targets are mostly NOT measured, a measured gene the KG
lacks, a target nothing can place (its conditions left out with one warning line), genes without
a text feature (one-line error naming the command), and ``grape predict`` of a KG gene outside
the run's graph, of ``@latest`` (the newest complete run in the graph) and of an unknown
gene (one-line error)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tests.synthetic_kg import load_synthetic_kg
from tests.test_cli import grape

TRAIN = ["--seeds", "1", "--epochs", "2", "--align-epochs", "1", "--hidden", "16"]
TRAIN += ["--heads", "2", "--top-k", "2", "--batch-size", "4", "--no-write-back"]


def _kg_genes(store):
    from tests.conftest import cy

    rows = store.read(
        cy("MATCH (g:Gene) RETURN g.ensembl_id AS id, g.symbol AS s, g.biotype_class AS c")
    )
    return sorted((r["id"], r["s"], r["c"]) for r in rows)


def _screen(path, genes, measured, targets):
    """A log-normalised screen: ``measured`` var (symbols in ``gene_name``), singles of
    ``targets`` and a few doubles; each target shifts the first measured genes a little."""
    rng = np.random.default_rng(0)
    conds = ["ctrl"] * 20
    for t in targets:
        conds += [f"{t}+ctrl"] * 6
    conds += [f"{targets[0]}+{targets[1]}"] * 6 + [f"{targets[2]}+{targets[3]}"] * 6
    x = rng.poisson(2.0, size=(len(conds), len(measured))).astype(np.float32)
    for i, c in enumerate(conds):
        if c != "ctrl":
            x[i, : 3 + hash(c) % 5] += 2
    sym_to_id = {s: e for e, s, _ in genes}
    a = ad.AnnData(
        X=sp.csr_matrix(np.log1p(x)),
        obs=pd.DataFrame({"condition": conds}, index=[f"c{i}" for i in range(len(conds))]),
        var=pd.DataFrame(
            {"gene_name": measured},
            index=[sym_to_id.get(s, f"ENSG99999{i:06d}") for i, s in enumerate(measured)],
        ),
    )
    a.write_h5ad(path)
    return path


def test_unmeasured_targets_train_and_predict(store, cli_env, tmp_path):
    load_synthetic_kg(store, n_genes=120)
    genes = _kg_genes(store)
    coding = [s for _, s, c in genes if c == "c"]
    measured = coding[:30] + ["NOTINKG1"]  # one measured gene the KG lacks
    # 10 targets: 8 unmeasured KG genes, 1 measured, 1 that nothing can place
    targets = coding[40:48] + [coding[0], "NOSUCHGENE"]
    h5 = _screen(tmp_path / "hvg.h5ad", genes, measured, targets)
    env = dict(cli_env, GRAPE_CACHE_DIR=str(tmp_path / "cache"))
    grape(env, "data", "import", str(h5), "--name", "hvg")
    # the features of the dataset's genes must cover its targets too
    p = grape(env, "train", "--dataset", "hvg", "--split", "random", *TRAIN, check=False)
    assert p.returncode != 0 and "grape features compute" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) <= 2, p.stderr
    grape(env, "features", "compute", "--modality", "text", "--genes", "dataset:hvg")
    out = grape(env, "train", "--dataset", "hvg", "--split", "random", *TRAIN).stdout
    assert "8 unmeasured targets" in out, out
    assert "1 measured genes not in the KG" in out, out
    assert "left out" in out and "NOSUCHGENE" in out, out
    run = next(line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("✓"))
    res = pd.read_parquet(f"{cli_env['GRAPE_DATA_DIR']}/results/hvg/random/grape.parquet")
    assert res["gene"].nunique() == len(measured)  # predictions cover every measured gene
    assert not res["condition"].str.contains("NOSUCHGENE").any()
    # predict a KG gene that is not in the run's graph and a combination; @latest means the
    # newest complete run *in the graph*, and this run was trained without write-back
    outside = coding[60]
    latest = grape(env, "predict", "--run", "@latest", "--perturb", outside, check=False)
    assert latest.returncode == 2 and "no complete model run in the graph" in latest.stderr
    assert len(latest.stderr.strip().splitlines()) == 1
    pred_file = tmp_path / "pred.parquet"
    grape(
        env,
        "predict",
        "--run",
        run,
        "--perturb",
        f"{outside}+{targets[0]}",
        "--perturb",
        outside,
        "--out",
        str(pred_file),
    )
    pred = pd.read_parquet(pred_file)
    assert len(pred) == 2 and pred.shape[1] == len(measured) + 1
    assert np.isfinite(pred.drop(columns="condition").to_numpy()).all()
    shown = grape(env, "predict", "--run", run, "--perturb", outside).stdout
    assert "largest predicted changes" in shown
    bad = grape(env, "predict", "--run", run, "--perturb", "NOTAGENE", check=False)
    assert bad.returncode != 0 and "NOTAGENE" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_dataset_gene_set_includes_targets(store, neo4j_settings, cli_env, tmp_path):
    from grapekg.kg.export.reader import resolve_gene_set

    load_synthetic_kg(store, n_genes=80)
    genes = _kg_genes(store)
    coding = [s for _, s, c in genes if c == "c"]
    h5 = _screen(tmp_path / "t.h5ad", genes, coding[:10], coding[20:24])
    grape(dict(cli_env), "data", "import", str(h5), "--name", "tg")
    ids, _ = resolve_gene_set(store, "dataset:tg")
    by_symbol = {s: e for e, s, _ in genes}
    assert {by_symbol[s] for s in coding[:10] + coding[20:24]} == set(ids)


def test_group_trains_every_member_on_its_member_split(store, cli_env, tmp_path):
    load_synthetic_kg(store, n_genes=80)
    genes = _kg_genes(store)
    coding = [s for _, s, c in genes if c == "c"]
    h5 = _screen(tmp_path / "g.h5ad", genes, coding[:12], coding[20:28])
    a = ad.read_h5ad(h5)
    a.obs["stim"] = ["on" if i % 2 else "off" for i in range(a.n_obs)]
    a.write_h5ad(h5)
    env = dict(cli_env, GRAPE_CACHE_DIR=str(tmp_path / "cache"))
    grape(env, "data", "import", str(h5), "--name", "grp", "--context-col", "stim")
    grape(env, "features", "compute", "--modality", "text", "--genes", "all")
    out = grape(env, "train", "--dataset", "grp", "--split", "random", *TRAIN).stdout
    assert "group grp: 2 members" in out, out
    tests = {}
    for member in ("grp@off", "grp@on"):
        f = f"{cli_env['GRAPE_DATA_DIR']}/results/{member}/random/grape.parquet"
        tests[member] = set(pd.read_parquet(f)["condition"])
    # one split of the union: a perturbation held out is held out in every context
    assert tests["grp@off"] == tests["grp@on"] and tests["grp@off"]


@pytest.mark.parametrize("vote", [False, True])
def test_extended_graph_carries_a_trained_model(tmp_path, vote):
    """A gene added after training gets the run's weights (inductive GAT, Eq. 11): the
    prediction of the old genes' conditions is unchanged when the new gene has no edges.
    With prior_vote the per-gene b moves with its gene (the extended graph reorders nodes
    coding-first) and the new gene starts at 0."""
    import torch

    from grapekg.model.grape.config import GrapeConfig, PriorShockConfig
    from grapekg.model.grape.graph import GeneGraph, directed_edge_types
    from grapekg.model.grape.train import load_model, predict_with, train_grape
    from grapekg.perturb.simulate import synthetic_genes
    from grapekg.perturb.splits import random_split
    from grapekg.perturb.summaries import ConditionSummary

    genes = synthetic_genes(30, seed=1)
    types = directed_edge_types([("c", "cc", "c"), ("c", "cn", "nc"), ("nc", "nn", "nc")])
    graph = GeneGraph.from_gene_table(genes, edge_types=types, text_dim=8, dna_dim=4)
    rng = np.random.default_rng(0)
    out_ids = graph.gene_ids[:20]
    conds = ["ctrl", *[f"{s}+ctrl" for s in graph.symbols[20:30]]]
    mean = rng.normal(size=(len(conds), 20)).astype(np.float32)
    summary = ConditionSummary(
        conditions=conds,
        gene_ids=np.asarray(out_ids),
        gene_names=np.asarray(graph.symbols[:20]),
        n_cells=np.full(len(conds), 5),
        mean=mean,
        var=np.ones_like(mean),
        frac_nonzero=np.ones_like(mean),
    )
    split = random_split(conds, test_fraction=0.3, val_fraction=0.2, seed=1)
    cfg = GrapeConfig(
        epochs=1,
        align_epochs=0,
        hidden=8,
        gat_heads=1,
        sim_heads=1,
        sim_top_k=2,
        prior_shock=PriorShockConfig(vote=True) if vote else None,
    )
    train_grape(graph, summary, split, cfg, tmp_path)
    if vote:  # a recognisable b per gene (one epoch on this graph barely moves it)
        state = torch.load(tmp_path / "model.pt", weights_only=True)
        state["prior_shock.vote"] = torch.arange(graph.num_genes, dtype=torch.float32) + 1
        torch.save(state, tmp_path / "model.pt")
    model, g = load_model(tmp_path)
    new = pd.DataFrame({"ensembl_id": ["ENSGNEW"], "symbol": ["NEWG"], "biotype_class": ["c"]})
    bigger = g.extended(new, text=rng.normal(size=(1, 8)).astype(np.float32))
    assert bigger.num_genes == g.num_genes + 1 and "NEWG" in bigger
    model2, _ = load_model(tmp_path, graph=bigger)
    p = predict_with(model2, [[bigger.index_of("NEWG")], [bigger.index_of(conds[1][:-5])]])
    assert p.shape == (2, 20) and np.isfinite(p).all()
    per_node = ("prior_shock.vote",)
    for k, v in model.state_dict().items():  # every learned weight carried over
        if k not in ("is_coding", "out_index", "out_pos", "prior_edges", "candidates", *per_node):
            assert torch.equal(v, model2.state_dict()[k]), k
    if vote:
        b1, b2 = model.state_dict()["prior_shock.vote"], model2.state_dict()["prior_shock.vote"]
        for i, gid in enumerate(g.gene_ids):
            assert float(b2[bigger.gene_ids.index(gid)]) == float(b1[i]) == i + 1
        assert float(b2[bigger.gene_ids.index("ENSGNEW")]) == 0.0
