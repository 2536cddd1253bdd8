"""DE genes from streaming summaries versus scanpy's t-test, and GEARS's filtered lists."""

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from grapekg.perturb.de import (
    compute_de,
    gears_uns,
    non_dropout_genes,
    non_zero_genes,
    rank_by_abs,
    top_in_set,
    welch_t,
)
from grapekg.perturb.summaries import summarise_adata


def _adata(seed: int = 3) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    labels = ["ctrl"] * 30 + ["A+ctrl"] * 12 + ["A+B"] * 9
    x = rng.gamma(2.0, 0.5, size=(len(labels), 50))
    x[rng.random(x.shape) < 0.3] = 0
    x[30:42, :5] += np.linspace(4, 2.5, 5)  # A shifts genes 0..4 up
    x[42:, 10:13] -= 0.8
    x = np.clip(x, 0, None)
    x[:, 49] = 0  # all-zero gene
    obs = pd.DataFrame(
        {"condition": pd.Categorical(labels)}, index=[f"c{i}" for i in range(len(labels))]
    )
    var = pd.DataFrame(
        {"gene_name": [f"G{j}" for j in range(50)]}, index=[f"E{j}" for j in range(50)]
    )
    return ad.AnnData(X=x, obs=obs, var=var)


def test_welch_t_matches_scanpy() -> None:
    a = _adata()
    de = compute_de(summarise_adata(a))
    sc.tl.rank_genes_groups(
        a,
        groupby="condition",
        reference="ctrl",
        method="t-test",
        rankby_abs=True,
        n_genes=a.n_vars,
        use_raw=False,
    )
    res = a.uns["rank_genes_groups"]
    for cond in ("A+ctrl", "A+B"):
        names = np.asarray(res["names"][cond]).astype(str)
        scores = np.asarray(res["scores"][cond], dtype=np.float64)
        ours = de.scores[cond][[int(n[1:]) for n in names]]
        np.testing.assert_allclose(ours, scores, rtol=1e-4, atol=1e-5)
        ranked_ids = [f"E{i}" for i in de.ranking[cond]]
        # scanpy's order of exactly tied |t| is arbitrary: compare the |t| sequence
        np.testing.assert_allclose(
            np.abs(de.scores[cond][de.ranking[cond]]), np.abs(scores), rtol=1e-4, atol=1e-5
        )
        assert ranked_ids[:3] == list(names[:3])
    assert set(de.top("A+ctrl", 5)) == {0, 1, 2, 3, 4}


def test_welch_t_by_hand() -> None:
    t = welch_t(
        np.array([2.0, 1.0, 1.0]),
        np.array([1.0, 0.0, 0.0]),
        4,
        np.array([1.0, 1.0, 0.0]),
        np.array([3.0, 0.0, 0.0]),
        3,
    )
    # gene 0: (2-1)/sqrt(1/4+3/3) = 1/sqrt(1.25); gene 1: 0/0 -> 0; gene 2: 1/0 -> inf
    np.testing.assert_allclose(t[:2], [1 / np.sqrt(1.25), 0.0])
    assert np.isposinf(t[2])
    assert list(rank_by_abs(np.array([0.5, -3.0, 3.0, 0.0]))) == [1, 2, 0, 3]


def test_non_zero_and_non_dropout_sets() -> None:
    m_p = np.array([0.0, 0.5, 0.0, 2.0])
    m_c = np.array([0.0, 0.0, 1.0, 2.0])
    assert list(non_zero_genes(m_p)) == [1, 3]
    assert list(non_dropout_genes(m_p, m_c)) == [0, 1, 3]  # gene 2 dropped out
    assert list(top_in_set(np.array([2, 0, 3, 1]), np.array([0, 1, 3]), 2)) == [0, 3]


def test_filtered_top20_and_uns() -> None:
    a = _adata()
    s = summarise_adata(a)
    de = compute_de(s)
    for cond in s.perturbations:
        nd, nz = set(de.non_dropout[cond]), set(de.non_zero[cond])
        assert len(de.top_non_dropout_20[cond]) == 20
        assert set(de.top_non_dropout_20[cond]) <= nd
        assert set(de.top_non_zero_20[cond]) <= nz
        assert 49 in nd and 49 not in nz  # all-zero gene: non-dropout, not non-zero
        # the filtered list keeps ranking order
        order = [list(de.ranking[cond]).index(g) for g in de.top_non_zero_20[cond]]
        assert order == sorted(order)
    uns = gears_uns(de, s.gene_ids, "K562")
    key = "K562_A+ctrl_1+1"
    assert list(uns["rank_genes_groups_cov_all"][key][:5]) == [f"E{i}" for i in de.top("A+ctrl", 5)]
    assert "K562_A+B_1+1" in uns["top_non_dropout_de_20"]
    assert len(uns["rank_genes_groups_cov_all"][key]) == 50
