"""Read a gene set and its gene-gene edges from Neo4j, page by page (keyset pagination, every
value a parameter), into a :class:`~grapekg.kg.export.hetero.HeteroGraph`.

Gene sets (``--genes``): ``all``; ``dataset:NAME`` = genes with ``(Gene)-[:MEASURED_IN]->
(Dataset {name: NAME})`` and the targets of its conditions (``(Dataset)-[:HAS_CONDITION]->
(Condition)-[:TARGETS]->(Gene)``, measured or not); a list of Ensembl ids (from code); or a
file of Ensembl gene ids or symbols (first column, one a line, ``#`` comments). Edge kinds
(``--edges``): ``go`` and ``reactome`` (the current complete ``PRIOR`` parameter sets),
``learned:RUN`` (``SIMILAR_TO``/``KHOP_LINK``/``PREDICTED_REGULATES`` of a complete model
run) and any adapter-provided Gene-Gene relationship type by name (e.g. ``INTERACTS_WITH``).
``hops`` K adds every gene within K steps of the set over those edges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grapekg import cypher
from grapekg.errors import ConfigError, InputError
from grapekg.kg.export.hetero import HeteroGraph, build_hetero
from grapekg.kg.export.paging import gene_pages
from grapekg.kg.export.priors import complete_prior_hashes
from grapekg.kg.export.tables import EdgeTable, NodeTable
from grapekg.kg.schema import IDENT, REL_IDENT
from grapekg.kg.store import Store

#: ``progress(label, total)`` -> context manager yielding ``advance(n)`` (e.g. the CLI's bars)
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]

PRIOR_ALIASES = {"go": "go_jaccard", "go_jaccard": "go_jaccard", "reactome": "reactome"}
LEARNED_TYPES = ("SIMILAR_TO", "KHOP_LINK", "PREDICTED_REGULATES")
PAGE = 2_000


@dataclass
class EdgeSelection:
    """Which gene-gene edges to read; resolved against the graph by :func:`resolve_edges`."""

    prior_kinds: list[str] = field(default_factory=list)
    rel_types: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    prior_hashes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str | Sequence[str]) -> EdgeSelection:
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        sel = cls()
        for raw in (i.strip() for i in items):
            if not raw:
                continue
            if raw.lower() in PRIOR_ALIASES:
                sel.prior_kinds.append(PRIOR_ALIASES[raw.lower()])
            elif raw.startswith("learned:"):
                run = raw.split(":", 1)[1]
                if not run:
                    raise ConfigError("--edges learned:RUN needs a run id")
                sel.runs.append(run)
            elif REL_IDENT.match(raw) and raw not in ("PRIOR", *LEARNED_TYPES):
                sel.rel_types.append(raw)
            else:
                raise ConfigError(
                    f"--edges: unknown edge kind '{raw}' "
                    "(use go, reactome, learned:RUN or a Gene-Gene relationship type)"
                )
        if not (sel.prior_kinds or sel.rel_types or sel.runs):
            raise ConfigError("--edges: select at least one edge kind")
        return sel

    @property
    def types(self) -> list[str]:
        return (
            (["PRIOR"] if self.prior_kinds else [])
            + self.rel_types
            + (list(LEARNED_TYPES) if self.runs else [])
        )

    def params(self) -> dict[str, Any]:
        return {
            "types": self.types,
            "prior_hashes": sorted(self.prior_hashes.values()),
            "runs": list(self.runs),
        }


def resolve_edges(store: Store, sel: EdgeSelection) -> dict[str, Any]:
    """Fix the prior parameter sets, check the runs are complete and the types exist.

    Returns provenance for the snapshot id: prior hashes and run records."""
    sel.prior_hashes = complete_prior_hashes(store, sel.prior_kinds) if sel.prior_kinds else {}
    from grapekg.kg.writeback import get_run

    runs = {}
    for run in sel.runs:
        rec = get_run(store, run)
        if rec is None or rec["status"] != "complete":
            state = "missing" if rec is None else rec["status"]
            raise ConfigError(f"learned:{run}: no complete model run with that id ({state})")
        runs[run] = {"created": rec["created"], "snapshot_id": rec["snapshot_id"]}
    known = {r["relationshipType"] for r in store.read(cypher.internal("relationship_types"))}
    for t in sel.rel_types:
        if t not in known:
            raise ConfigError(f"--edges: no relationship type {t} in the graph")
    return {"priors": dict(sel.prior_hashes), "runs": runs, "types": sel.rel_types}


def kind_names(sel: EdgeSelection) -> list[str]:
    """Edge-kind names in code order (the ``edge_kind`` attribute indexes this list)."""
    return (
        list(sel.prior_kinds)
        + list(sel.rel_types)
        + [f"{t}@{r}" for r in sel.runs for t in LEARNED_TYPES]
    )


# ------------------------------------------------------------------ gene sets
def read_gene_file(path: Path) -> list[str]:
    """Identifiers from a file: first whitespace/comma-separated column, ``#`` comments."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(path, f"cannot read gene list: {exc.strerror}") from None
    keys = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.append(line.replace(",", " ").split()[0])
    if keys and keys[0].lower() in ("ensembl_id", "gene", "gene_id", "symbol", "id"):
        keys = keys[1:]
    if not keys:
        raise InputError(path, "no gene identifiers in file")
    return keys


