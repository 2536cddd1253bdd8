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

With a context column the groups are (context, condition) pairs, still in one pass (peak
memory: three (contexts·conditions × genes) arrays); with guide-level labels a fourth
(guides × genes) array of Σ x per (context, condition, guide) gives each guide's mean.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

from grapekg.errors import GrapeError
from grapekg.perturb.conditions import CONTROL, normalise_condition, shorten
from grapekg.perturb.errors import DataError
from grapekg.perturb.progress import Progress, counter

__all__ = [
    "COUNT_MAX",
    "ConditionSummary",
    "normalise_log1p",
    "summarise_adata",
    "summarise_h5ad",
    "summarise_h5ad_contexts",
]

log = logging.getLogger(__name__)

_TARGET_CHUNK_VALUES = 1_000_000  # non-zeros (CSR) or entries (dense) per chunk

#: integer-valued X with a larger maximum is taken for raw counts (log-normalised values
#: are not integers; binary or ternary calls stay below it)
COUNT_MAX = 10.0


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
    context: str | None = None
    #: per-guide rows ``(condition, guide)`` with their cell counts and mean profiles (only
    #: when labels were guide-level: ``guide_pattern`` or ``guide_col``)
    guide_keys: list[tuple[str, str]] = field(default_factory=list)
    guide_n: np.ndarray | None = None
    guide_mean: np.ndarray | None = None
    #: genes with one value in every cell of the file (no signal to score; warned at import)
    constant_genes: list[str] = field(default_factory=list)

    @property
    def guides(self) -> dict[str, dict[str, int]]:
        """Condition -> guide -> number of cells (empty without guide-level labels)."""
        out: dict[str, dict[str, int]] = {}
        n = self.guide_n if self.guide_n is not None else []
        for (cond, guide), k in zip(self.guide_keys, n, strict=True):
            out.setdefault(cond, {})[guide] = int(k)
        return out

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

    def __init__(self, n_conditions: int, n_genes: int, *, sums_only: bool = False) -> None:
        self.sums_only = sums_only
        self.sum = np.zeros((n_conditions, n_genes))
        self.sumsq = None if sums_only else np.zeros((n_conditions, n_genes))
        self.nnz = None if sums_only else np.zeros((n_conditions, n_genes))
        self.n = np.zeros(n_conditions, dtype=np.int64)
        self.all_integer = True
        self.max = -np.inf
        self.min = np.inf
        # per gene, over every cell: a gene whose minimum equals its maximum is constant
        self.gene_min = np.full(n_genes, np.inf)
        self.gene_max = np.full(n_genes, -np.inf)

    def take(self, rows: np.ndarray) -> _Accumulator:
        """The accumulator restricted to some of its groups (one context's conditions)."""
        sub = _Accumulator(0, self.sum.shape[1], sums_only=self.sums_only)
        sub.sum, sub.n = self.sum[rows], self.n[rows]
        if not self.sums_only:
            sub.sumsq, sub.nnz = self.sumsq[rows], self.nnz[rows]  # type: ignore[index]
        sub.all_integer, sub.max, sub.min = self.all_integer, self.max, self.min
        sub.gene_min, sub.gene_max = self.gene_min, self.gene_max
        return sub

    def add(self, block: np.ndarray | sp.csr_matrix, codes: np.ndarray) -> None:
        rows = codes.shape[0]
        indicator = sp.csr_matrix(
            (np.ones(rows), (codes, np.arange(rows))), shape=(self.sum.shape[0], rows)
        )
        self.n += np.bincount(codes, minlength=self.n.shape[0])
        if rows and not self.sums_only:
            lo = block.min(axis=0) if sp.issparse(block) else np.asarray(block).min(axis=0)
            hi = block.max(axis=0) if sp.issparse(block) else np.asarray(block).max(axis=0)
            lo = np.asarray(lo.todense() if sp.issparse(lo) else lo, dtype=np.float64).ravel()
            hi = np.asarray(hi.todense() if sp.issparse(hi) else hi, dtype=np.float64).ravel()
            np.minimum(self.gene_min, lo, out=self.gene_min)
            np.maximum(self.gene_max, hi, out=self.gene_max)
        if sp.issparse(block):
            block = sp.csr_matrix(block, dtype=np.float64)
            values = block.data
            self.sum += np.asarray((indicator @ block).todense())
            if self.sums_only:
                return
            self.sumsq += np.asarray((indicator @ block.multiply(block)).todense())
            nonzero = block.copy()
            nonzero.data = (values != 0).astype(np.float64)
            self.nnz += np.asarray((indicator @ nonzero).todense())
        else:
            block = np.asarray(block, dtype=np.float64)
            values = block.ravel()
            self.sum += indicator @ block
            if self.sums_only:
                return
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


