"""The SYNTHETIC data simulator: format, determinism, planted structure."""

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grapekg.perturb.errors import DataError
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.summaries import summarise_h5ad

#: the KG schema's gene relations (kg/schema.yaml gene_relations), passed as data
REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}
SMALL = {"n_conditions": 30, "cells_per_condition": 20, "n_control_cells": 60}


@pytest.fixture(scope="module")
def genes() -> pd.DataFrame:
    return synthetic_genes(300, seed=1)


def test_gears_format(genes: pd.DataFrame, tmp_path: Path) -> None:
    sim = simulate(genes, relations=REL, seed=5, **SMALL)
    a = sim.adata
    assert a.uns["synthetic"] is True and a.uns["grapekg"]["seed"] == 5
    assert a.uns["grapekg"]["params"]["n_conditions"] == 30
    assert sp.isspmatrix_csr(a.X) and a.X.dtype == np.float32
    assert a.X.min() >= 0 and a.X.max() < 15 and not np.all(a.X.data == np.round(a.X.data))
    assert list(a.var.index) == list(genes["ensembl_id"])
    assert list(a.var["gene_name"]) == list(genes["symbol"])
    cond = a.obs["condition"].astype(str)
    assert (cond == "ctrl").sum() == 60
    assert cond.nunique() == 31
    n_doubles = sum(1 for c in cond.unique() if "ctrl" not in c)
    assert n_doubles == round(0.4 * 30)
    assert set(a.obs["cell_type"]) == {"synthetic"}
    assert "synthetic_ctrl_1" in set(a.obs["condition_name"])
    assert "rank_genes_groups_cov_all" in a.uns
    a.write_h5ad(tmp_path / "sim.h5ad")
    back = ad.read_h5ad(tmp_path / "sim.h5ad")
    assert bool(back.uns["synthetic"]) and summarise_h5ad(tmp_path / "sim.h5ad").mean.shape == (
        31,
        300,
    )


def test_seeded(genes: pd.DataFrame) -> None:
    a1, e1 = simulate(genes, relations=REL, seed=2, **SMALL)
    a2, e2 = simulate(genes, relations=REL, seed=2, **SMALL)
    a3, _ = simulate(genes, relations=REL, seed=3, **SMALL)
    assert (a1.X != a2.X).nnz == 0
    pd.testing.assert_frame_equal(e1, e2)
    assert a1.X.shape != a3.X.shape or (a1.X != a3.X).nnz > 0


def test_order_of_term_lists_does_not_matter(genes: pd.DataFrame) -> None:
    """The KG returns a gene's GO terms / pathways in its storage order, which a rebuild can
    change: the simulation must not depend on it."""
    rng = np.random.default_rng(0)
    shuffled = genes.copy()
    for col in ("go_terms", "pathways"):
        shuffled[col] = [list(rng.permutation(list(t))) for t in genes[col]]
    a1, e1 = simulate(genes, relations=REL, seed=4, **SMALL)
    a2, e2 = simulate(shuffled, relations=REL, seed=4, **SMALL)
    assert (a1.X != a2.X).nnz == 0
    pd.testing.assert_frame_equal(e1, e2)


def test_edges_depend_on_biotype_pair_and_shared_terms() -> None:
    genes = synthetic_genes(600, coding_fraction=0.5, seed=4)
    edges = simulate(
        genes,
        relations=REL,
        seed=1,
        add_de=False,
        **SMALL,
        mean_out_degree={"cc": 8.0, "cn": 2.0, "nn": 0.5},
        positive_fraction={"cc": 0.9, "cn": 0.1, "nn": 0.5},
        shared_term_boost=1.0,
    ).edges
    assert set(edges["relation"]) == {"cc", "cn", "nn"}
    counts = edges["relation"].value_counts()
    n_c = int((genes["biotype_class"] == "c").sum())
    n_n = len(genes) - n_c
    density = {
        "cc": counts["cc"] / (n_c * (n_c - 1)),
        "cn": counts["cn"] / (2 * n_c * n_n),
        "nn": counts["nn"] / (n_n * (n_n - 1)),
    }
    # planted per-pair probabilities are deg / G: 8/600, 2/600, 0.5/600 (ratios 4 and 4)
    assert density["cc"] > 2.5 * density["cn"]
    assert density["cn"] > 2 * density["nn"]
    assert abs(density["cc"] * 600 - 8.0) < 1.0
    positive = (edges["weight"] > 0).groupby(edges["relation"]).mean()
    assert positive["cc"] > 0.8 and positive["cn"] < 0.2
    assert not (edges["src"] == edges["dst"]).any()
    assert not edges.duplicated(["src", "dst"]).any()
    boosted = simulate(
        genes, relations=REL, seed=1, add_de=False, **SMALL, shared_term_boost=30.0
    ).edges
    assert boosted["shared_term"].mean() > 2 * edges["shared_term"].mean()


