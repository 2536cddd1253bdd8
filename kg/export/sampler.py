"""A pure-torch uniform neighbour sampler for PyG loaders (no pyg-lib, no torch-sparse).

PyG's :class:`~torch_geometric.sampler.NeighborSampler` reads the graph into CSC once and then
delegates each mini-batch to a compiled kernel (``pyg-lib`` or ``torch-sparse``), neither of
which has a wheel for the torch this project pins. :class:`TorchNeighborSampler` subclasses it
and replaces only that step (``_sample``) with vectorised torch code, so everything else is
PyG's own: reading ``graph_store.csc()`` once from the :mod:`Neo4j stores
<grapekg.kg.export.stores>` (or an in-memory ``Data``/``HeteroData``), ``NeighborLoader``'s
batching, ``sample_from_nodes`` / ``sample_from_edges`` (so ``LinkNeighborLoader`` works too),
``subgraph_type='bidirectional'``, edge permutations, and the feature join of
``filter_custom_hetero_store`` (one ``multi_get_tensor`` call per batch)::

    fs, gs = neo4j_stores(connect, "go,reactome", {"x": "embedding"})
    sampler = TorchNeighborSampler((fs, gs), num_neighbors=[10, 5], seed=0)
    loader = NeighborLoader((fs, gs), num_neighbors=[10, 5], input_nodes="c",
                            batch_size=128, neighbor_sampler=sampler)

or :func:`neighbor_loader`, which builds both. Semantics follow pyg-lib's directional,
non-disjoint sampler: per hop and per edge type ``(src, rel, dst)``, each node of type ``dst``
added in the previous hop (the seeds at hop 1) gets up to ``k`` in-neighbours drawn uniformly
without replacement (all of them for ``k = -1``; ``k`` draws with replacement when
``replace=True``); the seeds come first in ``n_id`` in input order, then new nodes in order of
discovery; ``row``/``col`` are local indices; ``edge`` is the position in the CSC, mapped to
the original edge id by the loader; ``num_sampled_nodes``/``num_sampled_edges`` are per hop.
Neighbours kept for a node are listed in CSC order (by source index).

Randomness comes from the sampler's own ``torch.Generator``: ``seed`` (or, when ``None``, a
value drawn from torch's global RNG at construction, so ``torch.manual_seed`` governs it)
fixes every batch of every epoch; in a DataLoader worker the stream is ``seed`` mixed with the
worker id, so workers do not repeat each other. Not supported (a clear error instead):
temporal or weighted sampling, ``disjoint=True``, ``subgraph_type='induced'`` and
``sample_direction='backward'``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import remote_backend_utils
from torch_geometric.sampler import HeteroSamplerOutput, NeighborSampler, SamplerOutput
from torch_geometric.sampler.base import DataType, SubgraphType

_HOMO = "_"  # node/edge key used to run the homogeneous case through the typed code


class TorchNeighborSampler(NeighborSampler):
    """``NeighborSampler`` whose sampling step is pure torch (see the module docstring)."""

    def __init__(
        self,
        data: Any,
        num_neighbors: Any,
        *,
        seed: int | None = 0,
        subgraph_type: SubgraphType | str = "directional",
        replace: bool = False,
        disjoint: bool = False,
        is_sorted: bool = False,
        share_memory: bool = False,
        **unsupported: Any,
    ) -> None:
        for name in ("time_attr", "weight_attr"):
            if unsupported.pop(name, None) is not None:
                raise NotImplementedError(f"TorchNeighborSampler: {name} is not supported")
        if unsupported.pop("sample_direction", "forward") != "forward":
            raise NotImplementedError("TorchNeighborSampler: only sample_direction='forward'")
        if unsupported:
            raise TypeError(f"TorchNeighborSampler: unexpected argument(s) {sorted(unsupported)}")
        if disjoint:
            raise NotImplementedError("TorchNeighborSampler: disjoint=True is not supported")
        if SubgraphType(subgraph_type) == SubgraphType.induced:
            raise NotImplementedError(
                "TorchNeighborSampler: subgraph_type='induced' is not supported"
            )
        with warnings.catch_warnings():  # the "install pyg-lib" notice does not apply here
            warnings.filterwarnings("ignore", message=".*pyg-lib.*")
            super().__init__(
                data,
                num_neighbors,
                subgraph_type=subgraph_type,
                replace=replace,
                disjoint=False,
                is_sorted=is_sorted,
                share_memory=share_memory,
            )
        if self.data_type == DataType.remote and self.is_hetero:
            # PyG takes node types from the feature store only, and edge types from a set
            # (order varies with hash randomisation): take both from the graph, in a fixed order
            fs, gs = data
            self.edge_types = sorted(self.edge_types)
            types = set(self.node_types) | {t for e in self.edge_types for t in (e[0], e[2])}
            self.node_types = sorted(types)
            self.num_nodes = {t: remote_backend_utils.num_nodes(fs, gs, t) for t in self.node_types}
        self.seed = int(torch.randint(0, 2**62, (1,)).item()) if seed is None else int(seed)
        self._gen: torch.Generator | None = None
        self._gen_owner: tuple[int, int] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_gen"] = None
        state["_gen_owner"] = None
        return state

    @property
    def generator(self) -> torch.Generator:
        """The sampler's RNG, one stream per (process, DataLoader worker)."""
        info = torch.utils.data.get_worker_info()
        owner = (os.getpid(), info.id if info is not None else -1)
        if self._gen is None or self._gen_owner != owner:
            seed = self.seed if info is None else (self.seed * 1_000_003 + info.id + 1) % 2**63
            self._gen = torch.Generator().manual_seed(seed)
            self._gen_owner = owner
        return self._gen

    def _sample(
        self, seed: Tensor | dict[str, Tensor], seed_time: Any = None, **kwargs: Any
    ) -> SamplerOutput | HeteroSamplerOutput:
        if seed_time is not None or self.is_temporal:
            raise NotImplementedError("TorchNeighborSampler: temporal sampling is not supported")
        if isinstance(seed, dict):
            keys = [(self.to_rel_type[e], e[0], e[2]) for e in self.edge_types]
            res = sample_uniform(
                self.colptr_dict,
                self.row_dict,
                keys,
                list(self.node_types),
                seed,
                self.num_neighbors.get_mapped_values(self.edge_types),
                replace=self.replace,
                generator=self.generator,
                num_nodes=self.num_nodes,
            )
            node, row, col, edge, n_nodes, n_edges = res
            to_edge = self.to_edge_type
            return HeteroSamplerOutput(
                node=node,
                row={to_edge[k]: v for k, v in row.items()},
                col={to_edge[k]: v for k, v in col.items()},
                edge={to_edge[k]: v for k, v in edge.items()},
                batch=None,
                num_sampled_nodes=n_nodes,
                num_sampled_edges={to_edge[k]: v for k, v in n_edges.items()},
            )
        res = sample_uniform(
            {_HOMO: self.colptr},
            {_HOMO: self.row},
            [(_HOMO, _HOMO, _HOMO)],
            [_HOMO],
            {_HOMO: seed},
            {_HOMO: list(self.num_neighbors.get_mapped_values())},
            replace=self.replace,
            generator=self.generator,
            num_nodes={_HOMO: int(self.num_nodes)},
        )
        node, row, col, edge, n_nodes, n_edges = res
        return SamplerOutput(
            node=node[_HOMO],
            row=row[_HOMO],
            col=col[_HOMO],
            edge=edge[_HOMO],
            batch=None,
            num_sampled_nodes=n_nodes[_HOMO],
            num_sampled_edges=n_edges[_HOMO],
        )


