"""Condition-level summaries of a perturbation AnnData, computed in one streaming pass.

For every condition c with cells S_c (n_c = |S_c|) and every gene g:

* mean      m_cg = (1/n_c) Σ_{i∈S_c} x_ig
* variance  v_cg = (Σ_{i∈S_c} x_ig² − n_c m_cg²) / (n_c − 1)   (unbiased, ddof = 1, as
  scanpy's t-test uses; NaN when n_c = 1; tiny negative round-off clipped to 0)
* fraction non-zero f_cg = (1/n_c) #{i ∈ S_c : x_ig ≠ 0}

The sums are accumulated in float64 over row chunks of X read straight from the
.h5ad file with h5py (dense datasets or CSR groups), so the full matrix is never
densified: peak memory is one chunk plus three (conditions × genes) arrays.
Each chunk is reduced with a sparse (conditions × rows) indicator matrix M:
Σ x = M·X, Σ x² = M·(X∘X), #nonzero = M·1[X ≠ 0].
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grapekg.perturb.conditions import CONTROL, normalise_condition
from grapekg.perturb.errors import DataError
from grapekg.perturb.progress import Progress, counter

__all__ = ["ConditionSummary", "normalise_log1p", "summarise_adata", "summarise_h5ad"]

log = logging.getLogger(__name__)

_TARGET_CHUNK_VALUES = 1_000_000  # non-zeros (CSR) or entries (dense) per chunk


@dataclass(frozen=True)
class ConditionSummary:
    """Per-condition mean, variance, cell count and fraction of non-zero cells.

    Row i of ``mean``/``var``/``frac_nonzero`` belongs to ``conditions[i]``
    (canonical strings, control ``ctrl`` first, then sorted); columns follow the
    file's gene order (``gene_ids`` = var index, ``gene_names`` = symbols).
    """

    conditions: list[str]
    gene_ids: np.ndarray
    gene_names: np.ndarray
    n_cells: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    frac_nonzero: np.ndarray
    source: str = "<memory>"
    raw_labels: dict[str, list[str]] = field(default_factory=dict)

    def index(self, condition: str) -> int:
        """Row index of a canonical condition string."""
        try:
            return self.conditions.index(condition)
        except ValueError:
            raise DataError(
                f"unknown condition {condition!r}", path=self.source, parameter="condition"
            ) from None

    @property
    def ctrl_mean(self) -> np.ndarray:
        """Mean expression of the control cells (μ in the metric formulas)."""
        return self.mean[self.index(CONTROL)]

    @property
    def perturbations(self) -> list[str]:
        """All conditions except the control."""
        return [c for c in self.conditions if c != CONTROL]

    def means(self, conditions: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Dict condition -> mean vector (all perturbations when ``conditions`` is None)."""
        chosen = self.perturbations if conditions is None else list(conditions)
        return {c: self.mean[self.index(c)] for c in chosen}


class _Accumulator:
    """Float64 running sums Σx, Σx², #nonzero and n per condition."""

    def __init__(self, n_conditions: int, n_genes: int) -> None:
        self.sum = np.zeros((n_conditions, n_genes))
        self.sumsq = np.zeros((n_conditions, n_genes))
        self.nnz = np.zeros((n_conditions, n_genes))
        self.n = np.zeros(n_conditions, dtype=np.int64)
        self.all_integer = True
        self.max = -np.inf
        self.min = np.inf

    def add(self, block: np.ndarray | sp.csr_matrix, codes: np.ndarray) -> None:
        rows = codes.shape[0]
        indicator = sp.csr_matrix(
            (np.ones(rows), (codes, np.arange(rows))), shape=(self.sum.shape[0], rows)
        )
        self.n += np.bincount(codes, minlength=self.n.shape[0])
        if sp.issparse(block):
            block = sp.csr_matrix(block, dtype=np.float64)
            values = block.data
            self.sum += np.asarray((indicator @ block).todense())
            self.sumsq += np.asarray((indicator @ block.multiply(block)).todense())
            nonzero = block.copy()
            nonzero.data = (values != 0).astype(np.float64)
            self.nnz += np.asarray((indicator @ nonzero).todense())
        else:
            block = np.asarray(block, dtype=np.float64)
            values = block.ravel()
            self.sum += indicator @ block
            self.sumsq += indicator @ (block * block)
            self.nnz += indicator @ (block != 0).astype(np.float64)
        if values.size:
            self.max = max(self.max, float(values.max()))
            self.min = min(self.min, float(values.min()))
            if self.all_integer:
                self.all_integer = bool(np.all(values == np.round(values)))