def test_knockdown_lowers_target_and_propagates(genes: pd.DataFrame) -> None:
    a, edges = simulate(
        genes,
        relations=REL,
        seed=0,
        n_conditions=30,
        cells_per_condition=200,
        n_control_cells=400,
        add_de=False,
    )
    x = a.X.toarray()
    cond = a.obs["condition"].astype(str).to_numpy()
    ctrl = x[cond == "ctrl"].mean(0)
    sym = list(a.var["gene_name"])
    singles = [c for c in np.unique(cond) if c.endswith("+ctrl")]
    # a knock-down is visible where the gene is expressed: control mean >= 0.1 (log scale;
    # below that, dropout noise dominates the gene's own mean)
    expressed = [c for c in singles if ctrl[sym.index(c.split("+")[0])] >= 0.1]
    lowered = sum(
        x[cond == c, sym.index(c.split("+")[0])].mean() < ctrl[sym.index(c.split("+")[0])]
        for c in expressed
    )
    assert len(expressed) >= 0.7 * len(singles) and lowered >= 0.9 * len(expressed)
    # downstream targets of a perturbed gene move more than non-targets
    moved_targets, moved_other = [], []
    for c in singles:
        src = c.split("+")[0]
        dst = set(edges.loc[edges["src_symbol"] == src, "dst_symbol"])
        delta = np.abs(x[cond == c].mean(0) - ctrl)
        mask = np.array([s in dst for s in sym])
        mask[sym.index(src)] = False
        if mask.any():
            moved_targets.append(delta[mask].mean())
            moved_other.append(delta[~mask].mean())
    assert np.mean(moved_targets) > 2 * np.mean(moved_other)


def test_relation_names_are_data(genes: pd.DataFrame) -> None:
    """Other names for the same class pairs give the same data, edges renamed."""
    a1, e1 = simulate(genes, relations=REL, seed=2, add_de=False, **SMALL)
    other = {"x": ("nc", "c"), "y": ("c", "c"), "z": ("nc", "nc")}
    a2, e2 = simulate(
        genes,
        relations=other,
        seed=2,
        add_de=False,
        **SMALL,
        mean_out_degree={"y": 3.0, "x": 1.0, "z": 0.4},
        positive_fraction={"y": 0.5, "x": 0.3, "z": 0.7},
    )
    assert (a1.X != a2.X).nnz == 0
    assert list(e2["relation"]) == list(e1["relation"].map({"cc": "y", "cn": "x", "nn": "z"}))
    pd.testing.assert_frame_equal(e1.drop(columns="relation"), e2.drop(columns="relation"))
    with pytest.raises(DataError, match="relations"):
        simulate(genes, relations={"cc": ("c", "c"), "cn": ("c", "nc")}, **SMALL)
    with pytest.raises(DataError, match="positive_fraction"):
        simulate(genes, relations=other, **SMALL)


def test_bad_gene_table() -> None:
    genes = synthetic_genes(50)
    with pytest.raises(DataError, match=r"genes\['biotype_class'\]"):
        simulate(genes.assign(biotype_class="protein_coding"), relations=REL, **SMALL)
    with pytest.raises(DataError, match=r"genes\['symbol'\]"):
        simulate(genes.drop(columns="symbol"), relations=REL, **SMALL)
    with pytest.raises(DataError, match="combo_fraction"):
        simulate(genes, relations=REL, n_conditions=5, combo_fraction=0.95)


def test_default_problem_is_not_solved_by_baselines() -> None:
    """On the default generator a model that knows the planted network beats every
    baseline on held-out conditions (so baselines are not already perfect)."""
    from grapekg.evaluation.baselines import BASELINES
    from grapekg.evaluation.metrics import evaluate, summarise
    from grapekg.perturb.conditions import parse_condition
    from grapekg.perturb.de import compute_de
    from grapekg.perturb.splits import simulation_split
    from grapekg.perturb.summaries import summarise_adata

    a, edges = simulate(
        synthetic_genes(400, seed=0),
        relations=REL,
        seed=0,
        cells_per_condition=30,
        n_control_cells=150,
        add_de=False,
    )
    s = summarise_adata(a)
    de = compute_de(s)
    split = simulation_split(s.perturbations, seed=1)
    means, mu = s.means(), s.ctrl_mean
    train = {c: means[c] for c in split.train if c != "ctrl"}
    params = a.uns["grapekg"]["params"]
    pos = {g: i for i, g in enumerate(s.gene_names)}
    w_t = sp.csr_matrix(
        (
            edges["weight"],
            ([pos[g] for g in edges["dst_symbol"]], [pos[g] for g in edges["src_symbol"]]),
        ),
        shape=(len(pos), len(pos)),
    )
    mean_delta = np.mean(list(train.values()), axis=0) - mu

    def oracle(cond: str) -> np.ndarray:
        shock = np.zeros(len(pos))
        for g in parse_condition(cond):
            i = pos[g]
            shock[i] = np.log1p((1 - params["knockdown_efficiency"]) * np.expm1(mu[i])) - mu[i]
        delta, cur = shock.copy(), shock.copy()
        for _ in range(params["propagation_steps"]):
            cur = params["damping"] * (w_t @ cur)
            delta += cur
        return mu + mean_delta + delta

    def score(pred: dict) -> pd.Series:
        return summarise(evaluate(pred, means, mu, de.ranking, gi=False))

    best = score({c: oracle(c) for c in split.test})
    for name, cls in BASELINES.items():
        base = score(cls().fit(train, mu, s.gene_names).predict(split.test))
        assert base["pearson_delta"] < 0.8, name
        assert best["pearson_delta"] > base["pearson_delta"] + 0.1, name
        assert best["mse_de"] < 0.7 * base["mse_de"], name
