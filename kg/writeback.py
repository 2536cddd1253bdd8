"""Write a model run's results back into the graph, all or nothing.

A run is a ``(:ModelRun {id, model, config_hash, dataset, split, seed, snapshot_id, metrics
(JSON), config (JSON), created, status, counts (JSON)})`` node. Its learned edges are
relationships between genes that carry the run id in a ``run`` property (indexed per type,
so "all edges of run R" is an index seek, and deleting a run is cheap):

- ``(:Gene)-[:SIMILAR_TO {modality, score, run}]->(:Gene)`` learned similarity, undirected
  (stored from the smaller Ensembl id), one per (pair, modality, run);
- ``(:Gene)-[:KHOP_LINK {k, score, run}]->(:Gene)`` K-hop structure edges, undirected;
- ``(:Gene)-[:PREDICTED_REGULATES {score, relation, attention, run}]->(:Gene)`` directed,
  ``relation`` = cc | cn | nn (derived from the biotype classes when not given).

Protocol: the run node is staged with ``status = 'writing'``; edges are written in batches
(one transaction each, ``MERGE`` keyed on (src, dst, type, run) so repeats are idempotent);
the status becomes ``'complete'`` last. Every query in ``cypher/`` joins learned edges
through ``(:ModelRun {id: $run, status: 'complete'})``, so a run being written, or killed half
way, is invisible. Writing a run id again (a retry) first stages it as ``writing`` and deletes
whatever edges it already has, then writes from scratch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg.errors import ConfigError, InputError
from grapekg.kg import queries
from grapekg.kg.export.paging import ensure_indexes
from grapekg.kg.store import Store

log = logging.getLogger(__name__)

EDGE_TYPES = {"similar_to": "SIMILAR_TO", "khop_link": "KHOP_LINK",
              "predicted_regulates": "PREDICTED_REGULATES"}
UNDIRECTED = ("SIMILAR_TO", "KHOP_LINK")
BATCH = 10_000
CLEAR_PAGE = 20_000


@dataclass(frozen=True)
class RunInfo:
    """Metadata of one model run (the ModelRun node)."""

    id: str
    model: str
    config_hash: str = ""
    dataset: str = ""
    split: str = ""
    seed: int = 0
    snapshot_id: str = ""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id or not self.model:
            raise ConfigError("a model run needs an id and a model name")

    @classmethod
    def from_json(cls, path: Path) -> tuple[RunInfo, Path | None]:
        """A run file: JSON with the fields of RunInfo and optionally ``edges`` (a path,
        relative to the run file)."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(path, f"cannot read run file: {exc}") from None
        edges = data.pop("edges", None)
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InputError(path, f"unknown run field(s) {', '.join(sorted(unknown))}")
        try:
            info = cls(**data)
        except TypeError as exc:
            raise InputError(path, str(exc)) from None
        return info, (path.parent / edges) if edges else None


@dataclass
class RunReport:
    run: str
    written: dict[str, int]
    missing_genes: int
    cleared: int


# ------------------------------------------------------------------ edge tables
def read_edges_file(path: Path) -> pd.DataFrame:
    """Learned edges from parquet, CSV or TSV: columns src, dst, type, score and optionally
    modality, k, relation, attention."""
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if path.suffix in (".tsv", ".txt") else ",")
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read edges: {exc}") from None


