"""The graphs and the attention mask of BioDSNN, built from arrays (no database here).

- :func:`coexpression_graph`: GEARS' co-expression graph (REFERENCES 1.4; BioDSNN Algorithm 1
  step 1): Pearson r between genes over the given (training) samples, NaN -> 0, |r|; for each
  gene the ``top_k`` + 1 most correlated genes (itself included) are kept when |r| >
  ``threshold``; edge neighbour -> gene, weight |r|.
- :func:`attention_mask`: the mask's allowed (key j -> query i) pairs, Fig. 1b: gene pairs that
  share a lowest-level Reactome pathway (both directions), plus co-expression neighbours
  ("for genes not in the database, Pearson correlations ... above a certain threshold"; the
  authors' code adds the co-expression edges for every gene), plus self.
- :func:`unmasked_pairs`: the ``no_mask`` ablation. All G^2 pairs when G is at most
  ``dense_limit``; above it every gene attends to itself and ``k`` other genes drawn at random
  (seeded, fixed for the run), so memory stays O(G k) (a full G x G attention at G = 5,000 is
  what the mask exists to avoid; documented departure).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["attention_mask", "coexpression_graph", "pathway_pairs", "unmasked_pairs"]


def coexpression_graph(
    samples: np.ndarray, top_k: int = 20, threshold: float = 0.4, block: int = 1024
) -> tuple[Tensor, Tensor]:
    """(edge_index ``[2, E]`` neighbour -> gene, weight ``[E]``) from ``samples`` ``[n, G]``."""
    x = np.asarray(samples, dtype=np.float64)
    x = x - x.mean(0, keepdims=True)
    norm = np.sqrt((x * x).sum(0))
    norm[norm == 0] = np.inf  # a constant gene correlates with nothing (r = 0)
    z = (x / norm).astype(np.float32)
    g = z.shape[1]
    k = min(top_k + 1, g)
    src, dst, w = [], [], []
    for lo in range(0, g, block):
        r = np.abs(z[:, lo : lo + block].T @ z)  # [b, G]
        r[np.arange(r.shape[0]), np.arange(lo, lo + r.shape[0])] = 1.0  # self, as GEARS
        top = np.argpartition(-r, k - 1, axis=1)[:, :k]
        val = np.take_along_axis(r, top, axis=1)
        keep = val > threshold
        rows = np.repeat(np.arange(lo, lo + r.shape[0])[:, None], k, axis=1)
        src.append(top[keep])
        dst.append(rows[keep])
        w.append(val[keep])
    ei = torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)]).astype(np.int64))
    return ei, torch.from_numpy(np.concatenate(w).astype(np.float32))


def pathway_pairs(memberships: list[list[int]], num_genes: int) -> np.ndarray:
    """Unique gene pairs ``[2, P]`` (both directions, no self) sharing a set: ``memberships``
    is one list of gene indices per pathway."""
    parts = []
    for genes in memberships:
        m = np.unique(np.asarray(genes, dtype=np.int64))
        if m.shape[0] < 2:
            continue
        a, b = np.meshgrid(m, m, indexing="ij")
        off = a != b
        parts.append(a[off] * num_genes + b[off])
    if not parts:
        return np.zeros((2, 0), np.int64)
    code = np.unique(np.concatenate(parts))
    return np.stack([code // num_genes, code % num_genes])


def _unique_pairs(pairs: list[np.ndarray], num_genes: int) -> Tensor:
    code = np.unique(np.concatenate([p[0] * num_genes + p[1] for p in pairs]))
    order = np.lexsort((code // num_genes, code % num_genes))  # grouped by query (dst)
    code = code[order]
    return torch.from_numpy(np.stack([code // num_genes, code % num_genes]).astype(np.int64))


def attention_mask(pathway: np.ndarray, coexpr: Tensor, num_genes: int) -> Tensor:
    """Allowed (key, query) pairs ``[2, E]``: pathway pairs ∪ co-expression edges ∪ self."""
    self_loops = np.stack([np.arange(num_genes)] * 2)
    return _unique_pairs([np.asarray(pathway), coexpr.numpy(), self_loops], num_genes)


def unmasked_pairs(num_genes: int, dense_limit: int, k: int, seed: int = 0) -> Tensor:
    """The ``no_mask`` pairs: all when ``num_genes <= dense_limit``, else self + ``k`` random."""
    if num_genes <= dense_limit:
        a, b = np.meshgrid(np.arange(num_genes), np.arange(num_genes), indexing="ij")
        return _unique_pairs([np.stack([a.ravel(), b.ravel()])], num_genes)
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, num_genes, size=(num_genes, k))
    queries = np.repeat(np.arange(num_genes)[:, None], k, axis=1)
    self_loops = np.stack([np.arange(num_genes)] * 2)
    return _unique_pairs([np.stack([keys.ravel(), queries.ravel()]), self_loops], num_genes)
