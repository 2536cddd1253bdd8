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


# ---------------------------------------------------------------------- signals
def _digest(sim) -> str:
    """SHA-256 of a simulation's data: X (CSR arrays), conditions, planted edges, doubles."""
    import hashlib

    h = hashlib.sha256()
    x = sim.adata.X
    for arr in (x.data, x.indices, x.indptr):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("|".join(sim.adata.obs["condition"].astype(str)).encode())
    h.update(sim.edges.to_csv(index=False, float_format="%.12g").encode())
    for key, val in sim.adata.uns["grapekg"]["doubles"].items():
        h.update(key.encode())
        v = np.asarray(val)
        h.update(v.astype(str).tobytes() if v.dtype.kind in "OU" else v.astype(float).tobytes())
    return h.hexdigest()


#: computed from the generator before the learnable signal was added (it must not change)
RANDOM_SIGN_DIGEST = "3b1a03e1e49b605a365d056851b7be9f2cf0ca2c99e01c42a203d838050c852a"
TINY = {"n_conditions": 12, "cells_per_condition": 5, "n_control_cells": 10, "add_de": False}


def test_random_sign_is_unchanged() -> None:
    """The random-sign generator (the default of simulate) is bit-for-bit what it was."""
    g = synthetic_genes(80, seed=1)
    sim = simulate(g, relations=REL, seed=3, **TINY)
    explicit = simulate(g, relations=REL, seed=3, signal="random-sign", **TINY)
    assert _digest(sim) == RANDOM_SIGN_DIGEST == _digest(explicit)
    assert sim.adata.X.nnz == 3005 and len(sim.edges) == 129
    assert sim.adata.uns["grapekg"]["signal"] == "random-sign"
    assert sim.truth.signal == "random-sign" and not sim.truth.modes.any()


@pytest.fixture(scope="module")
def learnable(genes: pd.DataFrame):
    return simulate(genes, relations=REL, seed=7, signal="learnable", **SMALL)


def test_learnable_is_seeded(genes: pd.DataFrame, learnable) -> None:
    again = simulate(genes, relations=REL, seed=7, signal="learnable", **SMALL)
    other = simulate(genes, relations=REL, seed=8, signal="learnable", **SMALL)
    assert _digest(again) == _digest(learnable) != _digest(other)
    np.testing.assert_array_equal(again.truth.mean, learnable.truth.mean)
    assert _digest(learnable) != _digest(simulate(genes, relations=REL, seed=7, **SMALL))


def _modes_by_hand(genes: pd.DataFrame) -> np.ndarray:
    """The documented rule, written independently: shared terms (>= 2 members) keyed
    'pathways:<id>' / 'go_terms:<id>'; module = the gene's term with the most members (ties:
    the smaller key); term mode +1 / -1 by the parity of its rank in (-size, key) order;
    genes without a shared term: +1 coding, -1 non-coding."""
    members: dict[str, set[int]] = {}
    for col in ("pathways", "go_terms"):
        for i, terms in enumerate(genes[col]):
            for t in terms:
                members.setdefault(f"{col}:{t}", set()).add(i)
    shared = {k: v for k, v in members.items() if len(v) > 1}
    ranked = sorted(shared, key=lambda k: (-len(shared[k]), k))
    mode = {k: 1.0 if r % 2 == 0 else -1.0 for r, k in enumerate(ranked)}
    out = []
    for i, cls in enumerate(genes["biotype_class"]):
        mine = sorted((k for k in shared if i in shared[k]), key=lambda k: (-len(shared[k]), k))
        out.append(mode[mine[0]] if mine else (1.0 if cls == "c" else -1.0))
    return np.array(out)


def test_learnable_modes_follow_the_documented_rule(genes: pd.DataFrame, learnable) -> None:
    modes = learnable.truth.modes
    np.testing.assert_array_equal(modes, _modes_by_hand(genes))
    assert 0.3 < (modes > 0).mean() < 0.7  # both modes occur
    # every edge's sign is its regulator's mode
    pos = {g: i for i, g in enumerate(genes["ensembl_id"])}
    src = np.array([pos[s] for s in learnable.edges["src"]])
    assert (np.sign(learnable.edges["weight"].to_numpy()) == modes[src]).all()
    w = np.abs(learnable.edges["weight"])
    assert w.min() >= 0.4 and w.max() <= 1.0
    # genes sharing a term agree on their mode more often than chance
    same, pairs = 0, 0
    for col in ("pathways", "go_terms"):
        terms = {t for ts in genes[col] for t in ts}
        for t in terms:
            idx = [i for i, ts in enumerate(genes[col]) if t in ts]
            for a in idx:
                for b in idx:
                    if a < b:
                        pairs += 1
                        same += modes[a] == modes[b]
    assert same / pairs > 0.6


