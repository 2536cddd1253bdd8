"""``grape export``, ``grape priors build|list`` and ``grape writeback``: thin glue over
:mod:`grapekg.kg.export` and :mod:`grapekg.kg.writeback`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store
from grapekg.cli.console import console, kv_table, progress_counter, table
from grapekg.errors import ConfigError

priors_app = typer.Typer(help="Prior gene-gene edges (GO Jaccard, shared Reactome pathway).",
                         no_args_is_help=True)


def export(
    out: Annotated[Path, typer.Option("--out", help="Output file (pyg, dgl) or folder (npz).")],
    genes: Annotated[str, typer.Option("--genes", help="all | dataset:NAME | FILE of Ensembl ids or symbols")] = "all",
    edges: Annotated[str, typer.Option("--edges", help="Comma list: go, reactome, learned:RUN, REL_TYPE")] = "go,reactome",
    hops: Annotated[int, typer.Option("--hops", min=0, help="Add genes within K hops over the edges.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="pyg | dgl | npz")] = "pyg",
    feature: Annotated[str | None, typer.Option("--feature", help="Gene property with a float-list feature.")] = None,
) -> None:
    """Export the typed c/nc gene graph (cc, cn, rev_cn, nn) for training."""
    from grapekg.kg.export.formats import FORMATS, save
    from grapekg.kg.export.reader import export_graph

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    with open_store() as store:
        g = export_graph(store, genes, edges, hops=hops, feature=feature, progress=progress_counter)
    path = save(g, fmt, out)
    c = g.counts()
    rows = [(t, n) for t, n in c["nodes"].items()] + [(r, n) for r, n in c["edges"].items()]
    console.print(table(f"exported to {path}", ["type", "count"], rows))
    console.print(f"snapshot {g.snapshot_id}")


@priors_app.command("build")
def priors_build(
    kind: Annotated[str, typer.Option("--kind", help="go | reactome | all")] = "all",
    threshold: Annotated[float, typer.Option(help="GO: keep Jaccard > threshold.")] = 0.1,
    top_k: Annotated[int, typer.Option(help="GO: neighbours kept per gene.")] = 20,
    namespace: Annotated[str | None, typer.Option(help="GO namespace (default: all).")] = None,
    level: Annotated[int, typer.Option(help="Reactome hierarchy level (1 = top).")] = 4,
    max_pathway_genes: Annotated[int | None, typer.Option(help="Reactome: skip larger pathways.")] = None,
) -> None:
    """Materialise prior edges in Neo4j (idempotent) and assign the per-class gene idx."""
    from grapekg.kg.export.paging import assign_gene_index
    from grapekg.kg.export.priors import GoJaccardParams, ReactomeParams, build_prior

    todo = {"go": [GoJaccardParams(threshold, top_k, namespace)],
            "reactome": [ReactomeParams(level, max_pathway_genes)]}
    if kind not in (*todo, "all"):
        raise ConfigError("--kind: use go, reactome or all")
    params = todo["go"] + todo["reactome"] if kind == "all" else todo[kind]
    with open_store() as store:
        counts = assign_gene_index(store)
        for p in params:
            with progress_counter(f"prior {p.kind}", sum(counts.values())) as advance:
                rep = build_prior(store, p, advance=advance)
            console.print(f"{rep.kind}: {rep.edges:,} edges (params {rep.params_hash})")


@priors_app.command("list")
def priors_list() -> None:
    """Prior parameter sets recorded in the graph."""
    from grapekg.kg.export.priors import prior_sources

    with open_store() as store:
        rows = prior_sources(store)
    console.print(table("Prior edges", ["name", "params_hash", "status", "params", "stats"],
                        [(r["name"], r["params_hash"], r["status"], r["params"], r["stats"]) for r in rows]))


def writeback(
    run_file: Annotated[Path, typer.Option("--run-file", help="Run JSON (id, model, config_hash, dataset, split, seed, snapshot_id, metrics[, edges]).")],
    edges: Annotated[Path | None, typer.Option("--edges", help="Parquet/CSV of src, dst, type, score, ...")] = None,
) -> None:
    """Write a model run and its learned edges into the graph, all or nothing."""
    from grapekg.kg.writeback import write_run_file

    with open_store() as store:
        rep = write_run_file(store, run_file, edges)
    console.print(kv_table(f"run {rep.run}", {**rep.written, "missing genes": rep.missing_genes,
                                              "cleared from earlier attempt": rep.cleared}))
