"""Write a model run's results back into the graph, all or nothing.

A run is a ``(:ModelRun {id, model, config_hash, dataset, split, seed, snapshot_id, metrics
(JSON), config (JSON), created, status, counts (JSON), attempt, heartbeat})`` node. Its
learned edges are relationships between genes that carry the run id in a ``run`` property
(indexed per type, so "all edges of run R" is an index seek, and deleting a run is cheap):

- ``(:Gene)-[:SIMILAR_TO {modality, score, run}]->(:Gene)`` learned similarity, undirected
  (stored from the smaller Ensembl id), one per (pair, modality, run);
- ``(:Gene)-[:KHOP_LINK {k, score, run}]->(:Gene)`` K-hop structure edges, undirected;
- ``(:Gene)-[:PREDICTED_REGULATES {score, relation, attention, run}]->(:Gene)`` directed,
  ``relation`` = a gene relation of ``kg/schema.yaml`` (cc | cn | nn; derived from the biotype
  classes of its ends, by the schema, when not given);
- ``(:Gene)-[:PREDICTED_RESPONSE {score, task, direction, cell_line, run}]->(:Gene)`` directed,
  perturbed gene -> downstream gene, from a label run: ``score`` = P(the gene is
  differentially expressed) for task ``de``, P(it goes up) for task ``direction`` (then
  ``direction`` = 'up' or 'down', the more likely one).

Protocol: the run node is staged with ``status = 'writing'`` and a fresh ``attempt`` token;
whatever edges the run id already has (an earlier or killed attempt) are deleted; the edges
are then written in batches (one transaction each, which first locks the run node and writes
nothing unless the token is still this writer's: a second writer of the same run id, or a
delete, supersedes the first, which stops with an error); the status becomes ``'complete'``
last, and only if the token is still this writer's and the run's edge counts are exactly
what this attempt created. A write that raises marks the node ``failed`` (while its attempt
still owns it; the reason is kept in the run's folder, ``run.json``), so ``grape runs list
--status failed`` shows it. Every query in ``cypher/`` joins learned edges through
``(:ModelRun {id: $run, status: 'complete'})``, so a run being written, or killed half way,
is invisible.

Idempotent on (src, dst, type[, modality], run): rows are normalised (undirected types from
the smaller id) and duplicates collapsed in Python (the last row wins, as with the repeated
``SET`` of a ``MERGE``), and since the run's edges are cleared first, every batch can
``CREATE`` its relationships. (``MERGE`` keyed on ``{run: $run}`` was planned as a seek of
the run's relationship index per row: quadratic in the run's edges.) Writing a run again
gives the same graph.

Edge files (parquet, CSV, TSV) are validated before anything is written; errors name the
file and the line (CSV/TSV, header = line 1) or row (parquet) and column.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg import cypher
from grapekg.errors import ConfigError, DatabaseError, InputError
from grapekg.kg.export.paging import ensure_indexes
from grapekg.kg.schema import load_default
from grapekg.kg.store import Store
from grapekg.parquet import read_parquet

log = logging.getLogger(__name__)

EDGE_TYPES = {
    "similar_to": "SIMILAR_TO",
    "khop_link": "KHOP_LINK",
    "predicted_regulates": "PREDICTED_REGULATES",
    "predicted_response": "PREDICTED_RESPONSE",
}
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
REQUIRED = ("src", "dst", "type", "score")


def read_edges_file(path: Path) -> pd.DataFrame:
    """Learned edges from parquet, CSV or TSV: columns src, dst, type, score and optionally
    modality, k, relation, attention. Validated (see :func:`normalise_edges`)."""
    path = Path(path)
    is_parquet = path.suffix == ".parquet"
    sep = "\t" if path.suffix in (".tsv", ".txt") else ","
    lines: list[int] | None = None
    try:
        if is_parquet:
            df = read_parquet(path)
        else:
            lines = _data_lines(path, sep)
            df = pd.read_csv(
                path, sep=sep, index_col=False, dtype={"src": str, "dst": str, "type": str}
            )
    except InputError:
        raise
    except OSError as exc:
        raise InputError(path, f"cannot read edges: {exc.strerror or exc}") from None
    except ValueError as exc:  # pandas ParserError / EmptyDataError, pyarrow errors
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        m = re.search(r"line (\d+)", msg)
        raise InputError(
            path,
            f"cannot read edges: {msg}",
            line=int(m.group(1)) if m and not is_parquet else None,
        ) from None
    except Exception as exc:  # pyarrow.ArrowInvalid etc. are not ValueErrors in every version
        raise InputError(path, f"cannot read edges: {type(exc).__name__}: {exc}") from None
    if lines is not None and len(lines) != len(df):
        raise InputError(
            path, f"cannot read edges: {len(df)} rows parsed from {len(lines)} data lines"
        )
    return normalise_edges(df, path, lines=lines)


def _data_lines(path: Path, sep: str) -> list[int]:
    """Line numbers of the data rows of a CSV/TSV (blank lines skipped, as pandas does),
    after checking every row has as many fields as the header (pandas would otherwise take a
    first column as the index, or drop fields)."""
    out = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, None)
        if not header:
            raise InputError(path, "no header line (need src, dst, type, score)", line=1)
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise InputError(
                    path,
                    f"expected {len(header)} fields as in the header, saw {len(row)}",
                    line=reader.line_num,
                )
            out.append(reader.line_num)
    return out


def _bad(source: str | Path, lines: Sequence[int] | None, i: int, col: str, msg: str) -> InputError:
    """An error at data row ``i`` (0-based) and column ``col``."""
    if lines is not None:
        return InputError(source, f"column '{col}': {msg}", line=lines[i])
    return InputError(source, f"row {i + 1}, column '{col}': {msg}")


def normalise_edges(
    edges: pd.DataFrame | Iterable[Mapping[str, Any]],
    source: str | Path = "edges",
    *,
    lines: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Validated edges in canonical form: ``type`` as the relationship type, undirected types
    stored from the smaller Ensembl id, default ``modality`` 'fus', and duplicate
    (src, dst, type[, modality]) rows collapsed to the last one. ``source`` names the input in
    errors, with the line of each row when given (text files), else the row number."""
    df = edges.copy() if isinstance(edges, pd.DataFrame) else pd.DataFrame(list(edges))
    df = df.reset_index(drop=True)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            source,
            f"missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})",
            line=1 if lines is not None else None,
        )
    for col in ("src", "dst"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            raise _bad(source, lines, int(np.flatnonzero(bad.to_numpy())[0]), col, "empty gene id")
        df[col] = df[col].astype(str).str.strip()
    kind = df["type"].astype(str).str.strip().str.lower().map(EDGE_TYPES)
    if kind.isna().any():
        i = int(np.flatnonzero(kind.isna().to_numpy())[0])
        raise _bad(
            source,
            lines,
            i,
            "type",
            f"unknown edge type {df['type'].iloc[i]!r} (use {', '.join(EDGE_TYPES)})",
        )
    df["type"] = kind
    for col, required in (("score", True), ("attention", False), ("k", False)):
        if col not in df.columns:
            continue
        num = pd.to_numeric(df[col], errors="coerce")
        bad = (num.isna() & (df[col].notna() | required)) | ~np.isfinite(num.fillna(0.0))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(source, lines, i, col, f"not a number: {df[col].iloc[i]!r}")
        df[col] = num.astype(float)
    for col, default in (
        ("modality", "fus"),
        ("k", None),
        ("relation", None),
        ("attention", None),
        ("task", None),
        ("direction", None),
        ("cell_line", None),
    ):
        if col not in df.columns:
            df[col] = default
    df["modality"] = df["modality"].where(df["modality"].notna(), "fus").astype(str)
    rel = df["relation"]
    names = load_default().gene_relation_names()
    bad = rel.notna() & ~rel.isin(names)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _bad(
            source,
            lines,
            i,
            "relation",
            f"{rel.iloc[i]!r} is not {', '.join(names[:-1])} or {names[-1]}",
        )
    und = df["type"].isin(UNDIRECTED) & (df["src"] > df["dst"])
    df.loc[und, ["src", "dst"]] = df.loc[und, ["dst", "src"]].to_numpy()
    key_mod = df["modality"].where(df["type"] == "SIMILAR_TO", "")
    keep = ~pd.DataFrame(
        {"s": df["src"], "d": df["dst"], "t": df["type"], "m": key_mod}
    ).duplicated(keep="last")
    return df[keep.to_numpy()].reset_index(drop=True)


def _rows(df: pd.DataFrame, cols: list[str]) -> list[dict[str, Any]]:
    """Driver-ready rows: Python scalars, None for missing values, integral ``k`` as int."""
    values = []
    for c in cols:
        col = df[c]
        vals = col.astype(object).where(col.notna(), None).tolist()
        if c == "k":
            vals = [int(v) if isinstance(v, float) and v.is_integer() else v for v in vals]
        values.append(vals)
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


COLUMNS = {
    "SIMILAR_TO": ["src", "dst", "score", "modality"],
    "KHOP_LINK": ["src", "dst", "score", "k"],
    "PREDICTED_REGULATES": ["src", "dst", "score", "relation", "attention"],
    "PREDICTED_RESPONSE": ["src", "dst", "score", "task", "direction", "cell_line"],
}


# ------------------------------------------------------------------ runs
def _set_status(store: Store, run: str, status: str, counts: dict[str, int] | None = None) -> None:
    store.read_write(
        cypher.internal("run_set_status"),
        {
            "id": run,
            "status": status,
            "counts": json.dumps(counts, sort_keys=True) if counts is not None else None,
        },
    )


def clear_run_edges(store: Store, run: str, page: int = CLEAR_PAGE) -> int:
    """Delete every learned edge of ``run``, ``page`` per type and transaction."""
    q = cypher.internal("run_clear_page")
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
    df = normalise_edges(edges)
    ensure_indexes(store)
    attempt = uuid.uuid4().hex
    now = datetime.now(UTC).isoformat()
    store.read_write(
        cypher.internal("run_begin"),
        {
            **{k: v for k, v in asdict(info).items() if k not in ("metrics", "config")},
            "metrics": json.dumps(dict(info.metrics), sort_keys=True, default=str),
            "config": json.dumps(dict(info.config), sort_keys=True, default=str),
            "now": now,
            "attempt": attempt,
        },
    )
    try:
        return _write_edges(store, info, df, attempt, batch, on_batch)
    except Exception:
        try:  # the node stays invisible either way; this records that it failed
            mark_failed(store, info.id, attempt)
        except Exception:  # noqa: BLE001 - the database may be what failed
            log.debug("could not mark run %s failed", info.id, exc_info=True)
        raise


def _write_edges(
    store: Store,
    info: RunInfo,
    df: pd.DataFrame,
    attempt: str,
    batch: int,
    on_batch: Callable[[str, int], None] | None,
) -> RunReport:
    """The edges of a staged run (:func:`write_run`), then its status ``complete``."""
    cleared = clear_run_edges(store, info.id)
    if cleared:
        log.info("run %s: removed %d edges of an earlier attempt", info.id, cleared)
    written: dict[str, int] = {}
    for rtype, cols in COLUMNS.items():
        sub = df[df["type"] == rtype].sort_values(["src", "dst"], kind="stable")
        if sub.empty:
            continue
        q = cypher.internal(f"run_write_{rtype.lower()}")
        extra = (
            {"relation_of": load_default().relation_of_classes()}
            if "relation_of" in q.params
            else {}
        )
        for i in range(0, len(sub), batch):
            rows = _rows(sub.iloc[i : i + batch], cols)
            res = store.read_write(q, {"run": info.id, "attempt": attempt, "rows": rows, **extra})
            if not res or not res[0]["owned"]:
                raise DatabaseError(
                    f"model run '{info.id}' was restarted or deleted by another "
                    "writer while this write was under way: write it again"
                )
            n = int(res[0]["n"])
            written[rtype] = written.get(rtype, 0) + n
            if on_batch:
                on_batch(rtype, n)
    counts = edge_counts(store, info.id)
    mine = {t: n for t, n in written.items() if n}
    if counts != mine:
        raise DatabaseError(
            f"model run '{info.id}': the graph holds {counts} edges but this "
            f"write created {mine}; another writer is writing the same run id. "
            "The run stays invisible (status 'failed'): write it again"
        )
    done = store.read_write(
        cypher.internal("run_complete"),
        {"id": info.id, "attempt": attempt, "counts": json.dumps(counts, sort_keys=True)},
    )
    if not done:
        raise DatabaseError(
            f"model run '{info.id}' was restarted or deleted by another writer "
            "before this write completed: write it again"
        )
    return RunReport(info.id, counts, len(df) - sum(written.values()), cleared)


def write_run_file(
    store: Store, run_file: Path, edges_file: Path | None = None, **kw: Any
) -> RunReport:
    """Write-back from a run JSON file and a parquet/CSV file of edges."""
    info, from_json = RunInfo.from_json(run_file)
    path = edges_file or from_json
    if path is None:
        raise ConfigError("no edges file: give --edges or an 'edges' entry in the run file")
    return write_run(store, info, read_edges_file(path), **kw)


def edge_counts(store: Store, run: str) -> dict[str, int]:
    """Learned edges of ``run`` per type (whatever its status)."""
    return {
        r["type"]: int(r["n"])
        for r in store.read(cypher.internal("run_edge_counts"), {"run": run})
        if r["n"]
    }


def get_run(store: Store, run: str) -> dict[str, Any] | None:
    """The ModelRun record, or None."""
    rows = store.read(cypher.internal("run_get"), {"id": run})
    return rows[0] if rows else None


def list_runs(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Model runs, newest first."""
    return store.read(cypher.internal("run_list"), {"status": status})


def latest_complete_run(store: Store) -> str | None:
    """Id of the newest complete run (by creation time, then id), or None."""
    rows = store.read(cypher.internal("latest_complete_run"))
    return str(rows[0]["id"]) if rows else None


def mark_failed(store: Store, run: str, attempt: str | None = None) -> bool:
    """Record that writing ``run`` failed (status ``failed``; the reason is kept with the
    run's folder, ``run.json``), only while it is still being written (by ``attempt`` when
    given); True when the node was marked."""
    rows = store.read_write(cypher.internal("run_fail"), {"id": run, "attempt": attempt})
    return bool(rows)


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
    store.read_write(cypher.internal("run_delete_node"), {"id": run})
    return n
