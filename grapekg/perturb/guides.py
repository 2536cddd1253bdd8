"""Guide-level perturbation labels: collapsing them to genes, and guide agreement.

A screen often labels cells by guide (``ZAP70_1``, ``ZAP70_2``) rather than by gene. Either
a regular expression whose match is removed from each gene token of a label gives the gene
(``_\\d+$``: ``ZAP70_1`` -> ``ZAP70``), or an obs column holds the guide while the
perturbation column holds the gene. Cells of one gene's guides are one condition; the
per-guide cell counts and mean profiles are kept so that guide agreement can be checked.

Guide agreement of a target p with guides g_1..g_k (k >= 2): the Pearson correlation

    r(g_i, g_j) = corr(m_{g_i} − m_ctrl, m_{g_j} − m_ctrl)   over the DE20 genes of p

of the guides' mean deltas versus control (m = mean expression over the guide's cells),
averaged over the k(k−1)/2 guide pairs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from grapekg.errors import ConfigError
from grapekg.perturb.conditions import _control_set, shorten
from grapekg.perturb.errors import DataError

__all__ = ["GuideAgreement", "compile_pattern", "guide_agreement", "strip_guides"]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a ``--guide-pattern`` (ConfigError naming the option when it does not)."""
    try:
        return re.compile(pattern)
    except re.error as err:
        raise ConfigError(
            f"--guide-pattern: {shorten(pattern)!s} does not compile: {err}"
        ) from None


def strip_guides(
    labels: Sequence[str],
    pattern: re.Pattern[str],
    *,
    control_labels: str | Iterable[str],
    sep: str,
    path: str | None = None,
    column: str = "condition",
) -> list[str]:
    """Gene-level label of each guide-level label: the pattern's match removed from each
    ``sep``-separated token; control labels stay as they are.

    Raises:
        DataError: a label that becomes an empty gene, or every (non-control) label
            collapsing onto one single gene when there were several labels.
    """
    controls = _control_set(control_labels)
    out: list[str] = []
    for raw in labels:
        raw = str(raw)
        if raw.strip().lower() in controls:
            out.append(raw)
            continue
        tokens = [pattern.sub("", t.strip()) for t in raw.split(sep)]
        if any(not t.strip() for t in tokens):
            raise DataError(
                f"--guide-pattern '{shorten(pattern.pattern)}' turns the label "
                f"'{shorten(raw)}' into an empty gene name",
                path=path,
                parameter=f"obs['{column}']",
            )
        out.append(sep.join(tokens))
    perts = [
        (r, g) for r, g in zip(labels, out, strict=True) if str(r).strip().lower() not in controls
    ]
    if len({str(r) for r, _ in perts}) > 1 and len({g for _, g in perts}) == 1:
        raw, gene = perts[0]
        raise DataError(
            f"--guide-pattern '{shorten(pattern.pattern)}' turns every label into the same "
            f"gene '{shorten(gene)}' (e.g. '{shorten(raw)}')",
            path=path,
            parameter=f"obs['{column}']",
        )
    return out


@dataclass(frozen=True)
class GuideAgreement:
    """One target's guides, their cells, and the mean pairwise Pearson r of their deltas
    on the target's DE20 genes (NaN with fewer than two guides)."""

    condition: str
    guides: list[str]
    n_cells: list[int]
    pearson: float


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else float("nan")


def guide_agreement(
    keys: Sequence[tuple[str, str]],
    n_cells: np.ndarray,
    means: np.ndarray,
    ctrl_mean: np.ndarray,
    de20: dict[str, np.ndarray],
) -> list[GuideAgreement]:
    """Guide agreement (module docstring) of every non-control condition in ``keys``
    (``(condition, guide)`` rows of ``means``), in condition order."""
    by_cond: dict[str, list[int]] = {}
    for i, (cond, _guide) in enumerate(keys):
        if cond in de20:
            by_cond.setdefault(cond, []).append(i)
    out = []
    for cond in sorted(by_cond):
        rows = by_cond[cond]
        genes = np.asarray(de20[cond][:20], dtype=np.int64)
        deltas = [means[i][genes] - ctrl_mean[genes] for i in rows]
        rs = [
            _pearson(deltas[i], deltas[j])
            for i in range(len(rows))
            for j in range(i + 1, len(rows))
        ]
        rs = [r for r in rs if np.isfinite(r)]
        out.append(
            GuideAgreement(
                condition=cond,
                guides=[str(keys[i][1]) for i in rows],
                n_cells=[int(n_cells[i]) for i in rows],
                pearson=float(np.mean(rs)) if rs else float("nan"),
            )
        )
    return out