def test_learnable_edges_lie_on_prior_pairs(genes: pd.DataFrame, learnable) -> None:
    e = learnable.edges
    assert len(e) == round(3.0 * len(genes))  # edges_per_gene
    assert not e.duplicated(["src", "dst"]).any() and not (e["src"] == e["dst"]).any()
    terms = [
        set(p) | {f"go:{t}" for t in g} for p, g in zip(genes.pathways, genes.go_terms, strict=True)
    ]
    pos = {g: i for i, g in enumerate(genes["ensembl_id"])}
    on_prior = np.array(
        [bool(terms[pos[s]] & terms[pos[d]]) for s, d in zip(e["src"], e["dst"], strict=True)]
    )
    np.testing.assert_array_equal(on_prior, e["shared_term"].to_numpy())
    assert on_prior.mean() >= 0.8 and (~on_prior).sum() > 0  # background edges too
    half = simulate(
        genes, relations=REL, seed=7, signal="learnable", prior_share=0.5, **SMALL
    ).edges
    assert 0.5 <= half["shared_term"].mean() < 0.7
    assert set(e["relation"]) <= set(REL)


def test_learnable_knockdown_is_constant_and_generic_small(genes: pd.DataFrame, learnable):
    tr = learnable.truth
    mu = tr.mean[tr.row("ctrl")]
    sym = list(genes["symbol"])
    for i, cond in enumerate(tr.conditions):
        targets = [sym.index(g) for g in cond.split("+") if g != "ctrl"]
        hit = np.flatnonzero(tr.shock[i])
        assert sorted(hit) == sorted(targets)
        assert (tr.shock[i, hit] == -1.0).all()  # knockdown_depth, whatever μ is
        expect = np.maximum(mu[hit] - 1.0 + tr.amplitude[i] * tr.generic[hit], 0.0)
        np.testing.assert_allclose(tr.mean[i, hit], expect)
    assert tr.params["generic_response_scale"] == 0.025 and tr.params["knockdown_depth"] == 1.0

    def generic_share(truth) -> float:
        """Share of the noise-free DE20 (top 20 |delta|, perturbed genes left out) sum of
        squares that the generic response carries."""
        mu = truth.mean[truth.row("ctrl")]
        out = []
        for i in range(1, len(truth.conditions)):
            d = truth.mean[i] - mu
            d[truth.shock[i] != 0] = 0.0
            top = np.argsort(-np.abs(d))[:20]
            gen = truth.amplitude[i] * truth.generic[top]
            out.append(np.sum(gen**2) / max(np.sum(d[top] ** 2), 1e-12))
        return float(np.mean(out))

    old = simulate(genes, relations=REL, seed=7, **SMALL).truth
    assert generic_share(tr) < 0.1 < 0.3 < generic_share(old)


def test_synthetic_label_and_truth_saved(genes: pd.DataFrame, learnable, tmp_path: Path):
    a = learnable.adata
    assert a.uns["synthetic"] is True and a.uns["grapekg"]["synthetic"] is True
    assert a.uns["grapekg"]["signal"] == "learnable"
    assert a.uns["grapekg"]["params"]["signal"] == "learnable"
    a.write_h5ad(tmp_path / "sim.h5ad")
    back = ad.read_h5ad(tmp_path / "sim.h5ad")
    assert bool(back.uns["synthetic"]) and back.uns["grapekg"]["signal"] == "learnable"
    from grapekg.perturb.truth import SimulationTruth

    tr = learnable.truth
    path = tr.save(tmp_path / "truth.npz")
    got = SimulationTruth.load(path)
    assert got.signal == "learnable" and got.conditions == tr.conditions
    assert list(got.gene_ids) == list(genes["ensembl_id"])
    for key in ("mean", "shock", "generic", "amplitude", "modes", "edge_weight"):
        np.testing.assert_array_equal(getattr(got, key), getattr(tr, key))
    assert got.params == tr.params and len(got.edge_src) == len(learnable.edges)
    assert set(got.conditions) == set(a.obs["condition"].astype(str))
    (tmp_path / "bad.npz").write_text("not an npz")
    with pytest.raises(DataError, match="bad.npz"):
        SimulationTruth.load(tmp_path / "bad.npz")