def resolve_keys(
    store: Store, keys: Sequence[str], page: int = PAGE
) -> tuple[list[str], list[str]]:
    """(Ensembl ids, unresolved keys) for Ensembl ids or symbols, in input order, deduplicated."""
    q = cypher.internal("reader_resolve_genes")
    found: dict[str, None] = {}
    missing = []
    for i in range(0, len(keys), page):
        for r in store.read(q, {"keys": list(keys[i : i + page])}):
            if r["id"] is None:
                missing.append(r["key"])
            else:
                found.setdefault(r["id"])
    return list(found), missing


def dataset_genes(store: Store, name: str, page: int = PAGE) -> Iterator[list[str]]:
    q = cypher.internal("reader_dataset_genes_page")
    after = ""
    while True:
        ids = [r["id"] for r in store.read(q, {"dataset": name, "after": after, "page": page})]
        if not ids:
            return
        yield ids
        after = ids[-1]


def resolve_gene_set(
    store: Store, spec: str | Sequence[str], page: int = PAGE
) -> tuple[list[str], dict[str, Any]]:
    """Ensembl ids of ``all`` / ``dataset:NAME`` / a file / a list of ids (kept if in the
    graph); plus a description for provenance."""
    if not isinstance(spec, str):
        ids, _ = resolve_keys(store, [str(s) for s in spec], page)
        digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
        return ids, {"spec": "ids", "n": len(ids), "genes_sha256": digest}
    if spec == "all":
        ids = [i for p in gene_pages(store, None, page) for i in p]
        return ids, {"spec": "all"}
    if spec.startswith("dataset:"):
        name = spec.split(":", 1)[1]
        ids = [i for p in dataset_genes(store, name, page) for i in p]
        if not ids:
            raise ConfigError(
                f"--genes {spec}: no genes MEASURED_IN or TARGETED by a Dataset named {name!r}"
            )
        return ids, {"spec": "dataset", "dataset": name}
    path = Path(spec)
    keys = read_gene_file(path)
    ids, missing = resolve_keys(store, keys, page)
    if not ids:
        raise InputError(path, "none of the identifiers matches a gene in the graph")
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
    return ids, {
        "spec": "file",
        "file": path.name,
        "genes_sha256": digest,
        "unresolved": len(missing),
        "unresolved_examples": missing[:10],
    }


def expand_hops(
    store: Store,
    ids: list[str],
    sel: EdgeSelection,
    hops: int,
    page: int = PAGE,
    progress: Progress | None = None,
) -> list[str]:
    """``ids`` plus every gene within ``hops`` steps over the selected edges (either direction)."""
    members: dict[str, None] = dict.fromkeys(ids)
    frontier = list(ids)
    q = cypher.internal("reader_neighbours_page")
    for k in range(hops):
        new: list[str] = []
        ctx = progress(f"hop {k + 1}", len(frontier)) if progress else nullcontext(None)
        with ctx as advance:
            for i in range(0, len(frontier), page):
                chunk = frontier[i : i + page]
                for r in store.read(q, {"ids": chunk, **sel.params()}):
                    if r["id"] not in members:
                        members[r["id"]] = None
                        new.append(r["id"])
                if advance:
                    advance(len(chunk))
        frontier = new
        if not frontier:
            break
    return list(members)