# ---------------------------------------------------------------------------- the kernel
def _choose(
    colptr: Tensor, nodes: Tensor, k: int, replace: bool, gen: torch.Generator
) -> tuple[Tensor, Tensor]:
    """For each node (a column of the CSC), up to ``k`` in-edges chosen uniformly.

    Returns ``(pos, seg)``: edge positions in the CSC row array and, for each, the index into
    ``nodes`` of the node it was sampled for; grouped by ``seg`` in node order, in CSC order
    within a group. No sort over the candidates: nodes with at most ``k`` in-edges keep all of
    them; the others get a uniform ``k``-subset by Floyd's algorithm, vectorised over nodes."""
    start = colptr[nodes]
    deg = colptr[nodes + 1] - start
    if k < 0:
        take = deg
    elif replace:
        take = torch.where(deg > 0, torch.full_like(deg, k), torch.zeros_like(deg))
    else:
        take = torch.clamp(deg, max=k)
    seg = torch.arange(nodes.numel(), dtype=torch.long).repeat_interleave(take)
    first = torch.cumsum(take, 0) - take
    off = torch.arange(seg.numel(), dtype=torch.long) - first[seg]  # rank within the group
    if k < 0 or seg.numel() == 0:
        return start[seg] + off, seg
    pick = deg > k if not replace else deg > 0
    rows = torch.nonzero(pick).view(-1)
    if rows.numel() == 0:
        return start[seg] + off, seg
    d = deg[rows]
    chosen = torch.empty((rows.numel(), k), dtype=torch.long)
    for step in range(k):
        if replace:
            chosen[:, step] = _randint(d, gen)
            continue
        j = d - k + step  # Floyd: draw t in [0, j]; if taken already, take j itself
        t = _randint(j + 1, gen)
        if step:
            t = torch.where((chosen[:, :step] == t.unsqueeze(1)).any(1), j, t)
        chosen[:, step] = t
    chosen = torch.sort(chosen, dim=1).values
    row_of = torch.full((nodes.numel(),), -1, dtype=torch.long)
    row_of[rows] = torch.arange(rows.numel(), dtype=torch.long)
    r = row_of[seg]
    sel = r >= 0
    off[sel] = chosen[r[sel], off[sel]]
    return start[seg] + off, seg


