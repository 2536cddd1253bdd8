"""Export the typed gene graph to files, materialise prior edges, and write a model run back
from files: the flows of ``grape export``, ``grape priors`` and ``grape writeback``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grapekg.errors import ConfigError, InputError, show
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
) -> ExportResult:
    """Read the typed c/nc gene graph from Neo4j and save it in format ``fmt``."""
    check_format(fmt)
    g = export_graph(store, genes, edges, hops=hops, feature=feature, progress=progress)
    path = save(g, fmt, out)
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