# ------------------------------------------------------------------ nodes and edges
def read_nodes(
    store: Store,
    ids: list[str],
    feature: str | None,
    page: int = PAGE,
    progress: Progress | None = None,
) -> NodeTable:
    q = cypher.internal("reader_nodes_page")
    by_id: dict[str, dict[str, Any]] = {}
    ctx = progress("genes", len(ids)) if progress else nullcontext(None)
    with ctx as advance:
        for i in range(0, len(ids), page):
            chunk = ids[i : i + page]
            for r in store.read(q, {"ids": chunk, "feature": feature or ""}):
                by_id[r["id"]] = r
            if advance:
                advance(len(chunk))
    order = sorted(by_id)
    return NodeTable(
        order,
        [by_id[i]["symbol"] for i in order],
        [by_id[i]["cls"] for i in order],
        [by_id[i]["x"] for i in order],
    )


def read_edges(
    store: Store,
    nodes: NodeTable,
    sel: EdgeSelection,
    page: int = PAGE,
    progress: Progress | None = None,
) -> EdgeTable:
    names = kind_names(sel)
    codes = {n: i for i, n in enumerate(names)}
    pos = {eid: i for i, eid in enumerate(nodes.ids)}
    q = cypher.internal("reader_edges_page")
    src: list[np.ndarray] = []
    dst: list[int] = []
    w: list[float] = []
    kind: list[int] = []
    ctx = progress("edges", len(nodes.ids)) if progress else nullcontext(None)
    with ctx as advance:
        for i in range(0, len(nodes.ids), page):
            chunk = nodes.ids[i : i + page]
            rows = store.read(q, {"ids": chunk, "pos": pos, "kind_codes": codes, **sel.params()})
            for r in rows:
                src.append(np.full(len(r["dst"]), r["src"], dtype=np.int64))
                dst.extend(r["dst"])
                w.extend(r["weight"])
                kind.extend(r["kind"])
            if advance:
                advance(len(chunk))
    return EdgeTable(
        np.concatenate(src) if src else np.zeros(0, np.int64),
        np.asarray(dst, np.int64),
        np.asarray(w, np.float32),
        np.asarray(kind, np.int16),
    )


# ------------------------------------------------------------------ the whole export
def snapshot_id(payload: dict[str, Any]) -> str:
    """sha256 over query parameters, source versions and counts (canonical JSON)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def export_graph(
    store: Store,
    genes: str | Sequence[str],
    edges: str | Sequence[str],
    *,
    hops: int = 0,
    feature: str | None = None,
    page: int = PAGE,
    progress: Progress | None = None,
) -> HeteroGraph:
    """Read gene set + edges from Neo4j and build the typed c/nc graph with a snapshot id."""
    if hops < 0:
        raise ConfigError("--hops must be >= 0")
    if feature is not None and not IDENT.match(feature):
        raise ConfigError(f"feature property {feature!r} is not an identifier")
    sel = EdgeSelection.parse(edges)
    prov = resolve_edges(store, sel)
    ids, gene_desc = resolve_gene_set(store, genes, page)
    if hops:
        ids = expand_hops(store, ids, sel, hops, page, progress)
    nodes = read_nodes(store, ids, feature, page, progress)
    table = read_edges(store, nodes, sel, page, progress)
    sources = [
        (r["name"], r["version"], r["status"])
        for r in store.read(cypher.internal("source_versions"))
        if not r["name"].startswith("prior.")
    ]
    graph = build_hetero(nodes, table, kind_names(sel))
    params = {
        "genes": gene_desc,
        "hops": hops,
        "edges": edges if isinstance(edges, str) else ",".join(edges),
        "feature": feature,
    }
    payload = {"params": params, "provenance": prov, "sources": sources, "counts": graph.counts()}
    graph.snapshot_id = snapshot_id(payload)
    graph.meta = payload
    return graph
