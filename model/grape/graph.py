"""The model's input graph: genes, biotype classes, modality features and prior edges.

Definition 1 of the paper: an undirected heterogeneous graph with node types
T = {c-gene, nc-gene} and edge types {r_cc, r_cn, r_nn}. In PyG terms node types are
``'c'`` and ``'nc'``; the edge types are *data*: they come with the graph (the exporter's
``HeteroData``, or a list given to :meth:`GeneGraph.from_gene_table`), one per ordered pair
of node types, e.g. for the relations cc, cn, nn

* ``('c', 'cc', 'c')``, ``('nc', 'nn', 'nc')``: within one class (stored in both directions);
* ``('c', 'cn', 'nc')`` and its reverse ``('nc', 'rev_cn', 'c')``
  (:func:`directed_edge_types` adds the reverses, PyG's ``rev_`` naming).

They are kept in one canonical order, sorted by (source type, destination type), which is
the order the HGAT's per-relation convolutions are created in.

Genes also have one *global* index 0..N-1: coding genes first (in their ``HeteroData``
order), then non-coding ones. Feature matrices are in global order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

__all__ = [
    "NODE_TYPES",
    "EdgeType",
    "GeneGraph",
    "canonical_edge_types",
    "directed_edge_types",
    "synthetic_features",
]

NODE_TYPES = ("c", "nc")
EdgeType = tuple[str, str, str]


def canonical_edge_types(edge_types: Iterable[Sequence[str]]) -> tuple[EdgeType, ...]:
    """Edge types between ``'c'``/``'nc'`` genes in canonical order, checked: exactly one
    per ordered pair of node types that occurs (ValueError otherwise)."""
    out: dict[tuple[str, str], EdgeType] = {}
    for et in edge_types:
        src, rel, dst = (str(x) for x in et)
        if src not in NODE_TYPES or dst not in NODE_TYPES:
            raise ValueError(f"edge type {(src, rel, dst)} is not between {NODE_TYPES} genes")
        if (src, dst) in out and out[(src, dst)][1] != rel:
            raise ValueError(
                f"two edge types from {src!r} to {dst!r}: {out[(src, dst)][1]!r}, {rel!r}"
            )
        out[(src, dst)] = (src, rel, dst)
    order = {t: i for i, t in enumerate(NODE_TYPES)}
    return tuple(sorted(out.values(), key=lambda et: (order[et[0]], order[et[2]], et[1])))


def directed_edge_types(relations: Iterable[Sequence[str]]) -> tuple[EdgeType, ...]:
    """The directed edge types of undirected relations ``(src type, name, dst type)``: a
    relation within one type is its own reverse, one across types gets ``('dst', 'rev_name',
    'src')`` beside it."""
    out: list[EdgeType] = []
    for src, rel, dst in relations:
        out.append((src, rel, dst))
        if src != dst:
            out.append((dst, f"rev_{rel}", src))
    return canonical_edge_types(out)


def _gene_edge_types(data: HeteroData) -> list[EdgeType]:
    """The edge types of ``data`` between gene node types (others are not the model's)."""
    return [et for et in data.edge_types if et[0] in NODE_TYPES and et[2] in NODE_TYPES]


@dataclass
class GeneGraph:
    """Genes of the model, their modality features and prior edges.

    Attributes:
        gene_ids: Ensembl ids, global order (coding genes first).
        symbols: gene symbols, global order.
        biotype: ``'c'`` or ``'nc'`` per gene.
        text: text-description features ``[N, d_text]`` or None.
        dna: DNA features ``[N, d_dna]`` or None (rows without sequence are ignored).
        dna_mask: bool ``[N]``, True where the gene has a DNA feature (None: all present).
        prior: ``HeteroData`` with node types ``'c'``/``'nc'`` and its edge types (local
            indices per node type).
        edge_types: the graph's edge types (canonical order); empty = those of ``prior``.
        aliases: other names of genes (a dataset's own labels, e.g. a previous symbol) ->
            gene id; they take precedence over symbols in :meth:`index_of`.
    """

    gene_ids: list[str]
    symbols: list[str]
    biotype: list[str]
    text: Tensor | None = None
    dna: Tensor | None = None
    dna_mask: Tensor | None = None
    prior: HeteroData = field(default_factory=HeteroData)
    edge_types: tuple[EdgeType, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.gene_ids)
        if len(self.symbols) != n or len(self.biotype) != n:
            raise ValueError("gene_ids, symbols and biotype must have the same length")
        bad = sorted(set(self.biotype) - set(NODE_TYPES))
        if bad:
            raise ValueError(f"biotype values must be 'c' or 'nc', got {bad[:5]}")
        cls = np.asarray(self.biotype)
        if n and not np.all(cls[:-1] <= cls[1:]):  # 'c' < 'nc'
            raise ValueError("genes must be ordered coding ('c') first, then 'nc'")
        for name in ("text", "dna"):
            value = getattr(self, name)
            if value is not None and value.shape[0] != n:
                raise ValueError(f"{name} has {value.shape[0]} rows for {n} genes")
        if self.dna is not None and self.dna_mask is None:
            self.dna_mask = torch.ones(n, dtype=torch.bool)
        self._index = {g: i for i, g in enumerate(self.gene_ids)}
        self._index.update({s: i for i, s in enumerate(self.symbols)})
        ids = {g: i for i, g in enumerate(self.gene_ids)}
        self.aliases = {str(a): str(g) for a, g in self.aliases.items() if g in ids}
        self._index.update({a: ids[g] for a, g in self.aliases.items()})
        self.edge_types = canonical_edge_types(self.edge_types or _gene_edge_types(self.prior))

    # -- index maps ---------------------------------------------------------------------
    @property
    def num_genes(self) -> int:
        return len(self.gene_ids)

    @property
    def num_coding(self) -> int:
        return sum(1 for b in self.biotype if b == "c")

    def type_nodes(self, node_type: str) -> Tensor:
        """Global indices of the genes of one node type (``'c'`` or ``'nc'``)."""
        nc = self.num_coding
        lo, hi = (0, nc) if node_type == "c" else (nc, self.num_genes)
        return torch.arange(lo, hi)

    def __contains__(self, gene: object) -> bool:
        return gene in self._index

    def index_of(self, gene: str) -> int:
        """Global index of a gene given by symbol or Ensembl id (KeyError if absent)."""
        try:
            return self._index[gene]
        except KeyError:
            raise KeyError(f"gene {gene!r} is not in the graph") from None

    def indices(self, genes: Sequence[str]) -> list[int]:
        return [self.index_of(g) for g in genes]

    def relation_name(self, a: str, b: str) -> str:
        """The relation between node types ``a`` and ``b`` in either order (``'c'``,
        ``'nc'``): the name of the edge type from the first of them in :data:`NODE_TYPES`
        order to the other, e.g. ``'cn'`` for ``{'c', 'nc'}`` (KeyError if there is none)."""
        src, dst = sorted((a, b), key=NODE_TYPES.index)
        for et in self.edge_types:
            if et[0] == src and et[2] == dst:
                return et[1]
        raise KeyError(f"the graph has no edge type from {src!r} to {dst!r}")

    def prior_edges_global(self) -> dict[EdgeType, Tensor]:
        """Prior edges per edge type in global indices (``[2, E]`` each, possibly empty)."""
        offset = {"c": 0, "nc": self.num_coding}
        out = {}
        for et in self.edge_types:
            src, _, dst = et
            if et in self.prior.edge_types:
                ei = self.prior[et].edge_index.long()
                ei = torch.stack([ei[0] + offset[src], ei[1] + offset[dst]])
            else:
                ei = torch.empty(2, 0, dtype=torch.long)
            out[et] = ei
        return out

    def prior_edge_index(self) -> Tensor:
        """All prior edges as one global ``[2, E]`` tensor, made undirected, no duplicates."""
        ei = torch.cat(list(self.prior_edges_global().values()), dim=1)
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        ei = ei[:, ei[0] != ei[1]]
        if ei.numel() == 0:
            return ei
        key = torch.unique(ei[0] * self.num_genes + ei[1])
        return torch.stack([key // self.num_genes, key % self.num_genes])

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_heterodata(
        cls,
        data: HeteroData,
        *,
        text: Tensor | None = None,
        dna: Tensor | None = None,
        dna_mask: Tensor | None = None,
    ) -> GeneGraph:
        """Build from an exporter's ``HeteroData``.

        ``data[t].gene_id`` and ``data[t].symbol`` (lists of str) name the nodes of each
        type; features come from the arguments (global order: all ``'c'`` then ``'nc'``)
        or, when those are None, from ``data[t].text`` / ``data[t].dna`` /
        ``data[t].dna_mask`` where present.
        """
        ids: list[str] = []
        syms: list[str] = []
        bio: list[str] = []
        feats: dict[str, list[Tensor]] = {"text": [], "dna": [], "dna_mask": []}
        for t in NODE_TYPES:
            if t not in data.node_types:
                continue
            store = data[t]
            gid = [str(g) for g in store.gene_id]
            ids += gid
            syms += [str(s) for s in getattr(store, "symbol", gid)]
            bio += [t] * len(gid)
            for key in feats:
                if key in store:
                    feats[key].append(torch.as_tensor(store[key]))

        def stacked(key: str, given: Tensor | None) -> Tensor | None:
            if given is not None:
                return given
            parts = feats[key]
            return torch.cat(parts) if parts and sum(len(p) for p in parts) == len(ids) else None

        return cls(
            ids,
            syms,
            bio,
            stacked("text", text),
            stacked("dna", dna),
            stacked("dna_mask", dna_mask),
            data,
            tuple(_gene_edge_types(data)),
        )

    @classmethod
    def from_gene_table(
        cls,
        genes: pd.DataFrame,
        edges: pd.DataFrame | None = None,
        *,
        edge_types: Iterable[Sequence[str]],
        text: np.ndarray | None = None,
        dna: np.ndarray | None = None,
        dna_mask: np.ndarray | None = None,
        synthetic: bool = True,
        text_dim: int = 32,
        dna_dim: int = 16,
        dna_missing: float = 0.1,
        seed: int = 0,
    ) -> GeneGraph:
        """Build from a gene table (``ensembl_id``, ``symbol``, ``biotype_class``; e.g. the
        simulator's :func:`synthetic_genes`) and optional prior edges (``src``, ``dst``
        Ensembl ids; e.g. the simulator's planted edges, or a subset of them), stored in
        both directions under ``edge_types`` (directed, one per ordered pair of node types,
        e.g. from :func:`directed_edge_types`).

        Missing features are replaced by SYNTHETIC ones from :func:`synthetic_features`
        when ``synthetic`` (for tests and benchmarks only). Rows are reordered coding-first.
        """
        order = np.argsort((genes["biotype_class"].to_numpy() != "c").astype(int), kind="stable")
        table = genes.iloc[order].reset_index(drop=True)
        if synthetic and (text is None or dna is None):
            t_syn, d_syn, m_syn = synthetic_features(genes, text_dim, dna_dim, dna_missing, seed)
            text = t_syn if text is None else text
            if dna is None:
                dna, dna_mask = d_syn, m_syn
        tx = None if text is None else torch.as_tensor(np.asarray(text)[order], dtype=torch.float32)
        dn = None if dna is None else torch.as_tensor(np.asarray(dna)[order], dtype=torch.float32)
        dm = (
            None
            if dna_mask is None
            else torch.as_tensor(np.asarray(dna_mask)[order], dtype=torch.bool)
        )
        ids = table["ensembl_id"].astype(str).tolist()
        cls_ = table["biotype_class"].astype(str).tolist()
        types = canonical_edge_types(edge_types)
        by_pair = {(et[0], et[2]): et for et in types}
        data = HeteroData()
        local: dict[str, tuple[str, int]] = {}
        for t in NODE_TYPES:
            members = [g for g, b in zip(ids, cls_, strict=True) if b == t]
            data[t].gene_id = members
            data[t].symbol = table.loc[table["biotype_class"] == t, "symbol"].astype(str).tolist()
            data[t].num_nodes = len(members)
            local.update({g: (t, i) for i, g in enumerate(members)})
        pairs: dict[EdgeType, list[tuple[int, int]]] = {et: [] for et in types}
        if edges is not None:
            for s, d in zip(edges["src"].astype(str), edges["dst"].astype(str), strict=True):
                if s not in local or d not in local or s == d:
                    continue
                (ts, i), (td, j) = local[s], local[d]
                for (a, ia), (b, ib) in (((ts, i), (td, j)), ((td, j), (ts, i))):
                    if (a, b) not in by_pair:
                        raise ValueError(
                            f"edge {s} -> {d}: no edge type from {a!r} to {b!r} among {types}"
                        )
                    pairs[by_pair[(a, b)]].append((ia, ib))
        for et, lst in pairs.items():
            ei = torch.tensor(sorted(set(lst)), dtype=torch.long).reshape(-1, 2).t()
            data[et].edge_index = ei.contiguous()
        return cls(ids, table["symbol"].astype(str).tolist(), cls_, tx, dn, dm, data, types)

    def extended(
        self,
        genes: pd.DataFrame,
        *,
        text: np.ndarray | None = None,
        dna: np.ndarray | None = None,
        dna_mask: np.ndarray | None = None,
        edges: pd.DataFrame | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> GeneGraph:
        """This graph plus ``genes`` (``ensembl_id``, ``symbol``, ``biotype_class``) and
        ``edges`` (``src``, ``dst`` gene ids, stored in both directions), reordered
        coding-first; the edge types stay this graph's (an edge between node types without
        one is dropped), so a model built for this graph loads on the result. Rows of
        ``text`` / ``dna`` are the new genes' features (None: the missing-feature vector,
        zeros, with ``dna_mask`` False)."""
        n_new = len(genes)
        old = pd.DataFrame(
            {"ensembl_id": self.gene_ids, "symbol": self.symbols, "biotype_class": self.biotype}
        )
        table = pd.concat(
            [old, genes[["ensembl_id", "symbol", "biotype_class"]]], ignore_index=True
        )
        if table["ensembl_id"].duplicated().any():
            dup = table.loc[table["ensembl_id"].duplicated(), "ensembl_id"].tolist()
            raise ValueError(f"genes already in the graph: {dup[:5]}")

        def rows(have: Tensor | None, new: np.ndarray | None, width: int) -> np.ndarray | None:
            if have is None and new is None:
                return None
            base = np.zeros((self.num_genes, width), np.float32) if have is None else have.numpy()
            add = np.zeros((n_new, base.shape[1]), np.float32) if new is None else new
            return np.concatenate([base, np.asarray(add, np.float32)])

        tx = rows(self.text, text, 0 if text is None else np.asarray(text).shape[1])
        dn = rows(self.dna, dna, 0 if dna is None else np.asarray(dna).shape[1])
        dm = None
        if dn is not None:
            old_m = (
                np.ones(self.num_genes, bool)
                if self.dna_mask is None
                else self.dna_mask.numpy().astype(bool)
            )
            if dna is None:
                new_m = np.zeros(n_new, bool)
            elif dna_mask is None:
                new_m = np.ones(n_new, bool)
            else:
                new_m = np.asarray(dna_mask, bool)
            dm = np.concatenate([old_m if self.dna is not None else np.zeros_like(old_m), new_m])
        pairs = [
            (self.gene_ids[int(s)], self.gene_ids[int(d)])
            for ei in self.prior_edges_global().values()
            for s, d in ei.t().tolist()
        ]
        if edges is not None and len(edges):
            cls_of = dict(zip(table["ensembl_id"], table["biotype_class"], strict=True))
            have = {(et[0], et[2]) for et in self.edge_types}
            for s, d in zip(edges["src"].astype(str), edges["dst"].astype(str), strict=True):
                a, b = cls_of.get(s), cls_of.get(d)
                if a and b and (a, b) in have and (b, a) in have:
                    pairs.append((s, d))
        out = GeneGraph.from_gene_table(
            table,
            pd.DataFrame(pairs, columns=["src", "dst"]),
            edge_types=self.edge_types,
            text=tx,
            dna=dn,
            dna_mask=dm,
            synthetic=False,
        )
        out.aliases = {**self.aliases, **dict(aliases or {})}
        out.__post_init__()
        return out

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tensors, lists of str) loadable with ``torch.load(weights_only=True)``."""
        edges = {"__".join(et): ei for et, ei in self.prior_edges_global().items()}
        return {
            "gene_ids": self.gene_ids,
            "symbols": self.symbols,
            "biotype": self.biotype,
            "text": self.text,
            "dna": self.dna,
            "dna_mask": self.dna_mask,
            "prior_edges": edges,
            "aliases": dict(self.aliases),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GeneGraph:
        nc = sum(1 for b in d["biotype"] if b == "c")
        offset = {"c": 0, "nc": nc}
        data = HeteroData()
        for t in NODE_TYPES:
            sel = [i for i, b in enumerate(d["biotype"]) if b == t]
            data[t].gene_id = [d["gene_ids"][i] for i in sel]
            data[t].symbol = [d["symbols"][i] for i in sel]
            data[t].num_nodes = len(sel)
        types = canonical_edge_types(tuple(k.split("__")) for k in d["prior_edges"])
        for et in types:
            ei = d["prior_edges"]["__".join(et)]
            data[et].edge_index = torch.stack([ei[0] - offset[et[0]], ei[1] - offset[et[2]]])
        return cls(
            list(d["gene_ids"]),
            list(d["symbols"]),
            list(d["biotype"]),
            d["text"],
            d["dna"],
            d["dna_mask"],
            data,
            types,
            dict(d.get("aliases", {})),
        )


def synthetic_features(
    genes: pd.DataFrame,
    text_dim: int = 32,
    dna_dim: int = 16,
    dna_missing: float = 0.1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYNTHETIC text / DNA features for a gene table (tests and benchmarks only).

    text_g = normalise(A m_g + 0.5 ε_g), m_g the 0/1 membership of gene g in the table's
    ``pathways`` and ``go_terms`` (so genes sharing terms have similar "descriptions"),
    A ~ N(0, 1), ε ~ N(0, I); dna_g = normalise(B text_g + ε'_g + biotype offset), with a
    random fraction ``dna_missing`` of genes marked as having no sequence (mask False, row 0).
    Rows are L2-normalised (entries of order 1/sqrt(d), like sentence embeddings).
    """
    rng = np.random.default_rng(seed)
    n = len(genes)
    terms: dict[str, int] = {}
    rows, cols = [], []
    for col in ("pathways", "go_terms"):
        if col not in genes.columns:
            continue
        for i, values in enumerate(genes[col]):
            for t in [] if values is None else list(values):
                rows.append(i)
                cols.append(terms.setdefault(f"{col}:{t}", len(terms)))
    member = np.zeros((n, max(len(terms), 1)))
    member[rows, cols] = 1.0
    text = member @ rng.normal(size=(member.shape[1], text_dim)) + 0.5 * rng.normal(
        size=(n, text_dim)
    )
    coding = (genes["biotype_class"].to_numpy() == "c").astype(float)[:, None]
    dna = (
        text @ rng.normal(size=(text_dim, dna_dim)) / np.sqrt(text_dim)
        + rng.normal(size=(n, dna_dim))
        + coding * rng.normal(size=(1, dna_dim))
    )

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    mask = rng.random(n) >= dna_missing
    dna = unit(dna) * mask[:, None]
    return unit(text).astype(np.float32), dna.astype(np.float32), mask