#: the largest magnitude X may hold: the bundle stores means in float32, and a value beyond
#: it (1e300 passes a NaN/inf check) would become an infinite mean
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _first_bad(block: object, bad_of: object) -> tuple[int, int]:
    """(row, column) within ``block`` of its first value where ``bad_of(values)`` holds."""
    if sp.issparse(block):
        coo = sp.coo_matrix(block)
        i = int(np.flatnonzero(bad_of(coo.data))[0])  # type: ignore[operator]
        return int(coo.row[i]), int(coo.col[i])
    r, c = np.argwhere(bad_of(np.asarray(block)))[0]  # type: ignore[operator]
    return int(r), int(c)


def _check_finite(block: object, start: int, path: str) -> None:
    """No NaN or infinite value, and none beyond the float32 range, in a chunk of X."""
    values = block.data if sp.issparse(block) else np.asarray(block)  # type: ignore[union-attr]
    if not np.isfinite(values).all():
        row, col = _first_bad(block, lambda v: ~np.isfinite(v))
        raise DataError(
            f"contains NaN or infinite values (first at cell row {row + start}, gene column {col})",
            path=path,
            parameter="X",
        )
    if values.size and float(np.abs(values).max()) > FLOAT32_MAX:
        row, col = _first_bad(block, lambda v: np.abs(v) > FLOAT32_MAX)
        value = float(block[row, col])  # type: ignore[index]
        raise DataError(
            f"a value {value:.3g} beyond the float32 range (|x| > {FLOAT32_MAX:.3g}) at cell row "
            f"{row + start}, gene column {col}; expression values are stored as float32",
            path=path,
            parameter="X",
        )


def _check_degenerate(acc: _Accumulator, gene_names: np.ndarray, path: str) -> list[str]:
    """Refuse an X that is all zeros or has one value per gene in every cell (every model,
    no-change included, would score perfectly); return the names of the constant genes
    (warned at import: they carry no signal)."""
    if not (acc.max > 0 or acc.min < 0):
        raise DataError(
            "X is all zeros: nothing was measured (every model would score perfectly)",
            path=path,
            parameter="X",
        )
    constant = acc.gene_max <= acc.gene_min
    if constant.all():
        raise DataError(
            f"every one of the {constant.size:,} genes has the same value in every cell: no "
            "perturbation changes anything (every model would score perfectly)",
            path=path,
            parameter="X",
        )
    return [str(g) for g in gene_names[constant]]


@dataclass(frozen=True)
class _Labels:
    """How cells map to groups: per cell its (context, condition) group and, with
    guide-level labels, its (context, condition, guide) group."""

    conditions: list[str]  # every condition of the file, ctrl first then sorted
    contexts: list[str | None]
    cond_keys: np.ndarray  # (n_cond_groups, 2): context index, condition index
    cond_codes: np.ndarray  # per cell, row of cond_keys
    guide_keys: list[tuple[int, int, str]]  # context index, condition index, guide
    guide_codes: np.ndarray | None  # per cell, index into guide_keys
    raw_labels: dict[str, list[str]]


def _canonical(
    uniques: np.ndarray, path: str, pert_col: str, control_labels: str | Iterable[str], sep: str
) -> list[str]:
    out = []
    for raw in uniques:
        try:
            out.append(normalise_condition(str(raw), control_labels=control_labels, sep=sep))
        except DataError as err:
            raise DataError(err.problem, path=path, parameter=f"obs['{pert_col}']") from None
    return out


