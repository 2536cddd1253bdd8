"""File formats of a :class:`~grapekg.kg.export.hetero.HeteroGraph`; each records the
snapshot id.

- ``pyg``: a ``torch_geometric.data.HeteroData`` saved with ``torch.save`` (load with
  ``torch.load(path, weights_only=False)``): ``data[t].x`` / ``has_x`` / ``ensembl_id`` /
  ``symbol`` / ``num_nodes``; ``data[rel].edge_index`` / ``edge_weight`` / ``edge_kind``;
  ``data.snapshot_id``, ``data.kind_names``, ``data.meta`` (JSON string).
- ``dgl``: a plain dict saved with ``torch.save``, ready for
  ``dgl.heterograph(d["graph"], num_nodes_dict=d["num_nodes"])`` (DGL is not a dependency):
  ``graph`` ``{(src, rel, dst): (u, v)}``, ``num_nodes``, ``ndata`` ``{"x": {t: tensor}}``,
  ``edata`` ``{"weight": {etype: tensor}, "kind": {...}}``, ``node_ids``, ``kind_names``,
  ``snapshot_id``, ``meta``.
- ``npz``: a folder with ``graph.npz`` (arrays ``<t>__x``, ``<t>__has_x``,
  ``<src>__<rel>__<dst>__{src,dst,weight,kind}``, ``snapshot_id``), ``nodes.parquet``
  (type, index, ensembl_id, symbol), ``edges.parquet`` (one row per edge, kind by name) and
  ``meta.json``; the parquet files carry the snapshot id in their schema metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from grapekg.errors import ConfigError
from grapekg.kg.export.hetero import NODE_TYPES, EdgeSet, HeteroGraph
from grapekg.parquet import read_parquet

FORMATS = ("pyg", "dgl", "npz")


def to_pyg(g: HeteroGraph) -> Any:
    """``HeteroData`` with the four relations, weights, kinds and id maps."""
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    for t in NODE_TYPES:
        data[t].num_nodes = g.num_nodes(t)
        x = g.x[t]
        if x is not None:
            data[t].x = torch.from_numpy(x)
            data[t].has_x = torch.from_numpy(g.has_x[t])
        data[t].ensembl_id = list(g.node_ids[t])
        data[t].symbol = list(g.symbols[t])
    for rel, es in g.edges.items():
        data[rel].edge_index = torch.from_numpy(np.stack([es.src, es.dst]))
        data[rel].edge_weight = torch.from_numpy(es.weight)
        data[rel].edge_kind = torch.from_numpy(es.kind.astype(np.int64))
    data.snapshot_id = g.snapshot_id
    data.kind_names = list(g.kind_names)
    data.meta = json.dumps(g.meta, sort_keys=True, default=str)
    return data


def to_dgl_dict(g: HeteroGraph) -> dict[str, Any]:
    """The arguments of ``dgl.heterograph`` plus node/edge data and id maps, as tensors."""
    import torch

    return {
        "graph": {
            rel: (torch.from_numpy(es.src), torch.from_numpy(es.dst)) for rel, es in g.edges.items()
        },
        "num_nodes": {t: g.num_nodes(t) for t in NODE_TYPES},
        "ndata": {
            "x": {t: torch.from_numpy(g.x[t]) for t in NODE_TYPES if g.x[t] is not None},
            "has_x": {t: torch.from_numpy(g.has_x[t]) for t in NODE_TYPES},
        },
        "edata": {
            "weight": {rel: torch.from_numpy(es.weight) for rel, es in g.edges.items()},
            "kind": {
                rel: torch.from_numpy(es.kind.astype(np.int64)) for rel, es in g.edges.items()
            },
        },
        "node_ids": {t: list(g.node_ids[t]) for t in NODE_TYPES},
        "kind_names": list(g.kind_names),
        "snapshot_id": g.snapshot_id,
        "meta": json.dumps(g.meta, sort_keys=True, default=str),
    }


def save_npz(g: HeteroGraph, out: Path) -> Path:
    """Write the npz + parquet bundle into folder ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "snapshot_id": np.array(g.snapshot_id),
        "kind_names": np.array(g.kind_names, dtype=str),
    }
    for t in NODE_TYPES:
        arrays[f"{t}__has_x"] = g.has_x[t]
        if g.x[t] is not None:
            arrays[f"{t}__x"] = g.x[t]
    for rel, es in g.edges.items():
        key = "__".join(rel)
        for name in ("src", "dst", "weight", "kind"):
            arrays[f"{key}__{name}"] = getattr(es, name)
    np.savez_compressed(out / "graph.npz", **arrays)
    meta = {b"snapshot_id": g.snapshot_id.encode()}
    nodes = pa.table(
        {
            "type": [t for t in NODE_TYPES for _ in g.node_ids[t]],
            "index": np.concatenate([np.arange(g.num_nodes(t)) for t in NODE_TYPES]).astype(
                np.int64
            ),
            "ensembl_id": [i for t in NODE_TYPES for i in g.node_ids[t]],
            "symbol": [s for t in NODE_TYPES for s in g.symbols[t]],
        }
    ).replace_schema_metadata(meta)
    pq.write_table(nodes, out / "nodes.parquet")
    rels = list(g.edges.items())
    kinds = np.array(g.kind_names + [""], dtype=object)
    edges = pa.table(
        {
            "src_type": np.concatenate([np.full(len(es), r[0], dtype=object) for r, es in rels]),
            "rel": np.concatenate([np.full(len(es), r[1], dtype=object) for r, es in rels]),
            "dst_type": np.concatenate([np.full(len(es), r[2], dtype=object) for r, es in rels]),
            "src": np.concatenate([es.src for _, es in rels]),
            "dst": np.concatenate([es.dst for _, es in rels]),
            "weight": np.concatenate([es.weight for _, es in rels]),
            "kind": kinds[np.concatenate([es.kind.astype(np.int64) for _, es in rels])],
        }
    ).replace_schema_metadata(meta)
    pq.write_table(edges, out / "edges.parquet")
    (out / "meta.json").write_text(
        json.dumps(
            {"snapshot_id": g.snapshot_id, "kind_names": g.kind_names, **g.meta},
            indent=2,
            sort_keys=True,
            default=str,
        )
    )
    return out


