"""Differentially expressed (DE) genes per condition versus control, as GEARS defines them.

GEARS ranks genes with ``scanpy.tl.rank_genes_groups(method='t-test', reference=ctrl,
rankby_abs=True)``: a Welch t statistic per gene,

    t_pg = (m_pg − m_cg) / sqrt(v_pg / n_p + v_cg / n_c),

with m, v the per-condition mean and unbiased (ddof = 1) variance and n the cell counts
of perturbation p and control c. NaN scores (0/0) become 0 as in scanpy; a non-zero
difference over a zero denominator stays ±inf (ranked first). Genes are ranked by |t|
descending (ties broken by gene index, scanpy leaves them to argpartition). Everything is
computed from a :class:`ConditionSummary`, so no second pass over the cells is needed.

Per perturbation p (REFERENCES 1.2):

* non_zero(p)    = {g : m_pg ≠ 0}
* non_dropout(p) = non_zero(p) ∪ {g : m_pg = 0 and m_cg = 0}
* DE20 / DE40    = first 20 / 40 genes of the ranking
* top_non_dropout_de_20 / top_non_zero_de_20 = first 20 ranked genes in non_dropout(p) /
  non_zero(p)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from grapekg.perturb.conditions import CONTROL, condition_name
from grapekg.perturb.summaries import ConditionSummary

__all__ = [
    "DEGenes",
    "compute_de",
    "gears_uns",
    "non_dropout_genes",
    "non_zero_genes",
    "rank_by_abs",
    "top_in_set",
    "welch_t",
]


def welch_t(
    mean_p: np.ndarray, var_p: np.ndarray, n_p: int, mean_c: np.ndarray, var_c: np.ndarray, n_c: int
) -> np.ndarray:
    """Welch t statistic t = (m_p − m_c) / sqrt(v_p/n_p + v_c/n_c), NaN -> 0 (scanpy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean_p - mean_c) / np.sqrt(var_p / n_p + var_c / n_c)
    return np.where(np.isnan(t), 0.0, t)


def rank_by_abs(scores: np.ndarray) -> np.ndarray:
    """Gene indices ordered by |score| descending (stable: equal |score| keep gene order)."""
    return np.argsort(-np.abs(scores), kind="stable")


def non_zero_genes(mean_p: np.ndarray) -> np.ndarray:
    """Sorted indices of non_zero(p) = {g : m_pg ≠ 0}."""
    return np.flatnonzero(mean_p != 0)


def non_dropout_genes(mean_p: np.ndarray, mean_c: np.ndarray) -> np.ndarray:
    """Sorted indices of non_dropout(p) = {g : m_pg ≠ 0} ∪ {g : m_pg = 0 and m_cg = 0}."""
    return np.flatnonzero((mean_p != 0) | ((mean_p == 0) & (mean_c == 0)))


def top_in_set(ranking: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """First k entries of ``ranking`` that belong to ``allowed`` (order kept)."""
    return ranking[np.isin(ranking, allowed)][:k]


@dataclass(frozen=True)
class DEGenes:
    """DE genes per perturbation (keys: canonical condition strings; values: gene indices).

    ``ranking`` is the full |t| ranking; ``scores`` the t statistics (var order).
    """

    ranking: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    top_non_dropout_20: dict[str, np.ndarray]
    top_non_zero_20: dict[str, np.ndarray]
    non_zero: dict[str, np.ndarray]
    non_dropout: dict[str, np.ndarray]

    def top(self, condition: str, k: int = 20) -> np.ndarray:
        """DE-k of a condition: the first k genes of its ranking (DE20, DE40)."""
        return self.ranking[condition][:k]

    def top_dict(self, k: int = 20) -> dict[str, np.ndarray]:
        """Dict condition -> DE-k gene indices."""
        return {c: r[:k] for c, r in self.ranking.items()}


def compute_de(summary: ConditionSummary, *, n_top_filtered: int = 20) -> DEGenes:
    """DE rankings and GEARS's filtered top-20 lists for every perturbation of ``summary``
    (formulas in the module docstring)."""
    c = summary.index(CONTROL)
    mean_c, var_c, n_c = summary.mean[c], summary.var[c], int(summary.n_cells[c])
    fields: dict[str, dict[str, np.ndarray]] = {
        k: {}
        for k in (
            "ranking",
            "scores",
            "top_non_dropout_20",
            "top_non_zero_20",
            "non_zero",
            "non_dropout",
        )
    }
    for cond in summary.perturbations:
        i = summary.index(cond)
        t = welch_t(summary.mean[i], summary.var[i], int(summary.n_cells[i]), mean_c, var_c, n_c)
        ranking = rank_by_abs(t)
        nz = non_zero_genes(summary.mean[i])
        nd = non_dropout_genes(summary.mean[i], mean_c)
        fields["ranking"][cond] = ranking
        fields["scores"][cond] = t
        fields["non_zero"][cond] = nz
        fields["non_dropout"][cond] = nd
        fields["top_non_dropout_20"][cond] = top_in_set(ranking, nd, n_top_filtered)
        fields["top_non_zero_20"][cond] = top_in_set(ranking, nz, n_top_filtered)
    return DEGenes(**fields)


def gears_uns(
    de: DEGenes,
    gene_ids: np.ndarray,
    cell_type: str,
    condition_labels: Mapping[str, str] | None = None,
) -> dict[str, dict]:
    """The ``adata.uns`` entries GEARS writes, keyed by ``condition_name``
    (``{cell_type}_{condition}_{dose}``): ``rank_genes_groups_cov_all`` (all gene ids,
    ranked), ``top_non_dropout_de_20`` / ``top_non_zero_de_20`` (gene ids) and
    ``non_zeros_gene_idx`` / ``non_dropout_gene_idx`` (sorted gene indices).

    ``condition_labels`` maps a canonical condition to the string used in the file's
    ``obs['condition']`` (default: the canonical string itself).
    """
    ids = np.asarray(gene_ids).astype(str)
    out: dict[str, dict] = {
        k: {}
        for k in (
            "rank_genes_groups_cov_all",
            "top_non_dropout_de_20",
            "top_non_zero_de_20",
            "non_zeros_gene_idx",
            "non_dropout_gene_idx",
        )
    }
    for cond, ranking in de.ranking.items():
        label = condition_labels.get(cond, cond) if condition_labels else cond
        key = condition_name(cell_type, label)
        out["rank_genes_groups_cov_all"][key] = ids[ranking]
        out["top_non_dropout_de_20"][key] = ids[de.top_non_dropout_20[cond]]
        out["top_non_zero_de_20"][key] = ids[de.top_non_zero_20[cond]]
        out["non_zeros_gene_idx"][key] = de.non_zero[cond]
        out["non_dropout_gene_idx"][key] = de.non_dropout[cond]
    return out