def test_expected_mean_matches_the_cells(genes: pd.DataFrame) -> None:
    """E[ȳ | z] of the measurement model equals the mean of many simulated cells."""
    sim = simulate(
        genes.iloc[:120],
        relations=REL,
        seed=2,
        signal="learnable",
        n_conditions=6,
        cells_per_condition=3000,
        n_control_cells=3000,
        add_de=False,
    )
    cond = sim.adata.obs["condition"].astype(str).to_numpy()
    x = sim.adata.X.toarray()
    tr = sim.truth
    for c in ("ctrl", tr.conditions[1]):
        got = x[cond == c].mean(0)
        want = tr.expected(tr.mean[tr.row(c)])
        assert np.abs(got - want).max() < 0.05


def test_bad_signal(genes: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="signal"):
        simulate(genes, relations=REL, signal="coin", **SMALL)
    with pytest.raises(DataError, match="prior_share"):
        simulate(genes, relations=REL, signal="learnable", prior_share=1.5, **SMALL)


def _two_blocks_and_a_bridge() -> tuple[np.ndarray, np.ndarray]:
    """Prior pairs (both directions): a 12-clique on genes 0-11, an 8-clique on 12-19 and a
    chain 30-31-32; every other gene has none."""
    und = [(a, b) for a in range(12) for b in range(a + 1, 12)]
    und += [(a, b) for a in range(12, 20) for b in range(a + 1, 20)]
    und += [(30, 31), (31, 32)]
    src = [a for a, b in und] + [b for a, b in und]
    dst = [b for a, b in und] + [a for a, b in und]
    return np.array(src), np.array(dst)


def test_graph_communities_and_modes_by_hand() -> None:
    from grapekg.perturb.simulate_learnable import graph_communities, graph_modes

    pairs = _two_blocks_and_a_bridge()
    com = graph_communities(40, pairs)
    blocks = [set(com[:12]), set(com[12:20]), set(com[30:33])]
    assert all(len(b) == 1 for b in blocks) and len(set.union(*blocks)) == 3
    assert (com[20:30] == -1).all() and (com[33:] == -1).all()
    fallback = np.full(40, 7.0)
    modes = graph_modes(40, pairs, fallback)
    # communities ranked by size: 12-clique +1, 8-clique -1, chain +1; the rest: fallback
    assert (modes[:12] == 1).all() and (modes[12:20] == -1).all() and (modes[30:33] == 1).all()
    assert (modes[20:30] == 7).all()


def test_learnable_with_prior_pairs_plants_the_prior_graph(genes: pd.DataFrame) -> None:
    """With the models' prior pairs, every pair is planted (share prior_share of the edges),
    signs follow the community modes, weights follow the documented degree rule, the single
    targets are genes with >= regulator_min_degree prior pairs, one hop of propagation."""
    pairs = _two_blocks_and_a_bridge()
    sim = simulate(genes, relations=REL, seed=2, signal="learnable", prior_pairs=pairs, **SMALL)
    t = sim.truth
    n = len(genes)
    planted = set((t.edge_src * n + t.edge_dst).tolist())
    given = set((pairs[0] * n + pairs[1]).tolist())
    assert given <= planted
    share = len(given) / len(planted)
    assert 0.88 <= share <= 0.92 and t.params["prior_share"] == 0.9
    assert t.params["propagation_steps"] == 1
    assert (np.sign(t.edge_weight) == t.modes[t.edge_src]).all()
    on = np.array([k in given for k in (t.edge_src * n + t.edge_dst).tolist()])
    k = np.bincount(pairs[0], minlength=n)
    u = np.abs(t.edge_weight[on]) / np.minimum(
        1.0, 6.0 / np.sqrt(k[t.edge_src[on]] * k[t.edge_dst[on]])
    )
    assert u.min() >= 0.8 - 1e-9 and u.max() <= 1.2 + 1e-9
    singles = {
        int(np.flatnonzero(t.shock[i])[0])
        for i, c in enumerate(t.conditions)
        if np.count_nonzero(t.shock[i]) == 1
    }
    strong = set(np.flatnonzero(k >= 5).tolist())  # the two cliques' 20 genes
    assert len(singles) == 18 and singles <= strong  # 18 singles, all from the 20
    with pytest.raises(DataError, match="prior_pairs"):
        simulate(genes, relations=REL, prior_pairs=pairs, **SMALL)