def _label_groups(
    labels: np.ndarray,
    path: str,
    pert_col: str,
    control_labels: str | Iterable[str],
    sep: str,
    *,
    guide_pattern: str | None = None,
    guides: np.ndarray | None = None,
    contexts: np.ndarray | None = None,
) -> _Labels:
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    uniques = np.asarray([str(u) for u in uniques], dtype=object)
    gene_labels = uniques
    if guide_pattern is not None:
        from grapekg.perturb.guides import compile_pattern, strip_guides

        gene_labels = np.asarray(
            strip_guides(
                list(uniques),
                compile_pattern(guide_pattern),
                control_labels=control_labels,
                sep=sep,
                path=path,
                column=pert_col,
            ),
            dtype=object,
        )
    canonical = _canonical(gene_labels, path, pert_col, control_labels, sep)
    conditions = sorted(set(canonical), key=lambda c: (c != CONTROL, c))
    position = {c: i for i, c in enumerate(conditions)}
    label_cond = np.array([position[c] for c in canonical], dtype=np.int64)
    cond = label_cond[inverse]
    raw_labels: dict[str, list[str]] = {c: [] for c in conditions}
    for raw, canon in zip(uniques, canonical, strict=True):
        raw_labels[canon].append(str(raw))
    if contexts is None:
        ctx_names: list[str | None] = [None]
        ctx = np.zeros(cond.shape[0], dtype=np.int64)
    else:
        ctx_u, ctx = np.unique(contexts.astype(str), return_inverse=True)
        ctx_names = [str(c) for c in ctx_u]
    n_cond = len(conditions)
    cond_keys, cond_codes = np.unique(ctx * n_cond + cond, return_inverse=True)
    cond_keys = np.stack([cond_keys // n_cond, cond_keys % n_cond], axis=1)
    guide_keys: list[tuple[int, int, str]] = []
    guide_codes = None
    if guide_pattern is not None or guides is not None:
        if guides is None:
            g_names, g = uniques, inverse
        else:
            g_u, g = np.unique(guides.astype(str), return_inverse=True)
            g_names = np.asarray([str(u) for u in g_u], dtype=object)
        n_g = len(g_names)
        keys, guide_codes = np.unique((ctx * n_cond + cond) * n_g + g, return_inverse=True)
        guide_keys = [
            (int(k // (n_cond * n_g)), int(k // n_g % n_cond), str(g_names[k % n_g])) for k in keys
        ]
    return _Labels(
        conditions,
        ctx_names,
        cond_keys,
        np.asarray(cond_codes, dtype=np.int64).ravel(),
        guide_keys,
        None if guide_codes is None else np.asarray(guide_codes, dtype=np.int64).ravel(),
        raw_labels,
    )


def _validate_conditions(
    conditions: list[str],
    n: np.ndarray,
    raw_labels: dict[str, list[str]],
    path: str,
    pert_col: str,
    control_labels: str | Iterable[str],
    min_cells: int,
    context: str | None = None,
    context_col: str | None = None,
) -> None:
    where = f"obs['{pert_col}']"
    if context is not None:
        where += f" in context {context_col}='{shorten(context)}'"
    if CONTROL not in conditions:
        seen = [shorten(r, 40) for c in conditions for r in raw_labels.get(c, [c])][:5]
        labels = [control_labels] if isinstance(control_labels, str) else list(control_labels)
        wanted = ", ".join(shorten(x, 40) for x in sorted({*labels, CONTROL}))
        raise DataError(
            f"no control cells: no label matches {wanted} "
            f"(first labels seen: {', '.join(seen)}); pass --control LABEL",
            path=path,
            parameter=where,
        )
    if context is not None and len(conditions) - 1 < 2:
        raise DataError(
            f"has {len(conditions) - 1} perturbation condition(s); a context needs at least 2",
            path=path,
            parameter=where,
        )
    small = [(c, int(k)) for c, k in zip(conditions, n, strict=True) if k < min_cells]
    if small:
        listed = ", ".join(f"{shorten(c, 40)} ({k})" for c, k in small[:5])
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        raise DataError(
            f"{len(small)} condition(s) have fewer than min_cells={min_cells} "
            f"cells: {listed}{more}; drop them or lower min_cells",
            path=path,
            parameter=where,
        )


def _check_counts(acc: _Accumulator, path: str, count_max: float) -> None:
    if acc.all_integer and acc.max > count_max:
        raise DataError(
            f"values look like raw counts (every value an integer, max {acc.max:g} > "
            f"{count_max:g}); expected log-normalised data: pass --normalise "
            "(normalize_total then log1p on the fly)",
            path=path,
            parameter="X",
        )
    if acc.min < 0:
        log.warning(
            "%s: X has negative values (min %.3g); expected log-normalised data >= 0", path, acc.min
        )


def _finish(
    acc: _Accumulator,
    conditions: list[str],
    gene_ids: np.ndarray,
    gene_names: np.ndarray,
    path: str,
    raw_labels: dict[str, list[str]],
    context: str | None = None,
    guide_keys: list[tuple[str, str]] | None = None,
    guide_acc: _Accumulator | None = None,
) -> ConditionSummary:
    n = acc.n.astype(np.float64)[:, None]
    mean = acc.sum / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (acc.sumsq - n * mean * mean) / (n - 1)  # type: ignore[operator]
    var = np.where(n > 1, np.maximum(var, 0.0), np.nan)
    guide_n = guide_mean = None
    if guide_acc is not None:
        guide_n = guide_acc.n.copy()
        guide_mean = guide_acc.sum / np.maximum(guide_n, 1).astype(np.float64)[:, None]
    return ConditionSummary(
        conditions=conditions,
        gene_ids=gene_ids,
        gene_names=gene_names,
        n_cells=acc.n,
        mean=mean,
        var=var,
        frac_nonzero=acc.nnz / n,  # type: ignore[operator]
        source=path,
        raw_labels={c: raw_labels[c] for c in conditions},
        context=context,
        guide_keys=list(guide_keys or []),
        guide_n=guide_n,
        guide_mean=guide_mean,
    )


def _check_genes(gene_ids: np.ndarray, gene_names: np.ndarray, path: str, column: str) -> None:
    """No genes, or duplicated gene names, are errors (the rule: every measured gene is one
    named column of X, so a name must be unique; de-duplicate upstream, e.g. with
    ``AnnData.var_names_make_unique()``, or choose another --gene-name-col)."""
    if gene_ids.shape[0] == 0:
        raise DataError("X has 0 genes (empty var)", path=path, parameter="var")
    for values, what in ((gene_ids, "var index"), (gene_names, f"var['{column}']")):
        names = pd.Index(values)
        if names.has_duplicates:
            dup = names[names.duplicated()].unique()
            listed = ", ".join(shorten(d, 30) for d in dup[:5])
            more = f" and {len(dup) - 5} more" if len(dup) > 5 else ""
            raise DataError(
                f"{len(dup)} duplicated gene name(s): {listed}{more}; make them unique "
                "(AnnData.var_names_make_unique()) or pass another --gene-name-col",
                path=path,
                parameter=what,
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
    *,
    guide_pattern: str | None = None,
    guides: np.ndarray | None = None,
    contexts: np.ndarray | None = None,
    context_col: str | None = None,
) -> dict[str | None, ConditionSummary]:
    for what, col, values in (
        (pert_col, pert_col, labels),
        ("guide", "--guide-col", guides),
        ("context", context_col, contexts),
    ):
        if values is not None and values.shape[0] != n_rows:
            raise DataError(
                f"has {values.shape[0]} labels for {n_rows} cells",
                path=path,
                parameter=f"obs['{col or what}']",
            )
    if n_rows == 0:
        raise DataError("X has 0 cells", path=path, parameter="X")
    lab = _label_groups(
        labels,
        path,
        pert_col,
        control_labels,
        sep,
        guide_pattern=guide_pattern,
        guides=guides,
        contexts=contexts,
    )
    acc = _Accumulator(lab.cond_keys.shape[0], gene_ids.shape[0])
    gacc = (
        _Accumulator(len(lab.guide_keys), gene_ids.shape[0], sums_only=True)
        if lab.guide_codes is not None
        else None
    )
    with counter(progress, f"summarising {Path(path).name}", n_rows) as advance:
        for start, block in chunks:
            rows = block.shape[0]  # type: ignore[attr-defined]
            _check_finite(block, start, path)
            if normalise:
                block = normalise_log1p(block)
            acc.add(block, lab.cond_codes[start : start + rows])  # type: ignore[arg-type]
            if gacc is not None:
                gacc.add(block, lab.guide_codes[start : start + rows])  # type: ignore[arg-type,index]
            advance(rows)
    out: dict[str | None, ConditionSummary] = {}
    for k, context in enumerate(lab.contexts):
        rows = np.flatnonzero(lab.cond_keys[:, 0] == k)
        conditions = [lab.conditions[int(c)] for c in lab.cond_keys[rows, 1]]
        sub = acc.take(rows)
        _validate_conditions(
            conditions,
            sub.n,
            lab.raw_labels,
            path,
            pert_col,
            control_labels,
            min_cells,
            context,
            context_col,
        )
        gsub, gkeys = None, None
        if gacc is not None:
            grows = np.array(
                [i for i, key in enumerate(lab.guide_keys) if key[0] == k], dtype=np.int64
            )
            gsub = gacc.take(grows)
            gkeys = [(lab.conditions[lab.guide_keys[i][1]], lab.guide_keys[i][2]) for i in grows]
        out[context] = (sub, conditions, gkeys, gsub)  # type: ignore[assignment]
    _check_counts(acc, path, count_max)
    constant = _check_degenerate(acc, gene_names, path)
    if constant:
        log.info("%s: %d genes are constant in every cell", path, len(constant))
    return {
        ctx: dataclasses.replace(
            _finish(sub, conds, gene_ids, gene_names, path, lab.raw_labels, ctx, gkeys, gsub),
            constant_genes=constant,
        )
        for ctx, (sub, conds, gkeys, gsub) in out.items()  # type: ignore[misc]
    }


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


def _gene_names(var: pd.DataFrame, gene_name_col: str | None, path: str) -> np.ndarray:
    """Symbols: ``var[gene_name_col]``; by default (None) ``var['gene_name']`` when present,
    else the var index. A named column that is absent is an error, never a fall-back."""
    if gene_name_col is None:
        names = var["gene_name"] if "gene_name" in var.columns else var.index
    elif gene_name_col in var.columns:
        names = var[gene_name_col]
    else:
        cols = ", ".join(shorten(c, 40) for c in var.columns) or "none (symbols in the index)"
        raise DataError(
            f"--gene-name-col '{shorten(gene_name_col)}' is not a var column; var has: {cols}",
            path=path,
            parameter="var",
        )
    return np.asarray(pd.Index(names).astype(str), dtype=object)


def summarise_h5ad_contexts(
    path: str | PathLike[str],
    *,
    pert_col: str = "condition",
    control_labels: str | Sequence[str] = CONTROL,
    sep: str = "+",
    gene_name_col: str | None = None,
    min_cells: int = 2,
    count_max: float = COUNT_MAX,
    progress: Progress | None = None,
    normalise: bool = False,
    guide_pattern: str | None = None,
    guide_col: str | None = None,
    context_col: str | None = None,
) -> dict[str | None, ConditionSummary]:
    """Stream an .h5ad file ONCE and return per context (key None without ``context_col``)
    the per-condition mean, variance, n and fraction non-zero of its cells.

    Reads ``obs`` columns and ``var`` only, then X in row chunks (dense or CSR) with h5py;
    formulas in the module docstring, accumulated per (context, condition) group (and, with
    guide-level labels, per (context, condition, guide) sums for the guides' mean profiles).
    Condition labels are normalised with
    :func:`~grapekg.perturb.conditions.normalise_condition`; ``guide_pattern`` (a regex
    removed from each gene token, :func:`~grapekg.perturb.guides.strip_guides`) or
    ``guide_col`` (an obs column of guide ids beside the gene-level ``pert_col``) make the
    labels guide-level. ``progress`` counts the cells read (:mod:`~grapekg.perturb.progress`).

    Raises:
        DataError: missing file / obs column / --gene-name-col, 0 genes or cells,
            duplicated gene names, no control cells (per context), a context with fewer than
            2 perturbation conditions, a condition with fewer than ``min_cells`` cells, NaN/inf
            in X, or raw counts: every value an integer and max > ``count_max`` (pass
            ``normalise=True`` to apply :func:`normalise_log1p` to every chunk).
        ConfigError: a ``guide_pattern`` that does not compile.
    """
    where = str(path)
    if not Path(where).is_file():
        raise DataError("file not found", path=where)
    if guide_pattern is not None and guide_col is not None:
        from grapekg.errors import ConfigError

        raise ConfigError("--guide-pattern and --guide-col exclude each other: pass one")
    from anndata.io import read_elem

    try:
        h5 = h5py.File(where, "r")
    except OSError as exc:  # text, CSV, a truncated file: HDF5's "file signature not found"
        raise DataError(f"not an HDF5/h5ad file ({_h5_reason(exc)})", path=where) from None
    try:
        with h5 as f:
            return _summarise_file(
                f,
                where,
                read_elem,
                pert_col=pert_col,
                control_labels=control_labels,
                sep=sep,
                gene_name_col=gene_name_col,
                min_cells=min_cells,
                count_max=count_max,
                progress=progress,
                normalise=normalise,
                guide_pattern=guide_pattern,
                guide_col=guide_col,
                context_col=context_col,
            )
    except (GrapeError, MemoryError, KeyboardInterrupt):  # our own one-line errors pass as they are
        raise
    except OSError as exc:  # a file cut short after its header: a read fails part-way
        raise DataError(f"not a readable HDF5/h5ad file ({_h5_reason(exc)})", path=where) from exc
    except Exception as exc:  # noqa: BLE001  a damaged file: HDF5 and anndata fail in many ways
        # (KeyError, RuntimeError, anndata's IORegistryError, ...); the chain stays for -v
        raise DataError(
            f"not a readable HDF5/h5ad file ({type(exc).__name__}: {_h5_reason(exc)})", path=where
        ) from exc


def _h5_reason(exc: OSError) -> str:
    """HDF5's reason, short: the last parenthesised part of h5py's message
    (``Unable to synchronously open file (file signature not found)``)."""
    text = str(exc)
    found = re.findall(r"\(([^()]+)\)", text)
    return shorten(found[-1] if found else text, 120)


def _summarise_file(
    f: h5py.File,
    where: str,
    read_elem: object,
    *,
    pert_col: str,
    control_labels: str | Sequence[str],
    sep: str,
    gene_name_col: str | None,
    min_cells: int,
    count_max: float,
    progress: Progress | None,
    normalise: bool,
    guide_pattern: str | None,
    guide_col: str | None,
    context_col: str | None,
) -> dict[str | None, ConditionSummary]:
    """:func:`summarise_h5ad_contexts` of an open file."""
    if "obs" not in f or "X" not in f:
        raise DataError("not an AnnData .h5ad file (no obs or X)", path=where)
    columns = _obs_columns(f["obs"])
    cols: dict[str, np.ndarray | None] = {}
    for key, col in (("pert", pert_col), ("guide", guide_col), ("context", context_col)):
        if col is None:
            cols[key] = None
            continue
        if col not in f["obs"] or col in ("_index",):
            raise DataError(
                f"column not found; obs has {', '.join(shorten(c, 40) for c in columns)}",
                path=where,
                parameter=f"obs['{shorten(col)}']",
            )
        cols[key] = _read_column(f["obs"], col)
    var = read_elem(f["var"])  # type: ignore[operator]
    gene_ids = np.asarray([str(v) for v in var.index], dtype=object)
    gene_names = _gene_names(var, gene_name_col, where)
    _check_genes(gene_ids, gene_names, where, gene_name_col or "gene_name")
    x = f["X"]
    n_rows = int(x.shape[0]) if isinstance(x, h5py.Dataset) else int(x.attrs["shape"][0])
    return _summarise(
        _iter_h5_chunks(x, where),
        n_rows,
        cols["pert"],  # type: ignore[arg-type]
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
        guide_pattern=guide_pattern,
        guides=cols["guide"],
        contexts=cols["context"],
        context_col=context_col,
    )


def summarise_h5ad(
    path: str | PathLike[str],
    *,
    pert_col: str = "condition",
    control_labels: str | Sequence[str] = CONTROL,
    sep: str = "+",
    gene_name_col: str | None = None,
    min_cells: int = 2,
    count_max: float = COUNT_MAX,
    progress: Progress | None = None,
    normalise: bool = False,
    guide_pattern: str | None = None,
    guide_col: str | None = None,
) -> ConditionSummary:
    """:func:`summarise_h5ad_contexts` of a file without contexts: its one summary."""
    return summarise_h5ad_contexts(
        path,
        pert_col=pert_col,
        control_labels=control_labels,
        sep=sep,
        gene_name_col=gene_name_col,
        min_cells=min_cells,
        count_max=count_max,
        progress=progress,
        normalise=normalise,
        guide_pattern=guide_pattern,
        guide_col=guide_col,
    )[None]


def summarise_adata(
    adata: object,
    *,
    pert_col: str = "condition",
    control_labels: str | Sequence[str] = CONTROL,
    sep: str = "+",
    gene_name_col: str | None = None,
    min_cells: int = 2,
    count_max: float = COUNT_MAX,
) -> ConditionSummary:
    """Same as :func:`summarise_h5ad` for an in-memory AnnData (chunks of ``adata.X``)."""
    obs, var = adata.obs, adata.var  # type: ignore[attr-defined]
    where = "<memory>"
    if pert_col not in obs.columns:
        raise DataError(
            f"column not found; obs has {', '.join(str(c) for c in obs.columns)}",
            path=where,
            parameter=f"obs['{pert_col}']",
        )
    gene_ids = np.asarray([str(v) for v in var.index], dtype=object)
    gene_names = _gene_names(var, gene_name_col, where)
    _check_genes(gene_ids, gene_names, where, gene_name_col or "gene_name")
    x = adata.X  # type: ignore[attr-defined]
    return _summarise(
        _iter_memory_chunks(x),
        x.shape[0],
        np.asarray(obs[pert_col].astype(str), dtype=object),
        gene_ids,
        gene_names,
        where,
        pert_col,
        control_labels,
        sep,
        min_cells,
        count_max,
        None,
    )[None]
