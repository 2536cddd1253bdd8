"""Neo4j-backed PyG remote backend: a ``FeatureStore`` and a ``GraphStore`` over genes.

Node types are the biotype classes ``'c'`` and ``'nc'``; node ``i`` of a type is the gene with
``biotype_class = type`` and ``idx = i`` (assign with
:func:`grapekg.kg.export.paging.assign_gene_index`). Features live on the genes as float-list
properties; ``attrs`` maps PyG attribute names to property names (``{"x": "embedding"}``).
Each batch fetch is one query, ``WHERE g.idx IN $ids`` per node type, all types together.

Edge types are the relations of :mod:`grapekg.kg.export.hetero`; edges come from the
selected kinds (as in the exporter) and are, as PyG assumes, static: each edge type's COO is
read once, page by page over ``idx`` ranges, and cached. ``put_edge_index`` therefore only
overrides that cache in memory (and ``remove_edge_index`` drops it); features written with
``put_tensor`` do go to the database.

The driver is opened lazily per process (``Store`` is created on first use from the
``connect`` callable), so the stores survive a fork into DataLoader workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import EdgeAttr, FeatureStore, GraphStore, TensorAttr
from torch_geometric.data.graph_store import EdgeLayout

from grapekg import cypher
from grapekg.errors import ConfigError
from grapekg.kg.export.hetero import NODE_TYPES, RELATIONS
from grapekg.kg.export.paging import gene_index_current, gene_index_status
from grapekg.kg.export.reader import EdgeSelection, resolve_edges
from grapekg.kg.schema import IDENT
from grapekg.kg.store import Store


class _Lazy:
    """A per-process Store made on first use by ``connect()``."""

    def __init__(self, connect: Callable[[], Store]) -> None:
        self._connect = connect
        self._store: Store | None = None
        self._pid = -1

    @property
    def store(self) -> Store:
        if self._store is None or self._pid != os.getpid():
            self._store = self._connect()
            self._pid = os.getpid()
        return self._store

    def __getstate__(self) -> dict[str, Any]:
        return {"_connect": self._connect, "_store": None, "_pid": -1}


def _as_index(index: Any, n: int) -> np.ndarray:
    if index is None:
        return np.arange(n, dtype=np.int64)
    if isinstance(index, slice):
        return np.arange(n, dtype=np.int64)[index]
    if isinstance(index, torch.Tensor):
        return index.detach().cpu().numpy().astype(np.int64).reshape(-1)
    return np.asarray(index, dtype=np.int64).reshape(-1)


class Neo4jFeatureStore(FeatureStore):
    """Gene features in Neo4j as a PyG ``FeatureStore`` (node types 'c' and 'nc')."""

    def __init__(self, connect: Callable[[], Store], attrs: dict[str, str]) -> None:
        super().__init__()
        for prop in attrs.values():
            if not IDENT.match(prop):
                raise ConfigError(f"feature property {prop!r} is not an identifier")
        self.__dict__["_db"] = _Lazy(connect)
        self.__dict__["_attrs"] = dict(attrs)
        self.__dict__["_sizes"] = {}

    @property
    def _store(self) -> Store:
        return self.__dict__["_db"].store

    def _prop(self, attr: TensorAttr) -> str:
        try:
            return self.__dict__["_attrs"][attr.attr_name]
        except KeyError:
            raise KeyError(
                f"no gene property registered for attribute {attr.attr_name!r}"
            ) from None

    def _num_nodes(self, ntype: str) -> int:
        st = gene_index_status(self._store).get(ntype)
        return int(st["genes"]) if st else 0

    # ------------------------------------------------------------------ reads
    def _get_tensor(self, attr: TensorAttr) -> torch.Tensor | None:
        return self._multi_get_tensor([attr])[0]

    def _multi_get_tensor(self, attrs: list[TensorAttr]) -> list[torch.Tensor | None]:
        reqs, idxs = [], []
        for i, attr in enumerate(attrs):
            if attr.group_name not in NODE_TYPES:
                raise KeyError(f"unknown node type {attr.group_name!r}")
            n = (
                self._num_nodes(attr.group_name)
                if attr.index is None or isinstance(attr.index, slice)
                else 0
            )
            ids = _as_index(attr.index, n)
            idxs.append(ids)
            reqs.append(
                {"key": i, "cls": attr.group_name, "prop": self._prop(attr), "ids": ids.tolist()}
            )
        rows = self._store.read(cypher.internal("stores_features"), {"requests": reqs})
        found: dict[int, dict[int, list[float] | None]] = {i: {} for i in range(len(attrs))}
        for r in rows:
            found[r["key"]][r["idx"]] = r["x"]
        out: list[torch.Tensor | None] = []
        for i, attr in enumerate(attrs):
            size = self._get_tensor_size(attr)
            if size is None:
                out.append(None)
                continue
            x = np.zeros((len(idxs[i]), size[1]), dtype=np.float32)
            for j, k in enumerate(idxs[i].tolist()):
                v = found[i].get(k)
                if v is not None:
                    x[j] = v
            out.append(torch.from_numpy(x))
        return out

    def _get_tensor_size(self, attr: TensorAttr) -> tuple[int, ...] | None:
        key = (attr.group_name, attr.attr_name)
        sizes = self.__dict__["_sizes"]
        if key not in sizes:
            rows = self._store.read(
                cypher.internal("stores_feature_dim"),
                {"cls": attr.group_name, "prop": self._prop(attr)},
            )
            sizes[key] = (self._num_nodes(attr.group_name), int(rows[0]["dim"])) if rows else None
        return sizes[key]

    def get_all_tensor_attrs(self) -> list[TensorAttr]:
        out = []
        for t in NODE_TYPES:
            for a in self.__dict__["_attrs"]:
                attr = TensorAttr(group_name=t, attr_name=a, index=None)
                if self._get_tensor_size(attr) is not None:
                    out.append(attr)
        return out

    # ------------------------------------------------------------------ writes
    def _put_tensor(self, tensor: Any, attr: TensorAttr) -> bool:
        prop = self._prop(attr)
        values = (
            tensor.detach().cpu().numpy()
            if isinstance(tensor, torch.Tensor)
            else np.asarray(tensor)
        )
        ids = _as_index(attr.index, values.shape[0])
        rows = [
            {"idx": int(i), "props": {prop: [float(v) for v in values[j]]}}
            for j, i in enumerate(ids)
        ]
        q = cypher.internal("stores_put_features")
        for s in range(0, len(rows), 5_000):
            self._store.read_write(q, {"cls": attr.group_name, "rows": rows[s : s + 5_000]})
        self.__dict__["_sizes"].pop((attr.group_name, attr.attr_name), None)
        return True

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        prop = self._prop(attr)
        rows = self._store.read_write(
            cypher.internal("stores_remove_features"),
            {"cls": attr.group_name, "prop": prop, "unset": {prop: None}},
        )
        self.__dict__["_sizes"].pop((attr.group_name, attr.attr_name), None)
        return bool(rows and rows[0]["n"])


class Neo4jGraphStore(GraphStore):
    """Typed gene-gene edges from Neo4j as a PyG ``GraphStore`` (static; COO cached)."""

    def __init__(
        self, connect: Callable[[], Store], edges: str | Sequence[str], page: int = 5_000
    ) -> None:
        super().__init__()
        self.__dict__["_db"] = _Lazy(connect)
        store = self.__dict__["_db"].store
        if not gene_index_current(store):
            raise ConfigError(
                "gene idx is missing or stale: run 'grape export index' "
                "(grapekg.kg.export.paging.assign_gene_index) first"
            )
        sel = EdgeSelection.parse(edges)
        resolve_edges(store, sel)
        self.__dict__["_sel"] = sel
        self.__dict__["_page"] = page
        self.__dict__["_n"] = {t: int(s["genes"]) for t, s in gene_index_status(store).items()}
        self.__dict__["_coo"] = {}

    @property
    def _store(self) -> Store:
        return self.__dict__["_db"].store

    def _size(self, rel: tuple[str, str, str]) -> tuple[int, int]:
        n = self.__dict__["_n"]
        return (n.get(rel[0], 0), n.get(rel[2], 0))

    def _read_coo(self, rel: tuple[str, str, str]) -> tuple[torch.Tensor, torch.Tensor]:
        sel: EdgeSelection = self.__dict__["_sel"]
        page = self.__dict__["_page"]
        q = cypher.internal("stores_edges_page")
        src: list[np.ndarray] = []
        dst: list[int] = []
        n_src = self._size(rel)[0]
        for lo in range(0, n_src, page):
            rows = self._store.read(
                q, {"cls": rel[0], "dst_cls": rel[2], "lo": lo, "hi": lo + page, **sel.params()}
            )
            for r in rows:
                src.append(np.full(len(r["dst"]), r["src"], dtype=np.int64))
                dst.extend(r["dst"])
        s = np.concatenate(src) if src else np.zeros(0, np.int64)
        d = np.asarray(dst, dtype=np.int64)
        # one edge per (src, dst) pair, sorted by destination then source
        key = np.unique(d * max(n_src, 1) + s)
        return torch.from_numpy(key % max(n_src, 1)), torch.from_numpy(key // max(n_src, 1))

    def _put_edge_index(self, edge_index: Any, edge_attr: EdgeAttr) -> bool:
        self.__dict__["_coo"][edge_attr.edge_type] = (edge_attr, edge_index)
        return True

    def _get_edge_index(self, edge_attr: EdgeAttr) -> Any:
        rel = tuple(edge_attr.edge_type)
        cache = self.__dict__["_coo"]
        if rel not in cache:
            if rel not in RELATIONS:
                return None
            attr = EdgeAttr(rel, EdgeLayout.COO, is_sorted=True, size=self._size(rel))
            cache[rel] = (attr, self._read_coo(rel))
        stored_attr, ei = cache[rel]
        if EdgeLayout(edge_attr.layout) != stored_attr.layout:
            return None
        return ei

    def _remove_edge_index(self, edge_attr: EdgeAttr) -> bool:
        return self.__dict__["_coo"].pop(tuple(edge_attr.edge_type), None) is not None

    def get_all_edge_attrs(self) -> list[EdgeAttr]:
        cache = self.__dict__["_coo"]
        return [
            cache[rel][0]
            if rel in cache
            else EdgeAttr(rel, EdgeLayout.COO, is_sorted=True, size=self._size(rel))
            for rel in RELATIONS
        ]


def neo4j_stores(
    connect: Callable[[], Store], edges: str | Sequence[str], attrs: dict[str, str]
) -> tuple[Neo4jFeatureStore, Neo4jGraphStore]:
    """``(feature_store, graph_store)`` for ``NeighborLoader(data=...)``."""
    return Neo4jFeatureStore(connect, attrs), Neo4jGraphStore(connect, edges)
