"""Streaming condition summaries against direct numpy computations, and input validation."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grapekg.perturb import summaries
from grapekg.perturb.errors import DataError
from grapekg.perturb.summaries import summarise_adata, summarise_h5ad


def _adata(x: np.ndarray, labels: list[str], sparse: bool) -> ad.AnnData:
    obs = pd.DataFrame(
        {"condition": pd.Categorical(labels)}, index=[f"c{i}" for i in range(len(labels))]
    )
    var = pd.DataFrame(
        {"gene_name": [f"G{j}" for j in range(x.shape[1])]},
        index=[f"ENSG{j:04d}" for j in range(x.shape[1])],
    )
    return ad.AnnData(X=sp.csr_matrix(x) if sparse else x, obs=obs, var=var)


def _data(seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    labels = ["ctrl"] * 7 + ["ctrl+A"] * 3 + ["A+ctrl"] * 2 + ["B+A"] * 4 + ["A+B"] * 2
    x = rng.gamma(1.0, 1.0, size=(len(labels), 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.5] = 0
    return x, labels


@pytest.mark.parametrize("sparse", [True, False])
def test_streaming_matches_numpy(
    tmp_path: Path, sparse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summaries, "_TARGET_CHUNK_VALUES", 7)  # many tiny chunks
    x, labels = _data()
    path = tmp_path / "d.h5ad"
    _adata(x, labels, sparse).write_h5ad(path)
    counted: list[tuple[str, int | None, int]] = []

    @contextmanager
    def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
        yield lambda n: counted.append((label, total, n))

    s = summarise_h5ad(path, progress=progress)
    assert s.conditions == ["ctrl", "A+B", "A+ctrl"]
    assert len(counted) > 1 and sum(n for _, _, n in counted) == len(labels)
    assert counted[0][:2] == ("summarising d.h5ad", len(labels))
    groups = {
        "ctrl": [0, 1, 2, 3, 4, 5, 6],
        "A+ctrl": [7, 8, 9, 10, 11],
        "A+B": [12, 13, 14, 15, 16, 17],
    }
    for cond, rows in groups.items():
        i = s.index(cond)
        block = x[rows].astype(np.float64)
        assert s.n_cells[i] == len(rows)
        np.testing.assert_allclose(s.mean[i], block.mean(0), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(s.var[i], block.var(0, ddof=1), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(s.frac_nonzero[i], (block != 0).mean(0))
    assert s.raw_labels["A+ctrl"] == ["A+ctrl", "ctrl+A"]
    assert list(s.gene_names) == [f"G{j}" for j in range(6)]
    np.testing.assert_allclose(s.ctrl_mean, x[:7].mean(0), rtol=1e-6)


def test_memory_and_file_agree(tmp_path: Path) -> None:
    x, labels = _data(1)
    a = _adata(x, labels, True)
    a.write_h5ad(tmp_path / "d.h5ad")
    s1, s2 = summarise_adata(a), summarise_h5ad(tmp_path / "d.h5ad")
    np.testing.assert_array_equal(s1.mean, s2.mean)
    np.testing.assert_array_equal(s1.var, s2.var)


def test_other_label_convention(tmp_path: Path) -> None:
    x, _ = _data()
    labels = ["non-targeting"] * 8 + ["A"] * 5 + ["A_B"] * 5
    _adata(x, labels, True).write_h5ad(tmp_path / "d.h5ad")
    s = summarise_h5ad(tmp_path / "d.h5ad", control_labels="non-targeting", sep="_")
    assert s.conditions == ["ctrl", "A+B", "A+ctrl"]
    assert list(s.n_cells) == [8, 5, 5]


def test_missing_pert_column(tmp_path: Path) -> None:
    x, labels = _data()
    _adata(x, labels, True).write_h5ad(tmp_path / "d.h5ad")
    with pytest.raises(DataError, match=r"d\.h5ad: obs\['perturbation'\]: column not found"):
        summarise_h5ad(tmp_path / "d.h5ad", pert_col="perturbation")


def test_no_control_cells(tmp_path: Path) -> None:
    x, labels = _data()
    _adata(x, ["A+ctrl" if c == "ctrl" else c for c in labels], True).write_h5ad(
        tmp_path / "d.h5ad"
    )
    with pytest.raises(DataError, match="no control cells"):
        summarise_h5ad(tmp_path / "d.h5ad")


def test_min_cells(tmp_path: Path) -> None:
    x, labels = _data()
    _adata(x, labels, True).write_h5ad(tmp_path / "d.h5ad")
    with pytest.raises(
        DataError, match=r"1 condition\(s\) have fewer than min_cells=6.*A\+ctrl \(5\)"
    ):
        summarise_h5ad(tmp_path / "d.h5ad", min_cells=6)
    assert summarise_h5ad(tmp_path / "d.h5ad", min_cells=5).n_cells.min() == 5


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("sparse", [True, False])
def test_nan_inf(tmp_path: Path, bad: float, sparse: bool) -> None:
    x, labels = _data()
    x[9, 4] = bad
    _adata(x, labels, sparse).write_h5ad(tmp_path / "d.h5ad")
    with pytest.raises(
        DataError,
        match=r"X: contains NaN or infinite values \(first at cell "
        r"row 9, gene column 4\)",
    ):
        summarise_h5ad(tmp_path / "d.h5ad")


def test_counts_are_rejected(tmp_path: Path) -> None:
    x, labels = _data()
    counts = np.round(x * 40)
    _adata(counts, labels, True).write_h5ad(tmp_path / "d.h5ad")
    with pytest.raises(DataError, match="raw counts"):
        summarise_h5ad(tmp_path / "d.h5ad")
    # small integers (binary data) are accepted
    _adata(np.round(x).clip(0, 3), labels, True).write_h5ad(tmp_path / "e.h5ad")
    assert summarise_h5ad(tmp_path / "e.h5ad").mean.shape == (3, 6)


def test_csc_is_rejected(tmp_path: Path) -> None:
    x, labels = _data()
    a = _adata(x, labels, True)
    a.X = sp.csc_matrix(x)
    a.write_h5ad(tmp_path / "d.h5ad")
    with pytest.raises(DataError, match="csc_matrix"):
        summarise_h5ad(tmp_path / "d.h5ad")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        summarise_h5ad(tmp_path / "nope.h5ad")


def test_single_cell_condition_has_nan_variance(tmp_path: Path) -> None:
    x, labels = _data()
    labels[-1] = "C+ctrl"
    _adata(x, labels, True).write_h5ad(tmp_path / "d.h5ad")
    s = summarise_h5ad(tmp_path / "d.h5ad", min_cells=1)
    assert np.isnan(s.var[s.index("C+ctrl")]).all()
