"""Model runs: their record on disk and in the graph, the one meaning of ``@latest`` and of a
run pattern, and ``grape runs list|show|delete``.

A run is recorded in two places:

- its folder ``<data_dir>/runs/<run_id>/`` with ``run.json``, written when training starts
  (``status: running``, the process id and host) and rewritten when it ends: ``complete``,
  or ``failed`` with ``reason`` and ``stage`` (training, predictions, write-back). A run
  whose process ended without either (killed) reads as ``failed`` ("interrupted"); a
  folder without ``run.json`` as ``failed`` too (it stopped before it was recorded).
- its ``ModelRun`` node in Neo4j, created by the write-back (status ``writing`` until all
  its edges are in, then ``complete``; ``failed`` with ``reason`` when the write-back
  raised). A run trained with ``--no-write-back`` has no node.

The status shown (:func:`list_runs`) joins both: a run is ``complete`` only when its node
is complete (or, without a node, its folder says so); failed runs are those recorded as
failed on disk or in the graph, listed by ``grape runs list --status failed`` and removed,
folder and node together, by ``grape runs delete``.

``@latest`` is, for every command (``grape predict``, ``report``, ``recovery``, ``query -p
run=@latest``), the newest COMPLETE run in the graph; a glob pattern over run ids picks,
among the complete runs in the graph, the newest match (every match, newest first, where a
command takes several). A run id or folder given as such is used as given, refused with
its reason when it failed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, GrapeError, cut, show
from grapekg.kg import writeback
from grapekg.kg.store import Store

__all__ = [
    "LATEST",
    "RUN_STATUSES",
    "RunFailedError",
    "check_status",
    "delete_run",
    "disk_record",
    "latest_run_id",
    "list_runs",
    "resolve_run",
    "resolve_runs",
    "show_run",
]

StoreOpener = Callable[[], AbstractContextManager[Store]]
LATEST = "@latest"
#: every status a run can have (graph and disk joined)
RUN_STATUSES = ("complete", "running", "writing", "failed", "deleting")
_GLOB = "*?["


class RunFailedError(GrapeError):
    """The run named failed (or was interrupted); the message says why."""


def check_status(status: str | None, option: str = "--status") -> str | None:
    """``status`` one of :data:`RUN_STATUSES` (or None); a usage error otherwise."""
    if status is not None and status not in RUN_STATUSES:
        raise ConfigError(f"{option} {show(status)}: choose from {', '.join(RUN_STATUSES)}")
    return status


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- disk record
def _alive(pid: object, host: object) -> bool:
    """True when process ``pid`` runs on this host (a run on another host counts as alive)."""
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def disk_record(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``run.json`` with its effective ``status`` and ``reason``: a
    ``running`` run whose process is gone is ``failed`` (interrupted), a folder without
    ``run.json`` is ``failed`` (it stopped before it was recorded), a ``run.json`` without a
    status (written only at the end, as older runs did) is ``complete``."""
    f = run_dir / "run.json"
    if not f.exists():
        return {
            "run_id": run_dir.name,
            "status": "failed",
            "reason": "no run.json: the run stopped before it was recorded",
        }
    try:
        info = json.loads(f.read_text())
        if not isinstance(info, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        return {"run_id": run_dir.name, "status": "failed", "reason": f"unreadable run.json: {exc}"}
    info.setdefault("run_id", run_dir.name)
    status = info.get("status") or "complete"
    if status == "running" and not _alive(info.get("pid"), info.get("host")):
        info["reason"] = (
            f"interrupted: process {info.get('pid')} ended during {info.get('stage', 'training')}"
        )
        status = "failed"
    info["status"] = status
    return info


def _disk_runs(ws: Workspace) -> dict[str, dict[str, Any]]:
    root = ws.runs_dir
    if not root.is_dir():
        return {}
    return {
        d.name: disk_record(d)
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    }


# ---------------------------------------------------------------------------- list / show
def _joined(node: dict[str, Any] | None, disk: dict[str, Any] | None) -> tuple[str, str]:
    """(status, reason) of a run from its graph node and its folder's record."""
    if node is not None:
        status = str(node.get("status") or "")
        reason = str(node.get("reason") or "")
        if status == "writing" and disk is not None and disk["status"] == "failed":
            return "failed", str(disk.get("reason") or "")
        if status == "failed" and not reason:
            reason = str((disk or {}).get("reason") or "write-back failed")
        return status, reason
    assert disk is not None
    return str(disk["status"]), str(disk.get("reason") or "")


def list_runs(
    store: Store, status: str | None = None, ws: Workspace | None = None
) -> list[dict[str, Any]]:
    """Model runs, newest first: every ModelRun node and, with ``ws``, every run folder
    (those without a node too), their status joined (module docstring); optionally only
    those with ``status``."""
    check_status(status)
    nodes = {r["id"]: r for r in writeback.list_runs(store, None)}
    disk = _disk_runs(ws) if ws is not None else {}
    rows = []
    for rid in list(nodes) + [d for d in disk if d not in nodes]:
        node, rec = nodes.get(rid), disk.get(rid)
        st, reason = _joined(node, rec)
        base = node or {}
        rec = rec or {}
        rows.append(
            {
                "id": rid,
                "model": base.get("model") or rec.get("label") or rec.get("model"),
                "dataset": base.get("dataset") or rec.get("dataset"),
                "split": base.get("split") or rec.get("split"),
                "seed": base.get("seed") if node else rec.get("seed"),
                "status": st,
                "created": base.get("created") or rec.get("started") or rec.get("finished"),
                "counts": base.get("counts"),
                "reason": reason,
                "stored": ", ".join(
                    x for x, ok in (("graph", node is not None), ("folder", rid in disk)) if ok
                ),
            }
        )
    rows.sort(key=lambda r: str(r["created"] or ""), reverse=True)
    return [r for r in rows if status is None or r["status"] == status]


def show_run(store: Store, run: str, ws: Workspace | None = None) -> dict[str, Any]:
    """One run's record: its graph node (metrics decoded, live edge counts) and, with
    ``ws``, its folder's status and reason; ConfigError when neither exists."""
    _check_id(run)
    rec: dict[str, Any] | None = None
    if writeback.get_run(store, run) is not None:
        rec = writeback.show_run(store, run)
    disk = disk_record(ws.run_dir(run)) if ws is not None and ws.run_dir(run).is_dir() else None
    if rec is None and disk is None:
        raise ConfigError(f"no model run {show(run)} (neither in the graph nor a run folder)")
    st, reason = _joined(rec, disk)
    out = dict(rec) if rec is not None else {k: v for k, v in disk.items() if k != "graph"}  # type: ignore[union-attr]
    out["status"] = st
    if reason:
        out["reason"] = reason
    if ws is not None:
        out["folder"] = str(ws.run_dir(run)) if disk is not None else "(none)"
    return out


# ---------------------------------------------------------------------------- delete
def _check_id(run: str) -> str:
    """A run id is a plain folder name (no path, not . or ..)."""
    if not run or run in (".", "..") or Path(run).name != run or "\\" in run:
        raise ConfigError(f"run {show(run)}: give a run id (grape runs list), not a path")
    return run


def delete_run(store: Store, run: str, ws: Workspace | None = None) -> tuple[int, bool]:
    """Delete a run, all or nothing: its learned edges and node in the graph and (with
    ``ws``) its folder. The folder is first moved aside; if the graph part fails it is put
    back. Returns (edges deleted, whether a folder was removed)."""
    _check_id(run)
    in_graph = writeback.get_run(store, run) is not None
    folder = ws.run_dir(run) if ws is not None else None
    has_folder = folder is not None and folder.is_dir()
    if not in_graph and not has_folder:
        raise ConfigError(f"no model run {show(run)} (neither in the graph nor a run folder)")
    aside = None
    if has_folder:
        assert folder is not None
        aside = folder.with_name(f".deleting-{run}-{uuid.uuid4().hex[:8]}")
        folder.rename(aside)
    n = 0
    if in_graph:
        try:
            n = writeback.delete_run(store, run)
        except BaseException:
            if aside is not None:
                aside.rename(folder)  # type: ignore[arg-type]
            raise
    if aside is not None:
        shutil.rmtree(aside)
    return n, has_folder


# ---------------------------------------------------------------------------- resolution
def latest_run_id(store: Store) -> str:
    """The id of the newest complete run in the graph (THE ``@latest``)."""
    rid = writeback.latest_complete_run(store)
    if rid is None:
        raise ConfigError(
            "@latest: no complete model run in the graph (grape train first; "
            "grape runs list shows every run)"
        )
    return rid


def _complete_ids(store: Store) -> list[str]:
    """Ids of the complete runs in the graph, newest first."""
    return [str(r["id"]) for r in writeback.list_runs(store, "complete")]


def _store_ctx(
    ws: Workspace, store: Store | None, opener: StoreOpener | None = None
) -> AbstractContextManager[Store]:
    if store is not None:
        return nullcontext(store)
    if opener is not None:
        return opener()
    from grapekg.app.db import open_store

    return open_store(ws.settings)


def _folder_of(ws: Workspace, rid: str, what: str) -> Path:
    d = ws.run_dir(rid)
    if not (d / "run.json").exists() and not (d / "config.json").exists():
        raise ConfigError(
            f"{what} is run {rid} (complete in the graph) but it has no run folder under "
            f"{ws.runs_dir} (written back from elsewhere?)"
        )
    return d


def ensure_usable(run_dir: Path, given: str) -> Path:
    """``run_dir`` unless its record says the run failed (RunFailedError with the reason)
    or it is still running."""
    rec = disk_record(run_dir)
    if rec["status"] == "failed":
        stage = (
            f" during {rec['stage']}"
            if rec.get("stage") and "interrupted" not in str(rec.get("reason"))
            else ""
        )
        raise RunFailedError(
            cut(
                f"run {run_dir.name} failed{stage}: {rec.get('reason') or 'no reason recorded'} "
                f"(grape runs delete {run_dir.name} removes it)",
                380,
            )
        )
    if rec["status"] == "running":
        raise RunFailedError(f"run {run_dir.name} is still running (process {rec.get('pid')})")
    return run_dir


def resolve_runs(
    ws: Workspace,
    specs: list[str],
    store: Store | None = None,
    *,
    newest_only: bool = False,
    open_store: StoreOpener | None = None,
) -> list[Path]:
    """Run folders for run ids, folders, ``@latest`` or glob patterns over run ids
    (module docstring); with ``newest_only`` a pattern gives its newest match only. A
    store is opened from the workspace's settings when one is needed and not given.
    Failed runs are refused with their reason (:func:`ensure_usable`). ``open_store``
    opens the store when one is needed and not given (default: the workspace's settings)."""
    out: list[Path] = []
    for spec in specs:
        spec = str(spec)
        if spec == LATEST or any(ch in spec for ch in _GLOB):
            with _store_ctx(ws, store, open_store) as st:
                if spec == LATEST:
                    out.append(_folder_of(ws, latest_run_id(st), LATEST))
                    continue
                hits = [r for r in _complete_ids(st) if fnmatch.fnmatchcase(r, spec)]
            if not hits:
                raise ConfigError(
                    f"run {show(spec)}: no complete model run in the graph matches "
                    "(grape runs list shows every run and its status)"
                )
            chosen = hits[:1] if newest_only else hits
            out += [_folder_of(ws, r, f"run {show(spec)}") for r in chosen]
        elif Path(spec).is_dir() and (os.sep in spec or not ws.run_dir(spec).is_dir()):
            out.append(ensure_usable(Path(spec), spec))
        else:
            _check_id(spec)
            d = ws.run_dir(spec)
            if not d.is_dir():
                raise ConfigError(
                    f"run {show(spec)}: no run folder {d} (grape runs list shows every run)"
                )
            out.append(ensure_usable(d, spec))
    return list(dict.fromkeys(out))


def resolve_run(
    ws: Workspace, spec: str, store: Store | None = None, open_store: StoreOpener | None = None
) -> Path:
    """One run folder: an id, a folder, ``@latest`` or a pattern (its newest complete
    match); see :func:`resolve_runs`."""
    return resolve_runs(ws, [spec], store, newest_only=True, open_store=open_store)[0]


# ---------------------------------------------------------------------------- recording
@contextmanager
def recorded(run_dir: Path, info: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Record a run in ``run_dir/run.json`` while it runs: ``running`` (pid, host, start
    time) on entry, ``complete`` on a normal exit, ``failed`` with ``reason`` and the
    ``stage`` the caller last set (``rec["stage"] = ...``) when the body raises (the error
    is raised on). The dict yielded is the record; keys the body adds are written too."""
    run_dir.mkdir(parents=True, exist_ok=True)
    rec = {
        **info,
        "status": "running",
        "stage": "training",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": now(),
    }
    _write(run_dir, rec)
    try:
        yield rec
    except BaseException as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            reason = "interrupted (Ctrl-C)"
        rec.update(status="failed", reason=cut(f"{reason}", 300), finished=now())
        with suppress(OSError):
            _write(run_dir, rec)
        raise
    rec.update(status="complete", finished=now())
    rec.pop("stage", None)
    _write(run_dir, rec)


def _write(run_dir: Path, rec: dict[str, Any]) -> None:
    """``run.json`` replaced atomically (a reader never sees half a file)."""
    tmp = run_dir / f".run.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(rec, indent=1, default=str))
    tmp.replace(run_dir / "run.json")
