"""Guide-level labels, contexts and input validation of the streaming summaries (no KG)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grapekg.errors import ConfigError
from grapekg.perturb.de import compute_de
from grapekg.perturb.errors import DataError
from grapekg.perturb.guides import guide_agreement
from grapekg.perturb.summaries import summarise_h5ad, summarise_h5ad_contexts


def _write(path: Path, obs: dict, n_genes: int = 6, x=None, var=None, seed: int = 0) -> Path:
    n = len(next(iter(obs.values())))
    if x is None:
        rng = np.random.default_rng(seed)
        x = np.log1p(rng.poisson(2.0, size=(n, n_genes))).astype(np.float32)
    if var is None:
        var = pd.DataFrame(index=[f"G{j}" for j in range(x.shape[1])])
    a = ad.AnnData(
        X=sp.csr_matrix(x),
        obs=pd.DataFrame(
            {k: pd.Categorical(v) for k, v in obs.items()}, index=[f"c{i}" for i in range(n)]
        ),
        var=var,
    )
    a.write_h5ad(path)
    return path


def _guide_obs() -> dict:
    pert = ["control"] * 6 + ["A_1"] * 3 + ["A_2"] * 4 + ["B_1"] * 2 + ["B_2"] * 3 + ["C_1"] * 3
    return {"perturbation": pert}


def test_guide_pattern_collapses_guides_and_keeps_counts(tmp_path: Path) -> None:
    h5 = _write(tmp_path / "g.h5ad", _guide_obs())
    s = summarise_h5ad(
        h5, pert_col="perturbation", control_labels="control", guide_pattern=r"_\d+$"
    )
    assert s.conditions == ["ctrl", "A+ctrl", "B+ctrl", "C+ctrl"]
    assert s.n_cells.tolist() == [6, 7, 5, 3]
    assert s.guides["A+ctrl"] == {"A_1": 3, "A_2": 4}
    assert s.guides["C+ctrl"] == {"C_1": 3}
    # the per-guide means average to the condition's mean, weighted by cells
    rows = [i for i, (c, _) in enumerate(s.guide_keys) if c == "A+ctrl"]
    pooled = (s.guide_mean[rows] * s.guide_n[rows, None]).sum(0) / s.guide_n[rows].sum()
    np.testing.assert_allclose(pooled, s.mean[s.index("A+ctrl")])
    de = compute_de(s)
    agree = guide_agreement(
        s.guide_keys,
        s.guide_n,
        s.guide_mean,
        s.ctrl_mean,
        {c: de.top(c, 20) for c in s.perturbations},
    )
    assert [a.condition for a in agree] == ["A+ctrl", "B+ctrl", "C+ctrl"]
    assert -1 <= agree[0].pearson <= 1 and np.isnan(agree[2].pearson)
    # without the option the guides are conditions of their own
    plain = summarise_h5ad(h5, pert_col="perturbation", control_labels="control")
    assert "A_1+ctrl" in plain.conditions and plain.guide_keys == []


def test_guide_col(tmp_path: Path) -> None:
    obs = {
        "target": ["non-targeting"] * 6 + ["A"] * 7 + ["B"] * 5,
        "grna": ["NT1"] * 3 + ["NT2"] * 3 + ["Ag1"] * 3 + ["Ag2"] * 4 + ["Bg1"] * 5,
    }
    h5 = _write(tmp_path / "g.h5ad", obs)
    s = summarise_h5ad(h5, pert_col="target", control_labels="non-targeting", guide_col="grna")
    assert s.conditions == ["ctrl", "A+ctrl", "B+ctrl"]
    assert s.guides == {
        "ctrl": {"NT1": 3, "NT2": 3},
        "A+ctrl": {"Ag1": 3, "Ag2": 4},
        "B+ctrl": {"Bg1": 5},
    }
    with pytest.raises(DataError, match=r"obs\['guide'\]: column not found"):
        summarise_h5ad(h5, pert_col="target", control_labels="non-targeting", guide_col="guide")


def test_bad_guide_patterns(tmp_path: Path) -> None:
    h5 = _write(tmp_path / "g.h5ad", _guide_obs())
    kw = {"pert_col": "perturbation", "control_labels": "control"}
    with pytest.raises(ConfigError, match=r"^--guide-pattern: .*does not compile"):
        summarise_h5ad(h5, guide_pattern="_(\\d+", **kw)
    with pytest.raises(DataError, match=r"into an empty gene name") as err:
        summarise_h5ad(h5, guide_pattern=r"^.*$", **kw)
    assert "'A_1'" in str(err.value)
    with pytest.raises(DataError, match=r"every label into the same gene '_' \(e\.g\. 'A_1'\)"):
        summarise_h5ad(h5, guide_pattern=r"[A-Z]|\d", **kw)


def _context_obs() -> dict:
    pert = (["control"] * 4 + ["A_1"] * 3 + ["A_2"] * 3 + ["B_1"] * 3) * 2
    ctx = ["stim"] * 13 + ["rest ing"] * 13
    return {"perturbation": pert, "perturbation_2": ctx}


def test_contexts_are_summarised_in_one_pass(tmp_path: Path, monkeypatch) -> None:
    h5 = _write(tmp_path / "c.h5ad", _context_obs())
    import grapekg.perturb.summaries as summ

    calls = []
    real = summ._iter_h5_chunks
    monkeypatch.setattr(summ, "_iter_h5_chunks", lambda *a: calls.append(1) or real(*a))
    out = summarise_h5ad_contexts(
        h5,
        pert_col="perturbation",
        control_labels="control",
        guide_pattern=r"_\d+$",
        context_col="perturbation_2",
    )
    assert calls == [1] and sorted(out) == ["rest ing", "stim"]
    a = ad.read_h5ad(h5)
    for ctx, s in out.items():
        assert s.context == ctx and s.conditions == ["ctrl", "A+ctrl", "B+ctrl"]
        assert s.n_cells.tolist() == [4, 6, 3]
        cells = (a.obs["perturbation_2"] == ctx).to_numpy()
        sub = a[cells]
        want = np.asarray(
            sub.X[sub.obs["perturbation"].str.startswith("A").to_numpy()].mean(0)
        ).ravel()
        np.testing.assert_allclose(s.mean[s.index("A+ctrl")], want, rtol=1e-6)
        assert s.guides["A+ctrl"] == {"A_1": 3, "A_2": 3}


def test_context_errors_name_the_context(tmp_path: Path) -> None:
    obs = _context_obs()
    obs["perturbation"] = [
        "A_1" if (c == "stim" and p == "control") else p
        for p, c in zip(obs["perturbation"], obs["perturbation_2"], strict=True)
    ]
    h5 = _write(tmp_path / "c.h5ad", obs)
    kw = {"pert_col": "perturbation", "control_labels": "control", "guide_pattern": r"_\d+$"}
    with pytest.raises(DataError, match=r"in context perturbation_2='stim': no control cells"):
        summarise_h5ad_contexts(h5, context_col="perturbation_2", **kw)
    obs = _context_obs()
    obs["perturbation"] = [
        "A_1" if (c == "stim" and p == "B_1") else p
        for p, c in zip(obs["perturbation"], obs["perturbation_2"], strict=True)
    ]
    h5 = _write(tmp_path / "d.h5ad", obs)
    with pytest.raises(
        DataError, match=r"context perturbation_2='stim': has 1 perturbation condition"
    ):
        summarise_h5ad_contexts(h5, context_col="perturbation_2", **kw)
    with pytest.raises(
        DataError,
        match=r"obs\['cell_line'\]: column not found; obs has perturbation, perturbation_2",
    ):
        summarise_h5ad_contexts(h5, context_col="cell_line", **kw)


def test_gene_name_col_is_never_silently_ignored(tmp_path: Path) -> None:
    obs = {"condition": ["ctrl"] * 3 + ["A+ctrl"] * 3}
    var = pd.DataFrame({"symbol": [f"S{j}" for j in range(6)]}, index=[f"G{j}" for j in range(6)])
    h5 = _write(tmp_path / "v.h5ad", obs, var=var)
    with pytest.raises(
        DataError, match=r"--gene-name-col 'gene_symbol' is not a var column; var has: symbol"
    ):
        summarise_h5ad(h5, gene_name_col="gene_symbol")
    assert list(summarise_h5ad(h5, gene_name_col="symbol").gene_names) == [
        f"S{j}" for j in range(6)
    ]
    # default: gene_name when present, else the index
    assert list(summarise_h5ad(h5).gene_names) == [f"G{j}" for j in range(6)]


def test_duplicated_and_missing_genes(tmp_path: Path) -> None:
    obs = {"condition": ["ctrl"] * 3 + ["A+ctrl"] * 3}
    var = pd.DataFrame(
        {"gene_name": ["X", "Y", "X", "Z", "Y", "W"]}, index=[f"ENSG{j}" for j in range(6)]
    )
    h5 = _write(tmp_path / "d.h5ad", obs, var=var)
    with pytest.raises(
        DataError, match=r"var\['gene_name'\]: 2 duplicated gene name\(s\): X, Y; make them unique"
    ):
        summarise_h5ad(h5, gene_name_col="gene_name")
    empty = _write(tmp_path / "e.h5ad", obs, x=np.zeros((6, 0), dtype=np.float32))
    with pytest.raises(DataError, match="0 genes"):
        summarise_h5ad(empty)


def test_integer_counts_below_fifty_are_raw_counts(tmp_path: Path) -> None:
    obs = {"condition": ["ctrl"] * 3 + ["A+ctrl"] * 3}
    x = np.random.default_rng(0).poisson(5.0, size=(6, 6)).astype(np.float32)
    x[0, 0] = 20  # max 20: sparse real UMI counts, which the old 'max > 50' rule accepted
    h5 = _write(tmp_path / "c.h5ad", obs, x=x)
    with pytest.raises(DataError, match=r"raw counts .*max 20 > 10.*--normalise"):
        summarise_h5ad(h5)
    assert summarise_h5ad(h5, normalise=True).mean.max() < 10


def test_messages_cut_long_values_and_show_plain_strings(tmp_path: Path) -> None:
    long = "A" * 5000 + "++B"
    obs = {"condition": ["ctrl"] * 3 + [long] * 3}
    h5 = _write(tmp_path / "l.h5ad", obs)
    with pytest.raises(DataError) as err:
        summarise_h5ad(h5)
    msg = str(err.value)
    assert len(msg) < 300 and "np.str_" not in msg and "5,003 chars" in msg and "\n" not in msg
