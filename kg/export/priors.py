"""Prior gene-gene edges materialised in Neo4j.

Kinds (one relationship type, ``PRIOR``, with a ``kind`` property, so "any prior edge" is one
cheap pattern ``(a)-[:PRIOR]-(b)`` in queries):

- ``go_jaccard`` (GEARS, REFERENCES 1.4): weight = |GO(a) ∩ GO(b)| / |GO(a) ∪ GO(b)|, kept
  when > ``threshold`` (0.1), then the ``top_k`` (20) largest per gene; optionally restricted
  to one GO namespace. Stored directed ``neighbour -> gene`` (the gene that chose it), so a
  pair may appear in both directions; the exporter makes the graph undirected.
- ``reactome``: genes sharing a Reactome pathway of hierarchy ``level`` (1 = top level);
  weight = number of shared pathways at that level; stored once per pair, from the smaller
  Ensembl id to the larger.

Every edge carries ``kind``, ``weight``, ``params_hash`` and ``source`` (``prior.<kind>@<hash>``).
The parameters, the versions of the input sources and the counts are recorded on a
``(:Source {name: 'prior.<kind>', version: <hash>})`` node whose ``status`` is ``building``,
then ``complete``; an earlier parameter set of the same kind becomes ``replaced`` (its edges
are rewritten page by page, since each page first clears the edges its genes own).

Work goes page by page over genes in Ensembl-id order; each page is one transaction (clear +
create), so a killed build, run again, converges to the result of a clean build.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from grapekg import cypher
from grapekg.errors import ConfigError
from grapekg.kg.export.paging import ensure_indexes, gene_pages
from grapekg.kg.store import Store

log = logging.getLogger(__name__)

KINDS = ("go_jaccard", "reactome")
GO_NAMESPACES = ("biological_process", "molecular_function", "cellular_component")
#: the data sources each kind is derived from (their versions go into the params hash)
INPUTS = {"go_jaccard": ("ensembl", "go"), "reactome": ("ensembl", "reactome")}


@dataclass(frozen=True)
class GoJaccardParams:
    """GEARS GO graph: Jaccard > threshold, top-k per gene, optional GO namespace."""

    threshold: float = 0.1
    top_k: int = 20
    namespace: str | None = None
    kind: str = "go_jaccard"
    #: genes per transaction (clear + create of their edges): at most top_k edges each
    page: ClassVar[int] = 1_000

    def validate(self) -> None:
        if not 0 <= self.threshold < 1:
            raise ConfigError("go_jaccard threshold must be in [0, 1)")
        if self.top_k < 1:
            raise ConfigError("go_jaccard top_k must be >= 1")
        if self.namespace is not None and self.namespace not in GO_NAMESPACES:
            raise ConfigError(f"GO namespace must be one of {', '.join(GO_NAMESPACES)}")

    def query_params(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "top_k": self.top_k, "namespace": self.namespace}


@dataclass(frozen=True)
class ReactomeParams:
    """Shared Reactome pathway at a hierarchy level (1 = top level)."""

    level: int = 4
    max_pathway_genes: int | None = None
    kind: str = "reactome"
    #: genes per transaction: a gene in large level-4 pathways owns hundreds of edges, and a
    #: rebuild deletes and creates them in one transaction; a page must stay within Neo4j's
    #: transaction memory (dbms.memory.transaction.total.max) on the default 1 GiB heap, and
    #: larger pages gain little (docs/benchmarks.md)
    page: ClassVar[int] = 200

    def validate(self) -> None:
        if self.level < 1:
            raise ConfigError("reactome level must be >= 1 (1 = top-level pathways)")
        if self.max_pathway_genes is not None and self.max_pathway_genes < 2:
            raise ConfigError("max_pathway_genes must be >= 2")

    def query_params(self) -> dict[str, Any]:
        return {"level": self.level, "max_pathway_genes": self.max_pathway_genes}


PriorParams = GoJaccardParams | ReactomeParams


@dataclass
class PriorReport:
    kind: str
    params_hash: str
    source: str
    genes: int
    edges: int


def input_versions(store: Store, kind: str) -> dict[str, str]:
    """``{source name: version}`` of the complete data sources a kind is derived from."""
    rows = store.read(cypher.internal("source_versions"))
    out = {
        r["name"]: r["version"]
        for r in rows
        if r["name"] in INPUTS[kind] and r["status"] == "complete"
    }
    missing = [n for n in INPUTS[kind] if n not in out]
    if missing:
        raise ConfigError(
            f"prior '{kind}' needs the source(s) {', '.join(missing)} loaded "
            "completely: run 'grape kg build' first"
        )
    return out


def params_hash(params: PriorParams, inputs: dict[str, str]) -> str:
    """First 16 hex digits of sha256 over the kind, its parameters and the input versions."""
    blob = json.dumps({"params": asdict(params), "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_prior(
    store: Store,
    params: PriorParams,
    *,
    page: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> PriorReport:
    """Materialise one prior kind for all genes; idempotent and resumable. ``page`` genes a
    transaction (default: the kind's ``page``)."""
    params.validate()
    page = page or params.page
    ensure_indexes(store)
    inputs = input_versions(store, params.kind)
    h = params_hash(params, inputs)
    name = f"prior.{params.kind}"
    source = f"{name}@{h}"
    mark = cypher.internal("prior_source_mark")
    base = {
        "name": name,
        "version": h,
        "params": json.dumps(asdict(params), sort_keys=True),
        "inputs": json.dumps(inputs, sort_keys=True),
    }
    store.read_write(mark, {**base, "status": "building", "now": _now(), "stats": None})
    clear_q = cypher.internal(f"prior_{params.kind}_clear")
    page_q = cypher.internal(f"prior_{params.kind}_page")
    qp = {**params.query_params(), "params_hash": h, "source": source}
    genes = 0
    # each page: clear the edges its genes own, then create them anew, in ONE transaction
    for ids in gene_pages(store, None, page):
        store.write_many([(clear_q, {"ids": ids}), (page_q, {**qp, "ids": ids})])
        genes += len(ids)
        if advance:
            advance(len(ids))
    edges = count_prior_edges(store, h)
    stats = json.dumps({"genes": genes, "edges": edges})
    store.read_write(mark, {**base, "status": "complete", "now": _now(), "stats": stats})
    store.read_write(cypher.internal("prior_source_replace_others"), {"name": name, "version": h})
    log.info("prior %s: %d edges over %d genes (params %s)", params.kind, edges, genes, h)
    return PriorReport(params.kind, h, source, genes, edges)


def count_prior_edges(store: Store, params_hash_: str) -> int:
    """Number of ``PRIOR`` edges of one parameter set."""
    return int(store.read(cypher.internal("prior_count"), {"params_hash": params_hash_})[0]["n"])


def prior_sources(store: Store) -> list[dict[str, Any]]:
    """Every prior parameter set recorded in the graph, newest first."""
    return store.read(cypher.internal("prior_sources"))


def complete_prior_hashes(store: Store, kinds: list[str]) -> dict[str, str]:
    """``{kind: params_hash}`` of the complete (current) parameter set of each kind."""
    out: dict[str, str] = {}
    for r in prior_sources(store):
        kind = r["name"].removeprefix("prior.")
        if kind in kinds and r["status"] == "complete" and kind not in out:
            out[kind] = r["params_hash"]
    missing = [k for k in kinds if k not in out]
    if missing:
        raise ConfigError(
            f"no complete prior edges of kind {', '.join(missing)}: run 'grape priors build' first"
        )
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat()


def lowest_pathways(store: Store, ids: list[str], page: int = 1_000) -> dict[str, list[str]]:
    """``{gene id: its lowest-level Reactome pathway ids}`` for the genes of ``ids`` in any
    pathway: the pathways holding the gene that have no child pathway (``CHILD_OF``) holding it
    too (BioDSNN's "L1" level, read per gene list; genes in no pathway are absent)."""
    q = cypher.internal("gene_lowest_pathways_page")
    out: dict[str, list[str]] = {}
    for lo in range(0, len(ids), page):
        for r in store.read(q, {"ids": list(ids[lo : lo + page])}):
            out[str(r["id"])] = sorted(str(p) for p in r["pathways"])
    return out


def ensure_default_priors(store: Store, advance: Callable[[int], None] | None = None) -> list[str]:
    """Build the default prior edges (GO biological-process Jaccard, Reactome level 4) when
    no complete build of that kind exists; returns the kinds built now."""
    have = {
        r["name"].removeprefix("prior.") for r in prior_sources(store) if r["status"] == "complete"
    }
    built = []
    for params in (GoJaccardParams(namespace="biological_process"), ReactomeParams()):
        if params.kind not in have:
            build_prior(store, params, advance=advance)
            built.append(params.kind)
    return built