def load_npz(folder: Path) -> HeteroGraph:
    """Read a bundle written by :func:`save_npz` back into a :class:`HeteroGraph`."""
    z = np.load(folder / "graph.npz", allow_pickle=False)
    nodes = read_parquet(folder / "nodes.parquet")
    meta = json.loads((folder / "meta.json").read_text())
    node_ids, symbols, xs, has = {}, {}, {}, {}
    for t in NODE_TYPES:
        sub = nodes[nodes["type"] == t].sort_values("index")
        node_ids[t] = sub["ensembl_id"].tolist()
        symbols[t] = sub["symbol"].tolist()
        xs[t] = z.get(f"{t}__x")
        has[t] = z[f"{t}__has_x"]
    edges = {}
    for key in {k.rsplit("__", 1)[0] for k in z.files if k.count("__") == 3}:
        rel = tuple(key.split("__"))
        edges[rel] = EdgeSet(*(z[f"{key}__{n}"] for n in ("src", "dst", "weight", "kind")))
    meta.pop("kind_names", None)
    snap = meta.pop("snapshot_id")
    return HeteroGraph(
        node_ids, symbols, xs, has, edges, [str(k) for k in z["kind_names"]], snap, meta
    )


def save(g: HeteroGraph, fmt: str, out: Path) -> Path:
    """Write ``g`` in format ``fmt`` (pyg | dgl | npz) to ``out``."""
    if fmt == "npz":
        return save_npz(g, out)
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(to_pyg(g) if fmt == "pyg" else to_dgl_dict(g), out)
    return out