def _normalise(edges: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    df = edges.copy() if isinstance(edges, pd.DataFrame) else pd.DataFrame(list(edges))
    missing = {"src", "dst", "type", "score"} - set(df.columns)
    if missing:
        raise InputError("edges", f"missing column(s) {', '.join(sorted(missing))}")
    df["type"] = df["type"].astype(str).str.lower().map(EDGE_TYPES)
    if df["type"].isna().any():
        raise InputError("edges", f"unknown edge type; use {', '.join(EDGE_TYPES)}")
    df["src"] = df["src"].astype(str)
    df["dst"] = df["dst"].astype(str)
    df["score"] = pd.to_numeric(df["score"], errors="coerce").astype(float)
    if df["score"].isna().any():
        raise InputError("edges", "score must be a number on every row")
    for col, default in (("modality", "fus"), ("k", None), ("relation", None), ("attention", None)):
        if col not in df.columns:
            df[col] = default
    und = df["type"].isin(UNDIRECTED) & (df["src"] > df["dst"])
    df.loc[und, ["src", "dst"]] = df.loc[und, ["dst", "src"]].to_numpy()
    return df


def _rows(df: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    sub = df[cols].astype(object).where(df[cols].notna(), None)
    out = sub.to_dict("records")
    for r in out:  # numpy scalars are not driver types
        for k, v in r.items():
            if isinstance(v, np.generic):
                r[k] = v.item()
    return out


COLUMNS = {"SIMILAR_TO": ["src", "dst", "score", "modality"],
           "KHOP_LINK": ["src", "dst", "score", "k"],
           "PREDICTED_REGULATES": ["src", "dst", "score", "relation", "attention"]}


# ------------------------------------------------------------------ runs
def _set_status(store: Store, run: str, status: str, counts: dict[str, int] | None = None) -> None:
    store.read_write(queries.text("run_set_status"),
                     {"id": run, "status": status,
                      "counts": json.dumps(counts, sort_keys=True) if counts is not None else None})


def clear_run_edges(store: Store, run: str, page: int = CLEAR_PAGE) -> int:
    """Delete every learned edge of ``run``, ``page`` per type and transaction."""
    q = queries.text("run_clear_page")
    total = 0
    while True:
        n = int(store.read_write(q, {"run": run, "page": page})[0]["deleted"])
        total += n
        if n == 0:
            return total


def write_run(
    store: Store,
    info: RunInfo,
    edges: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    batch: int = BATCH,
    on_batch: Callable[[str, int], None] | None = None,
) -> RunReport:
    """Write ``info`` and its learned edges; the run becomes visible only when all is written."""
    df = _normalise(edges)
    ensure_indexes(store)
    now = datetime.now(UTC).isoformat()
    store.read_write(queries.text("run_begin"), {
        **{k: v for k, v in asdict(info).items() if k not in ("metrics", "config")},
        "metrics": json.dumps(dict(info.metrics), sort_keys=True, default=str),
        "config": json.dumps(dict(info.config), sort_keys=True, default=str), "now": now})
    cleared = clear_run_edges(store, info.id)
    if cleared:
        log.info("run %s: removed %d edges of an earlier attempt", info.id, cleared)
    written: dict[str, int] = {}
    expected = 0
    for rtype, cols in COLUMNS.items():
        sub = df[df["type"] == rtype]
        if sub.empty:
            continue
        q = queries.text(f"run_write_{rtype.lower()}")
        for i in range(0, len(sub), batch):
            rows = _rows(sub.iloc[i:i + batch], cols)
            expected += len(rows)
            n = int(store.read_write(q, {"run": info.id, "rows": rows})[0]["n"])
            written[rtype] = written.get(rtype, 0) + n
            if on_batch:
                on_batch(rtype, n)
    counts = edge_counts(store, info.id)
    _set_status(store, info.id, "complete", counts)
    return RunReport(info.id, counts, expected - sum(written.values()), cleared)


def write_run_file(store: Store, run_file: Path, edges_file: Path | None = None,
                   **kw: Any) -> RunReport:
    """Write-back from a run JSON file and a parquet/CSV file of edges."""
    info, from_json = RunInfo.from_json(run_file)
    path = edges_file or from_json
    if path is None:
        raise ConfigError("no edges file: give --edges or an 'edges' entry in the run file")
    return write_run(store, info, read_edges_file(path), **kw)


def edge_counts(store: Store, run: str) -> dict[str, int]:
    """Learned edges of ``run`` per type (whatever its status)."""
    return {r["type"]: int(r["n"]) for r in store.read(queries.text("run_edge_counts"), {"run": run})
            if r["n"]}


def get_run(store: Store, run: str) -> dict[str, Any] | None:
    """The ModelRun record, or None."""
    rows = store.read(queries.text("run_get"), {"id": run})
    return rows[0] if rows else None


def list_runs(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Model runs, newest first."""
    return store.read(queries.text("run_list"), {"status": status})


def show_run(store: Store, run: str) -> dict[str, Any]:
    """The run record with its metrics decoded and live edge counts."""
    rec = get_run(store, run)
    if rec is None:
        raise ConfigError(f"no model run '{run}'")
    rec = dict(rec)
    for k in ("metrics", "config", "counts"):
        if isinstance(rec.get(k), str):
            rec[k] = json.loads(rec[k])
    rec["edges"] = edge_counts(store, run)
    return rec


def delete_run(store: Store, run: str) -> int:
    """Hide the run (status 'deleting'), delete its edges page by page, then its node.
    Returns the number of edges deleted."""
    if get_run(store, run) is None:
        raise ConfigError(f"no model run '{run}'")
    _set_status(store, run, "deleting")
    n = clear_run_edges(store, run)
    store.read_write(queries.text("run_delete_node"), {"id": run})
    return n