def _randint(high: Tensor, gen: torch.Generator) -> Tensor:
    """One uniform integer in ``[0, high)`` per entry (``high`` >= 1)."""
    r = (torch.rand(high.numel(), generator=gen, dtype=torch.float64) * high).long()
    return torch.minimum(r, high - 1)  # guard against rounding up to high


#: node types with at most this many nodes use a dense id map per batch; larger ones a sort
DENSE_LIMIT = 1 << 22
_UNSEEN = -(1 << 62)


class _NodeSet:
    """Sampled nodes of one type: global ids in local order, and the global -> local map."""

    def __init__(self, seeds: Tensor, num_nodes: int | None) -> None:
        self.parts = [seeds]
        self.size = seeds.numel()
        self.map: Tensor | None = None
        if num_nodes is not None and num_nodes <= DENSE_LIMIT:
            self.map = torch.full((num_nodes,), _UNSEEN, dtype=torch.long)
            if seeds.numel():  # duplicated seeds map to their first position
                self.map[seeds] = seeds.numel()
                self.map.scatter_reduce_(0, seeds, torch.arange(seeds.numel()), reduce="amin")

    def add(self, cand: Tensor) -> tuple[Tensor, Tensor]:
        """Local ids of ``cand`` (new ones appended in order of first appearance) and the
        global ids that were new."""
        if cand.numel() == 0:
            return cand.clone(), cand.clone()
        local, added = self._add_dense(cand) if self.map is not None else self._add_sorted(cand)
        if added.numel():
            self.parts.append(added)
            self.size += added.numel()
        return local, added

    def _add_dense(self, cand: Tensor) -> tuple[Tensor, Tensor]:
        assert self.map is not None
        local = self.map[cand]
        unseen = torch.nonzero(local < 0).view(-1)
        u = cand[unseen]
        # first occurrence of each unseen id: max of -(position + 1) over its occurrences
        self.map.scatter_reduce_(0, u, -(unseen + 1), reduce="amax")
        added = u[-self.map[u] - 1 == unseen]  # in order of position
        self.map[added] = self.size + torch.arange(added.numel(), dtype=torch.long)
        local[unseen] = self.map[u]
        return local, added

    def _add_sorted(self, cand: Tensor) -> tuple[Tensor, Tensor]:
        known = torch.cat(self.parts) if len(self.parts) > 1 else self.parts[0]
        self.parts = [known]
        m = known.numel()
        both = torch.cat([known, cand])
        uniq, inv = torch.unique(both, return_inverse=True)
        n = both.numel()
        first = torch.full((uniq.numel(),), n, dtype=torch.long)
        first.scatter_reduce_(0, inv, torch.arange(n, dtype=torch.long), reduce="amin")
        local = first.clone()  # known ids: their first position is their local id
        new = torch.nonzero(first >= m).view(-1)
        new = new[torch.argsort(first[new])]  # in order of discovery
        local[new] = m + torch.arange(new.numel(), dtype=torch.long)
        return local[inv[m:]], both[first[new]]


