"""Stream adapter records into Neo4j: ``UNWIND $rows`` + ``MERGE`` on constrained keys, in
batches, each batch one managed (retried) transaction; nodes always before the relationships
that need them.

Idempotent (MERGE on keys; list properties merged as sets) and resumable (a killed run,
started again, converges to the counts of a clean run). A malformed input line raises
:class:`~grapekg.errors.InputError` before its batch is written, so nothing of that batch is
half-written, and sources loaded earlier stay intact. The per-type statements are generated
by :mod:`grapekg.kg.schema` (labels, relationship types and list properties checked against
the schema); every value is a parameter.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from grapekg import cypher
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import Edge, Node, Record, SourceInfo
from grapekg.kg.schema import IDENT, Schema
from grapekg.kg.store import Store

log = logging.getLogger(__name__)

DEFAULT_BATCH = 10_000


@dataclass
class SourceReport:
    source: SourceInfo
    nodes: Counter[str] = field(default_factory=Counter)
    edges: Counter[str] = field(default_factory=Counter)
    edges_missing_end: Counter[str] = field(default_factory=Counter)
    skipped_unknown_type: Counter[str] = field(default_factory=Counter)
    stats: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.nodes.values()) + sum(self.edges.values())


def ensure_schema(store: Store, schema: Schema) -> None:
    """Create constraints and indexes (idempotent) and wait until they are online."""
    for stmt in schema.ddl():
        store.run_auto(stmt)
    store.run_auto(cypher.ddl("await_indexes"))


class _Writer:
    """One background thread sending batches in order, so parsing the next batch overlaps
    with Neo4j writing the previous one. At most ``depth`` batches wait; the first error is
    re-raised in the caller at the next submit or at :meth:`drain`."""

    def __init__(self, depth: int = 2) -> None:
        self._q: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="grape-kg-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self._error = exc
            finally:
                self._q.task_done()

    def submit(self, job: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(job)

    def drain(self) -> None:
        """Wait for every submitted batch; re-raise the first error."""
        self._q.join()
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def close(self) -> None:
        self._q.put(None)
        self._thread.join()


class Loader:
    """Batches records of one source into Neo4j."""

    def __init__(self, store: Store, schema: Schema, batch_size: int = DEFAULT_BATCH) -> None:
        self.store = store
        self.schema = schema
        self.batch_size = batch_size
        self._nodes: dict[str, list[dict[str, Any]]] = {}
        self._edges: dict[tuple[str, str, str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._report: SourceReport | None = None
        self._writer: _Writer | None = None

    # ------------------------------------------------------------------ source node
    def _mark_source(
        self, src: SourceInfo, status: str, stats: dict[str, int] | None = None
    ) -> None:
        self.store.write(
            cypher.internal("source_mark"),
            {
                "name": src.name,
                "version": src.version,
                "licence": src.licence,
                "url": src.url,
                "retrieved": src.retrieved,
                "status": status,
                "now": datetime.now(UTC).isoformat(),
                "stats": json.dumps(stats, sort_keys=True) if stats is not None else None,
            },
        )

    # ------------------------------------------------------------------ main entry
    def load(
        self,
        src: SourceInfo,
        records: Iterable[Record],
        advance: Callable[[int], None] | None = None,
    ) -> SourceReport:
        t0 = time.perf_counter()
        self._report = rep = SourceReport(src)
        self._nodes.clear()
        self._edges.clear()
        self._mark_source(src, "loading")
        n_seen = 0
        self._writer = _Writer()
        try:
            for rec in records:
                n_seen += 1
                if isinstance(rec, Node):
                    self._add_node(rec)
                elif isinstance(rec, Edge):
                    self._add_edge(rec)
                else:  # pragma: no cover - adapter bug
                    raise TypeError(f"adapter yielded {type(rec).__name__}, not Node/Edge")
                if advance and n_seen % 1000 == 0:
                    advance(1000)
            self._flush_nodes()
            self._flush_edges()
        finally:
            # batches already handed over complete (or fail) before anything is raised;
            # the batch holding a bad input line was never handed over
            try:
                self._writer.drain()
            finally:
                self._writer.close()
                self._writer = None
        if advance:
            advance(n_seen % 1000)
        rep.seconds = time.perf_counter() - t0
        return rep

    def finish(self, rep: SourceReport, stats: dict[str, int]) -> None:
        rep.stats = dict(stats)
        all_stats = {**stats, **{f"missing_end_{k}": v for k, v in rep.edges_missing_end.items()}}
        self._mark_source(rep.source, "complete", all_stats)

    # ------------------------------------------------------------------ buffering
    def _add_node(self, rec: Node) -> None:
        nt = self.schema.nodes.get(rec.label)
        if nt is None:
            self._unknown(rec.label)
            return
        buf = self._nodes.setdefault(rec.label, [])
        buf.append({"key": rec.key, "props": dict(rec.props), "source": rec.source})
        if len(buf) >= self.batch_size:
            self._flush_node(rec.label)

    def _add_edge(self, rec: Edge) -> None:
        rt = self.schema.relationships.get(rec.type)
        if (
            rt is None
            or rec.src_label not in self.schema.nodes
            or rec.dst_label not in self.schema.nodes
        ):
            self._unknown(rec.type)
            return
        lists = {k: v for k, v in rec.props.items() if isinstance(v, list | tuple)}
        for k in rec.props:
            if not IDENT.match(k):
                raise ValueError(f"adapter property name {k!r} is not an identifier")
        key = (rec.type, rec.src_label, rec.dst_label, tuple(sorted(lists)))
        buf = self._edges.setdefault(key, [])
        scalars = {k: v for k, v in rec.props.items() if k not in lists}
        buf.append(
            {
                "src": rec.src_key,
                "dst": rec.dst_key,
                "props": scalars,
                "lists": {k: list(v) for k, v in lists.items()},
                "source": rec.source,
            }
        )
        if len(buf) >= self.batch_size:
            self._flush_nodes()
            self._flush_edge(key)

    def _unknown(self, what: str) -> None:
        assert self._report is not None
        if not self._report.skipped_unknown_type[what]:
            log.warning("schema does not know %s: skipped (declare it in the adapter)", what)
        self._report.skipped_unknown_type[what] += 1

    # ------------------------------------------------------------------ flushing
    def _flush_nodes(self) -> None:
        for label in list(self._nodes):
            self._flush_node(label)

    def _flush_node(self, label: str) -> None:
        rows = self._nodes.pop(label, [])
        if not rows:
            return
        rep = self._report
        assert rep is not None and self._writer is not None
        q = self.schema.node_merge(label)

        def job() -> None:
            self.store.write(q, {"rows": rows})
            rep.nodes[label] += len(rows)

        self._writer.submit(job)

    def _flush_edges(self) -> None:
        for key in list(self._edges):
            self._flush_edge(key)

    def _flush_edge(self, key: tuple[str, str, str, tuple[str, ...]]) -> None:
        rows = self._edges.pop(key, [])
        if not rows:
            return
        rtype, src, dst, list_keys = key
        q = self.schema.edge_merge(rtype, src, dst, list_keys)
        rep = self._report
        assert rep is not None and self._writer is not None

        def job() -> None:
            rows_out = self.store.read_write(q, {"rows": rows})
            matched = int(rows_out[0]["n"]) if rows_out else 0
            rep.edges[rtype] += matched
            if matched < len(rows):
                rep.edges_missing_end[rtype] += len(rows) - matched

        self._writer.submit(job)


def gene_index_from_store(store: Store) -> GeneIndex:
    """All Gene nodes' identifiers, for annotation adapters."""
    return GeneIndex.from_rows(store.read(cypher.internal("gene_identifiers")))


def kg_counts(store: Store, schema: Schema) -> dict[str, Any]:
    """Counts per label, relationship type and biotype class, and the sources."""
    labels = {lb: store.read(schema.count_nodes(lb))[0]["n"] for lb in schema.nodes}
    rels = {rt: store.read(schema.count_relationships(rt))[0]["n"] for rt in schema.relationships}
    labels = {k: v for k, v in labels.items() if v}  # types with no data yet are not shown
    rels = {k: v for k, v in rels.items() if v}
    classes = {r["cls"]: r["n"] for r in store.read(cypher.internal("gene_class_counts"))}
    sources = store.read(cypher.internal("source_list"))
    return {"labels": labels, "relationships": rels, "biotype_class": classes, "sources": sources}