def _read_column(group: h5py.Group, name: str) -> np.ndarray:
    from anndata.io import read_elem

    values = read_elem(group[name])
    return np.asarray(values.astype(str) if hasattr(values, "astype") else values, dtype=object)


def _obs_columns(obs: h5py.Group) -> list[str]:
    order = obs.attrs.get("column-order", [])
    return [str(c) for c in np.atleast_1d(order)]


def _iter_h5_chunks(x: h5py.Dataset | h5py.Group, path: str) -> Iterator[tuple[int, object]]:
    """Yield (start_row, block) over X; block is a CSR matrix or a dense array."""
    if isinstance(x, h5py.Dataset):
        n_rows, n_cols = x.shape
        step = max(1, _TARGET_CHUNK_VALUES // max(n_cols, 1))
        for start in range(0, n_rows, step):
            yield start, x[start : start + step]
        return
    encoding = x.attrs.get("encoding-type", "")
    if isinstance(encoding, bytes):
        encoding = encoding.decode()
    if encoding != "csr_matrix":
        raise DataError(
            f"X is stored as {encoding or 'an unknown encoding'}; only dense "
            "and CSR matrices can be streamed (convert with X.tocsr())",
            path=path,
            parameter="X",
        )
    n_rows, n_cols = (int(v) for v in x.attrs["shape"])
    indptr = x["indptr"][:].astype(np.int64)
    data, indices = x["data"], x["indices"]
    start = 0
    while start < n_rows:
        # grow the chunk until it holds about _TARGET_CHUNK_VALUES non-zeros
        stop = int(np.searchsorted(indptr, indptr[start] + _TARGET_CHUNK_VALUES, side="right"))
        stop = min(max(stop - 1, start + 1), n_rows)
        lo, hi = indptr[start], indptr[stop]
        block = sp.csr_matrix(
            (data[lo:hi], indices[lo:hi], indptr[start : stop + 1] - lo),
            shape=(stop - start, n_cols),
        )
        yield start, block
        start = stop


def _iter_memory_chunks(x: object) -> Iterator[tuple[int, object]]:
    n_rows, n_cols = x.shape  # type: ignore[attr-defined]
    step = max(1, _TARGET_CHUNK_VALUES // max(n_cols, 1))
    csr = sp.csr_matrix(x) if sp.issparse(x) else None
    for start in range(0, n_rows, step):
        yield (
            start,
            (csr[start : start + step] if csr is not None else np.asarray(x[start : start + step])),
        )  # type: ignore[index]


def _check_finite(block: object, start: int, path: str) -> None:
    values = block.data if sp.issparse(block) else np.asarray(block)  # type: ignore[union-attr]
    finite = np.isfinite(values)
    if finite.all():
        return
    if sp.issparse(block):
        coo = sp.coo_matrix(block)
        bad = int(np.flatnonzero(~np.isfinite(coo.data))[0])
        row, col = int(coo.row[bad]) + start, int(coo.col[bad])
    else:
        r, c = np.argwhere(~np.isfinite(np.asarray(block)))[0]
        row, col = int(r) + start, int(c)
    raise DataError(
        f"contains NaN or infinite values (first at cell row {row}, gene column {col})",
        path=path,
        parameter="X",
    )


def _condition_codes(
    labels: np.ndarray,
    path: str,
    pert_col: str,
    control_labels: str | Iterable[str],
    sep: str,
) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    canonical: list[str] = []
    for raw in uniques:
        try:
            canonical.append(normalise_condition(raw, control_labels=control_labels, sep=sep))
        except DataError as err:
            raise DataError(err.problem, path=path, parameter=f"obs['{pert_col}']") from None
    conditions = sorted(set(canonical), key=lambda c: (c != CONTROL, c))
    position = {c: i for i, c in enumerate(conditions)}
    raw_to_code = np.array([position[c] for c in canonical], dtype=np.int64)
    raw_labels: dict[str, list[str]] = {c: [] for c in conditions}
    for raw, canon in zip(uniques, canonical, strict=True):
        raw_labels[canon].append(str(raw))
    return raw_to_code[inverse], conditions, raw_labels


def _validate_conditions(
    conditions: list[str],
    n: np.ndarray,
    raw_labels: dict[str, list[str]],
    path: str,
    pert_col: str,
    control_labels: str | Iterable[str],
    min_cells: int,
) -> None:
    if CONTROL not in conditions:
        seen = ", ".join(sorted(raw_labels)[:5])
        labels = [control_labels] if isinstance(control_labels, str) else list(control_labels)
        raise DataError(
            f"no control cells: no label matches {sorted({*labels, CONTROL})} "
            f"(first labels seen: {seen}); pass control_labels=...",
            path=path,
            parameter=f"obs['{pert_col}']",
        )
    small = [(c, int(k)) for c, k in zip(conditions, n, strict=True) if k < min_cells]
    if small:
        listed = ", ".join(f"{c} ({k})" for c, k in small[:5])
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        raise DataError(
            f"{len(small)} condition(s) have fewer than min_cells={min_cells} "
            f"cells: {listed}{more}; drop them or lower min_cells",
            path=path,
            parameter=f"obs['{pert_col}']",
        )


def _finish(
    acc: _Accumulator,
    conditions: list[str],
    gene_ids: np.ndarray,
    gene_names: np.ndarray,
    path: str,
    raw_labels: dict[str, list[str]],
    count_max: float,
) -> ConditionSummary:
    if acc.all_integer and acc.max > count_max:
        raise DataError(
            f"values look like raw counts (all integers, max {acc.max:g} > "
            f"{count_max:g}); expected log-normalised data (normalize_total then "
            "log1p)",
            path=path,
            parameter="X",
        )
    if acc.min < 0:
        log.warning(
            "%s: X has negative values (min %.3g); expected log-normalised data >= 0", path, acc.min
        )
    n = acc.n.astype(np.float64)[:, None]
    mean = acc.sum / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (acc.sumsq - n * mean * mean) / (n - 1)
    var = np.where(n > 1, np.maximum(var, 0.0), np.nan)
    return ConditionSummary(
        conditions=conditions,
        gene_ids=gene_ids,
        gene_names=gene_names,
        n_cells=acc.n,
        mean=mean,
        var=var,
        frac_nonzero=acc.nnz / n,
        source=path,
        raw_labels=raw_labels,
    )


def _summarise(
    chunks: Iterator[tuple[int, object]],
    n_rows: int,
    labels: np.ndarray,
    gene_ids: np.ndarray,
    gene_names: np.ndarray,
    path: str,
    pert_col: str,
    control_labels: str | Iterable[str],
    sep: str,
    min_cells: int,
    count_max: float,
    progress: Progress | None,
    normalise: bool = False,
) -> ConditionSummary:
    if labels.shape[0] != n_rows:
        raise DataError(
            f"has {labels.shape[0]} labels for {n_rows} cells",
            path=path,
            parameter=f"obs['{pert_col}']",
        )
    codes, conditions, raw_labels = _condition_codes(labels, path, pert_col, control_labels, sep)
    acc = _Accumulator(len(conditions), gene_ids.shape[0])
    with counter(progress, f"summarising {Path(path).name}", n_rows) as advance:
        for start, block in chunks:
            rows = block.shape[0]  # type: ignore[attr-defined]
            _check_finite(block, start, path)
            if normalise:
                block = normalise_log1p(block)
            acc.add(block, codes[start : start + rows])  # type: ignore[arg-type]
            advance(rows)
    _validate_conditions(conditions, acc.n, raw_labels, path, pert_col, control_labels, min_cells)
    return _finish(acc, conditions, gene_ids, gene_names, path, raw_labels, count_max)


def normalise_log1p(block: object, target_sum: float = 1e4) -> object:
    """Per-cell library-size normalisation then log: x' = log1p(x / Σ_g x · target_sum),
    as scanpy's normalize_total + log1p; row-local, so it runs chunk by chunk."""
    if sp.issparse(block):
        b = sp.csr_matrix(block, dtype=np.float64)
        sums = np.asarray(b.sum(axis=1)).ravel()
        scale = np.divide(target_sum, sums, out=np.zeros_like(sums), where=sums > 0)
        b = sp.diags(scale) @ b
        b.data = np.log1p(b.data)
        return b.tocsr()
    d = np.asarray(block, dtype=np.float64)
    sums = d.sum(axis=1, keepdims=True)
    scale = np.divide(target_sum, sums, out=np.zeros_like(sums), where=sums > 0)
    return np.log1p(d * scale)


def summarise_h5ad(
    path: str | PathLike[str],
    *,
    pert_col: str = "condition",
    control_labels: str | Sequence[str] = CONTROL,
    sep: str = "+",
    gene_name_col: str = "gene_name",
    min_cells: int = 2,
    count_max: float = 50.0,
    progress: Progress | None = None,
    normalise: bool = False,
) -> ConditionSummary:
    """Stream an .h5ad file and return per-condition mean, variance, n and fraction non-zero.

    Reads ``obs[pert_col]`` and ``var`` only, then X in row chunks (dense or CSR) with
    h5py; formulas in the module docstring. Condition labels are normalised with
    :func:`~grapekg.perturb.conditions.normalise_condition`. ``progress`` counts the cells
    read (:mod:`~grapekg.perturb.progress`).

    Raises:
        DataError: missing file / pert column, no control cells, a condition with fewer
            than ``min_cells`` cells, NaN/inf in X, or integer data with max > ``count_max``
            (raw counts rather than log-normalised values; ``normalise=True`` applies
            :func:`normalise_log1p` to every chunk instead).
    """
    where = str(path)
    if not Path(where).is_file():
        raise DataError("file not found", path=where)
    from anndata.io import read_elem

    with h5py.File(where, "r") as f:
        if "obs" not in f or "X" not in f:
            raise DataError("not an AnnData .h5ad file (no obs or X)", path=where)
        columns = _obs_columns(f["obs"])
        if pert_col not in f["obs"]:
            raise DataError(
                f"column not found; obs has {columns}", path=where, parameter=f"obs['{pert_col}']"
            )
        labels = _read_column(f["obs"], pert_col)
        var = read_elem(f["var"])
        gene_ids = np.asarray(var.index.astype(str), dtype=object)
        names = var[gene_name_col] if gene_name_col in var.columns else var.index
        gene_names = np.asarray(pd.Index(names).astype(str), dtype=object)
        x = f["X"]
        n_rows = int(x.shape[0]) if isinstance(x, h5py.Dataset) else int(x.attrs["shape"][0])
        return _summarise(
            _iter_h5_chunks(x, where),
            n_rows,
            labels,
            gene_ids,
            gene_names,
            where,
            pert_col,
            control_labels,
            sep,
            min_cells,
            count_max,
            progress,
            normalise,
        )


def summarise_adata(
    adata: object,
    *,
    pert_col: str = "condition",
    control_labels: str | Sequence[str] = CONTROL,
    sep: str = "+",
    gene_name_col: str = "gene_name",
    min_cells: int = 2,
    count_max: float = 50.0,
) -> ConditionSummary:
    """Same as :func:`summarise_h5ad` for an in-memory AnnData (chunks of ``adata.X``)."""
    obs, var = adata.obs, adata.var  # type: ignore[attr-defined]
    where = "<memory>"
    if pert_col not in obs.columns:
        raise DataError(
            f"column not found; obs has {list(obs.columns)}",
            path=where,
            parameter=f"obs['{pert_col}']",
        )
    names = var[gene_name_col] if gene_name_col in var.columns else var.index
    x = adata.X  # type: ignore[attr-defined]
    return _summarise(
        _iter_memory_chunks(x),
        x.shape[0],
        np.asarray(obs[pert_col].astype(str), dtype=object),
        np.asarray(var.index.astype(str), dtype=object),
        np.asarray(pd.Index(names).astype(str), dtype=object),
        where,
        pert_col,
        control_labels,
        sep,
        min_cells,
        count_max,
        None,
    )