def sample_uniform(
    colptr: Mapping[str, Tensor],
    row: Mapping[str, Tensor],
    edge_keys: Sequence[tuple[str, str, str]],
    node_types: Sequence[str],
    seeds: Mapping[str, Tensor],
    num_neighbors: Mapping[str, Sequence[int]],
    *,
    replace: bool = False,
    generator: torch.Generator | None = None,
    num_nodes: Mapping[str, int] | None = None,
) -> tuple[
    dict[str, Tensor],
    dict[str, Tensor],
    dict[str, Tensor],
    dict[str, Tensor],
    dict[str, list[int]],
    dict[str, list[int]],
]:
    """Typed uniform neighbour sampling over CSC graphs.

    ``edge_keys`` lists ``(key, src_type, dst_type)``; ``colptr[key]``/``row[key]`` is that
    edge type's CSC (columns = ``dst_type`` nodes); ``num_neighbors[key]`` gives ``k`` per
    hop; ``num_nodes`` (per type, optional) lets small types use a dense id map. Returns
    ``node, row, col, edge, num_sampled_nodes, num_sampled_edges`` keyed by node type / edge
    key, as pyg-lib's ``hetero_neighbor_sample`` does."""
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    types = list(dict.fromkeys([*node_types, *seeds]))
    sizes = dict(num_nodes or {})
    sets = {
        t: _NodeSet(
            seeds[t].to(torch.long).view(-1) if t in seeds else torch.zeros(0, dtype=torch.long),
            sizes.get(t),
        )
        for t in types
    }
    n_nodes = {t: [sets[t].size] for t in types}
    hops = {len(v) for v in num_neighbors.values()}
    if len(hops) > 1:
        raise ValueError("num_neighbors: every edge type needs the same number of hops")
    num_hops = hops.pop() if hops else 0
    rows: dict[str, list[Tensor]] = {k: [] for k, _, _ in edge_keys}
    cols: dict[str, list[Tensor]] = {k: [] for k, _, _ in edge_keys}
    edges: dict[str, list[Tensor]] = {k: [] for k, _, _ in edge_keys}
    n_edges: dict[str, list[int]] = {k: [] for k, _, _ in edge_keys}
    # the frontier of each type: global ids and the local id of its first node
    frontier = {t: (sets[t].parts[0], 0) for t in types}
    for hop in range(num_hops):
        begin = {t: sets[t].size for t in types}
        grown: dict[str, list[Tensor]] = {t: [] for t in types}
        for key, src_t, dst_t in edge_keys:
            k = int(num_neighbors[key][hop])
            nodes, offset = frontier[dst_t]
            if k == 0 or nodes.numel() == 0:
                n_edges[key].append(0)
                continue
            pos, seg = _choose(colptr[key].to(torch.long), nodes, k, replace, gen)
            src_local, added = sets[src_t].add(row[key][pos].to(torch.long))
            rows[key].append(src_local)
            cols[key].append(seg + offset)
            edges[key].append(pos)
            grown[src_t].append(added)
            n_edges[key].append(int(pos.numel()))
        for t in types:
            new = torch.cat(grown[t]) if grown[t] else torch.zeros(0, dtype=torch.long)
            frontier[t] = (new, begin[t])
            n_nodes[t].append(int(new.numel()))

    def cat(parts: list[Tensor]) -> Tensor:
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)

    node = {t: cat(sets[t].parts) for t in types}
    return (
        node,
        {k: cat(v) for k, v in rows.items()},
        {k: cat(v) for k, v in cols.items()},
        {k: cat(v) for k, v in edges.items()},
        n_nodes,
        n_edges,
    )


def neighbor_loader(
    data: Any,
    num_neighbors: Any,
    input_nodes: Any = None,
    *,
    seed: int | None = 0,
    replace: bool = False,
    subgraph_type: SubgraphType | str = "directional",
    **kwargs: Any,
) -> Any:
    """``torch_geometric.loader.NeighborLoader`` over ``data`` (e.g. the Neo4j
    ``(feature_store, graph_store)``) using :class:`TorchNeighborSampler`; ``kwargs`` go to
    the loader (``batch_size``, ``shuffle``, ``num_workers``, ``transform``, ...)."""
    from torch_geometric.loader import NeighborLoader

    sampler = TorchNeighborSampler(
        data,
        num_neighbors,
        seed=seed,
        replace=replace,
        subgraph_type=subgraph_type,
        share_memory=kwargs.get("num_workers", 0) > 0,
    )
    return NeighborLoader(
        data,
        num_neighbors=num_neighbors,
        input_nodes=input_nodes,
        replace=replace,
        subgraph_type=subgraph_type,
        neighbor_sampler=sampler,
        **kwargs,
    )
