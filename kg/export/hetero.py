"""The typed heterogeneous gene graph of GRAPE (Definition 1: node types c-gene / nc-gene,
edge types r_cc, r_cn, r_nn; undirected).

Node types and relations come from ``gene_relations`` of ``kg/schema.yaml``
(:meth:`~grapekg.kg.schema.Schema.gene_edge_types`); with the shipped schema, as PyG
``(src, rel, dst)`` triples::

    ('c', 'cc', 'c')        both directions of every c-c edge
    ('c', 'cn', 'nc')       every c-nc edge, from the c end
    ('nc', 'rev_cn', 'c')   the same edges reversed
    ('nc', 'nn', 'nc')      both directions of every nc-nc edge

Each relation has ``src``/``dst`` (indices within the node type), ``weight`` and ``kind`` (an
index into :attr:`HeteroGraph.kind_names`). The same pair may appear once per kind; within a
kind duplicates are merged keeping the largest weight; self-loops are dropped. Directed
source edges (GO top-k choices, predicted regulation) become undirected, as in the paper.
Node indices are contiguous per type, in Ensembl-id order; ``node_ids`` maps them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grapekg.kg.export.tables import EdgeTable, NodeTable
from grapekg.kg.schema import Schema, load_default

NODE_TYPES: tuple[str, ...] = load_default().gene_node_types()
RELATIONS: tuple[tuple[str, str, str], ...] = load_default().gene_edge_types()


@dataclass
class EdgeSet:
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return int(self.src.shape[0])


@dataclass
class HeteroGraph:
    """Format-neutral export: per-type ids/features, per-relation edges, provenance."""

    node_ids: dict[str, list[str]]
    symbols: dict[str, list[str | None]]
    x: dict[str, np.ndarray | None]
    has_x: dict[str, np.ndarray]
    edges: dict[tuple[str, str, str], EdgeSet]
    kind_names: list[str]
    snapshot_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def num_nodes(self, ntype: str) -> int:
        return len(self.node_ids[ntype])

    def counts(self) -> dict[str, Any]:
        per_kind: dict[str, dict[str, int]] = {}
        for rel, es in self.edges.items():
            codes, n = np.unique(es.kind, return_counts=True)
            per_kind["__".join(rel)] = {
                self.kind_names[c]: int(k) for c, k in zip(codes, n, strict=True)
            }
        return {
            "nodes": {t: self.num_nodes(t) for t in NODE_TYPES},
            "edges": {"__".join(r): len(e) for r, e in self.edges.items()},
            "edges_by_kind": per_kind,
        }


def _features(x: list[list[float] | None]) -> tuple[np.ndarray | None, np.ndarray]:
    has = np.array([v is not None for v in x], dtype=bool)
    dims = {len(v) for v in x if v is not None}
    if not dims:
        return None, has
    if len(dims) > 1:
        from grapekg.errors import InputError

        raise InputError(
            "Gene feature property", f"feature vectors of different lengths {sorted(dims)}"
        )
    d = dims.pop()
    out = np.zeros((len(x), d), dtype=np.float32)
    for i, v in enumerate(x):
        if v is not None:
            out[i] = v
    return out, has


def _dedupe(src: np.ndarray, dst: np.ndarray, w: np.ndarray, k: np.ndarray) -> EdgeSet:
    """Merge duplicates (src, dst, kind) keeping the largest weight; sort by (src, dst, kind)."""
    if src.size == 0:
        return EdgeSet(
            src.astype(np.int64), dst.astype(np.int64), w.astype(np.float32), k.astype(np.int16)
        )
    order = np.lexsort((-w, k, dst, src))
    src, dst, w, k = src[order], dst[order], w[order], k[order]
    keep = np.ones(src.size, dtype=bool)
    keep[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1]) | (k[1:] != k[:-1])
    return EdgeSet(
        src[keep].astype(np.int64),
        dst[keep].astype(np.int64),
        w[keep].astype(np.float32),
        k[keep].astype(np.int16),
    )


def build_hetero(
    nodes: NodeTable, table: EdgeTable, kinds: list[str], schema: Schema | None = None
) -> HeteroGraph:
    """Split genes by biotype class and edges into the typed relations of the schema: a
    relation within a class holds both directions of its edges; one across classes holds them
    from its source class, and its reverse ``rev_<rel>`` the same edges reversed."""
    schema = schema or load_default()
    types = schema.gene_node_types()
    code = {t: i for i, t in enumerate(types)}
    cls = np.array([code.get(c, -1) for c in nodes.classes], dtype=np.int64)
    local = np.zeros(len(nodes.ids), dtype=np.int64)
    node_ids, symbols, xs, has = {}, {}, {}, {}
    for t, i in code.items():
        idx = np.flatnonzero(cls == i)
        local[idx] = np.arange(idx.size)
        node_ids[t] = [nodes.ids[j] for j in idx]
        symbols[t] = [nodes.symbols[j] for j in idx]
        xs[t], has[t] = _features([nodes.x[j] for j in idx])
    s, d, w, k = table.src, table.dst, table.weight, table.kind
    keep = s != d
    s, d, w, k = s[keep], d[keep], w[keep], k[keep]
    sc, dc = cls[s], cls[d]
    edges: dict[tuple[str, str, str], EdgeSet] = {}
    for a, rel, b in schema.gene_relations:
        ca, cb = code[a], code[b]
        if a == b:
            m = (sc == ca) & (dc == ca)
            edges[(a, rel, a)] = _dedupe(
                np.r_[local[s[m]], local[d[m]]],
                np.r_[local[d[m]], local[s[m]]],
                np.r_[w[m], w[m]],
                np.r_[k[m], k[m]],
            )
            continue
        m = ((sc == ca) & (dc == cb)) | ((sc == cb) & (dc == ca))
        a_end = np.where(sc[m] == ca, s[m], d[m])
        b_end = np.where(sc[m] == ca, d[m], s[m])
        edges[(a, rel, b)] = _dedupe(local[a_end], local[b_end], w[m], k[m])
        edges[(b, f"rev_{rel}", a)] = _dedupe(local[b_end], local[a_end], w[m], k[m])
    return HeteroGraph(node_ids, symbols, xs, has, edges, list(kinds))
