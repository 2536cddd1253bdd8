"""``grape export``, ``grape priors build|list`` and ``grape writeback``: thin glue over
:mod:`grapekg.app.export`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, kv_table, progress_counter, table

priors_app = typer.Typer(
    help="Prior gene-gene edges (GO Jaccard, shared Reactome pathway).", no_args_is_help=True
)


def export(
    out: Annotated[Path, typer.Option("--out", help="Output file (pyg, dgl) or folder (npz).")],
    genes: Annotated[
        str, typer.Option("--genes", help="all | dataset:NAME | FILE of Ensembl ids or symbols")
    ] = "all",
    edges: Annotated[
        str, typer.Option("--edges", help="Comma list: go, reactome, learned:RUN, REL_TYPE")
    ] = "go,reactome",
    hops: Annotated[
        int, typer.Option("--hops", min=0, help="Add genes within K hops over the edges.")
    ] = 0,
    fmt: Annotated[str, typer.Option("--format", help="pyg | dgl | npz")] = "pyg",
    feature: Annotated[
        str | None, typer.Option("--feature", help="Gene property with a float-list feature.")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace an existing file, or the export files in a non-empty folder (never "
            "anything in the data folder).",
        ),
    ] = False,
) -> None:
    """Export the typed c/nc gene graph (cc, cn, rev_cn, nn) for training."""
    from grapekg.app import export as export_flow

    export_flow.check_format(fmt)
    s = settings()
    export_flow.check_out(out, fmt, overwrite=overwrite, protected=(s.data_dir,))
    with open_store(s) as store:
        res = export_flow.export_to_file(
            store,
            out,
            genes=genes,
            edges=edges,
            hops=hops,
            fmt=fmt,
            feature=feature,
            progress=progress_counter,
            overwrite=overwrite,
            protected=(s.data_dir,),
        )
    c = res.counts
    rows = [(t, n) for t, n in c["nodes"].items()] + [(r, n) for r, n in c["edges"].items()]
    console.print(table(f"exported to {res.path}", ["type", "count"], rows))
    console.print(f"snapshot {res.snapshot_id}")


@priors_app.command("build")
def priors_build(
    kind: Annotated[str, typer.Option("--kind", help="go | reactome | all")] = "all",
    threshold: Annotated[float, typer.Option(help="GO: keep Jaccard > threshold.")] = 0.1,
    top_k: Annotated[int, typer.Option(help="GO: neighbours kept per gene.")] = 20,
    namespace: Annotated[str | None, typer.Option(help="GO namespace (default: all).")] = None,
    level: Annotated[int, typer.Option(help="Reactome hierarchy level (1 = top).")] = 4,
    max_pathway_genes: Annotated[
        int | None, typer.Option(help="Reactome: skip larger pathways.")
    ] = None,
) -> None:
    """Materialise prior edges in Neo4j (idempotent) and assign the per-class gene idx."""
    from grapekg.app import export as export_flow

    params = export_flow.prior_params(
        kind,
        threshold=threshold,
        top_k=top_k,
        namespace=namespace,
        level=level,
        max_pathway_genes=max_pathway_genes,
    )
    with open_store() as store:
        for rep in export_flow.build_priors(store, params, progress=progress_counter):
            console.print(f"{rep.kind}: {rep.edges:,} edges (params {rep.params_hash})")


@priors_app.command("list")
def priors_list() -> None:
    """Prior parameter sets recorded in the graph."""
    from grapekg.app import export as export_flow

    with open_store() as store:
        rows = export_flow.list_priors(store)
    console.print(
        table(
            "Prior edges",
            ["name", "params_hash", "status", "params", "stats"],
            [(r["name"], r["params_hash"], r["status"], r["params"], r["stats"]) for r in rows],
        )
    )


def writeback(
    run_file: Annotated[
        Path,
        typer.Option(
            "--run-file",
            help="Run JSON (id, model, config_hash, dataset, split, seed, snapshot_id, "
            "metrics[, edges]).",
        ),
    ],
    edges: Annotated[
        Path | None, typer.Option("--edges", help="Parquet/CSV of src, dst, type, score, ...")
    ] = None,
) -> None:
    """Write a model run and its learned edges into the graph, all or nothing."""
    from grapekg.app import export as export_flow

    with open_store() as store:
        rep = export_flow.writeback_files(store, run_file, edges)
    console.print(
        kv_table(
            f"run {rep.run}",
            {
                **rep.written,
                "missing genes": rep.missing_genes,
                "cleared from earlier attempt": rep.cleared,
            },
        )
    )
