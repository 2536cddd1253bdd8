"""Export the typed gene graph to files, materialise prior edges, and write a model run back
from files: the flows of ``grape export``, ``grape priors`` and ``grape writeback``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grapekg.errors import ConfigError, InputError, OutputError, cut, show
from grapekg.kg.export.formats import FORMATS, save
from grapekg.kg.export.paging import assign_gene_index
from grapekg.kg.export.priors import (
    GoJaccardParams,
    PriorReport,
    ReactomeParams,
    build_prior,
    prior_sources,
)
from grapekg.kg.export.reader import export_graph
from grapekg.kg.store import Store
from grapekg.kg.writeback import RunReport, write_run_file

#: ``progress(label, total)`` -> context manager yielding ``advance(n)`` (e.g. the CLI's bars)
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]

PRIOR_KINDS = ("go", "reactome", "all")


@dataclass
class ExportResult:
    path: Path
    counts: dict[str, Any]
    snapshot_id: str


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")


def _inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies under it (both resolved, links followed)."""
    p, f = path.resolve(), folder.resolve()
    return p == f or f in p.parents


def check_out(
    out: Path, fmt: str, *, overwrite: bool = False, protected: tuple[Path, ...] = ()
) -> Path:
    """Where ``grape export`` may write, checked before anything is read from the graph:

    - never inside a ``protected`` folder (the data folder: datasets, runs, the database),
      even with ``overwrite``;
    - ``npz`` writes a folder: an existing non-empty folder only with ``overwrite``; ``pyg`` /
      ``dgl`` write a file: an existing file only with ``overwrite``, never a folder;
    - the nearest existing folder above ``out`` must be writable.

    ConfigError (rc 2) for a refused choice, OutputError (rc 1) for a path that cannot be
    written; both one line naming the path."""
    out = Path(out)
    for folder in protected:
        if _inside(out, folder):
            raise ConfigError(
                f"--out {show(str(out))}: inside the data folder {cut(str(folder), 120)} "
                "(datasets, runs, the database); export somewhere else"
            )
    if fmt == "npz":
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {show(str(out))}: is a file; npz writes a folder")
        if out.is_dir() and any(out.iterdir()) and not overwrite:
            raise ConfigError(
                f"--out {show(str(out))}: the folder is not empty; choose an empty or new "
                "folder, or pass --overwrite to replace its export files"
            )
    else:
        if out.is_dir():
            raise ConfigError(f"--out {show(str(out))}: is a folder; {fmt} writes one file")
        if out.exists() and not overwrite:
            raise ConfigError(
                f"--out {show(str(out))}: the file exists; pass --overwrite to replace it"
            )
    parent = out.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(out, f"cannot write here: {cut(str(parent), 120)} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(out, f"cannot write here: permission denied on {cut(str(parent), 120)}")
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(out, "cannot write here: permission denied")
    return out


def export_to_file(
    store: Store,
    out: Path,
    *,
    genes: str = "all",
    edges: str = "go,reactome",
    hops: int = 0,
    fmt: str = "pyg",
    feature: str | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
    protected: tuple[Path, ...] = (),
) -> ExportResult:
    """Read the typed c/nc gene graph from Neo4j and save it in format ``fmt`` (``out``
    checked first by :func:`check_out`)."""
    check_format(fmt)
    check_out(out, fmt, overwrite=overwrite, protected=protected)
    g = export_graph(store, genes, edges, hops=hops, feature=feature, progress=progress)
    try:
        path = save(g, fmt, Path(out))
    except (OSError, RuntimeError) as exc:  # torch.save reports an unwritable path as either
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OutputError(out, f"cannot write the export: {cut(reason, 160)}") from None
    return ExportResult(path, g.counts(), g.snapshot_id)


def prior_params(
    kind: str = "all",
    *,
    threshold: float = 0.1,
    top_k: int = 20,
    namespace: str | None = None,
    level: int = 4,
    max_pathway_genes: int | None = None,
) -> list[GoJaccardParams | ReactomeParams]:
    """The parameter sets of ``grape priors build --kind``."""
    todo: dict[str, list[GoJaccardParams | ReactomeParams]] = {
        "go": [GoJaccardParams(threshold, top_k, namespace)],
        "reactome": [ReactomeParams(level, max_pathway_genes)],
    }
    if kind not in PRIOR_KINDS:
        raise ConfigError("--kind: use go, reactome or all")
    return todo["go"] + todo["reactome"] if kind == "all" else todo[kind]


def build_priors(
    store: Store, params: list[GoJaccardParams | ReactomeParams], progress: Progress | None = None
) -> Iterator[PriorReport]:
    """Assign the per-class gene idx, then materialise each prior set (idempotent); yields
    one report per set as it is done."""
    counts = assign_gene_index(store)
    for p in params:
        if progress is None:
            yield build_prior(store, p)
            continue
        with progress(f"prior {p.kind}", sum(counts.values())) as advance:
            rep = build_prior(store, p, advance=advance)
        yield rep


def list_priors(store: Store) -> list[dict[str, Any]]:
    """Prior parameter sets recorded in the graph, newest first."""
    return prior_sources(store)


#: run-file fields and the JSON types they must have
_RUN_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "model": (str,),
    "config_hash": (str,),
    "dataset": (str,),
    "split": (str,),
    "seed": (int,),
    "snapshot_id": (str,),
    "metrics": (dict,),
    "config": (dict,),
    "edges": (str,),
}


def check_run_file(run_file: Path) -> None:
    """The run file is a regular file holding one JSON object whose known fields have their
    types (``metrics`` an object, ``seed`` an integer, ...); else an InputError naming the
    file and the field. Checked before anything is written."""
    p = Path(run_file)
    if p.is_dir():
        raise InputError(p, "is a directory, not a run file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(p, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read run file: {exc}") from None
    except ValueError as exc:
        raise InputError(p, f"not JSON: {exc.msg}", getattr(exc, "lineno", None)) from None
    if not isinstance(data, dict):
        raise InputError(p, f"a run file is one JSON object, not a {type(data).__name__}")
    for key, types in _RUN_FIELD_TYPES.items():
        v = data.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, types):
            raise InputError(
                p, f"field '{key}' must be {' or '.join(t.__name__ for t in types)}, got {show(v)}"
            )


def writeback_files(store: Store, run_file: Path, edges: Path | None = None) -> RunReport:
    """Write a model run (JSON) and its learned edges (parquet/CSV/TSV), all or nothing."""
    check_run_file(run_file)
    if edges is not None and Path(edges).is_dir():
        raise InputError(edges, "is a directory, not an edges file")
    return write_run_file(store, run_file, edges)
