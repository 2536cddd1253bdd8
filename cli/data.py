"""``grape data``: import, simulate and download perturbation datasets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from grapekg.cli.common import check_choice, open_store, settings
from grapekg.cli.console import (
    check_format,
    console,
    download_bar,
    render_rows,
    table,
    transient_bar,
)
from grapekg.perturb.download import DATASETS as _DOWNLOADABLE

if TYPE_CHECKING:
    from grapekg.app.datasets import ImportReport

# grapekg.app.datasets (pandas, anndata, the KG layer) is imported inside each command, so
# that a usage error answers before it loads

app = typer.Typer(
    help="Perturbation datasets: import, simulate, download, list.", no_args_is_help=True
)


def _span(values: list[int]) -> str:
    lo, hi = min(values, default=0), max(values, default=0)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _print_report(rep: ImportReport) -> None:
    if rep.members:
        console.print(
            f"[green]✓[/] group [bold]{rep.name}[/]: {len(rep.members)} contexts "
            f"({', '.join(m.context or '' for m in rep.members)}), {rep.n_cells:,} cells",
            highlight=False,
        )
        for member in rep.members:
            _print_report(member)
        return
    tag = " [bold yellow](SYNTHETIC)[/]" if rep.synthetic else ""
    console.print(
        f"[green]✓[/] dataset [bold]{rep.name}[/]{tag}: {rep.n_cells:,} cells, "
        f"{rep.n_genes:,} genes ({rep.genes_in_kg:,} in the KG), "
        f"{rep.n_conditions:,} perturbation conditions; bundle {rep.bundle}"
    )
    for warning in rep.warnings():
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if rep.guides:
        per = [len(g) for c, g in rep.guides.items() if c != "ctrl"]
        console.print(
            f"guides: {sum(per):,} guides collapsed to {len(per):,} targets "
            f"({_span(per)} per target); "
            f"agreement: grape data guides {rep.name}",
            highlight=False,
        )
    if rep.gene_line:
        console.print(rep.gene_line, highlight=False)
        console.print(rep.target_line, highlight=False)
    if rep.renamed:
        ex = ", ".join(f"{k} -> {v}" for k, v in list(rep.renamed.items())[:6])
        console.print(
            f"{len(rep.renamed):,} names resolved through a synonym (e.g. {ex})", highlight=False
        )
    if rep.external:
        ex = ", ".join(f"{k} = {v}" for k, v in list(rep.external.items())[:4])
        console.print(
            f"[yellow]{len(rep.external):,} genes outside the KG's release[/] (e.g. {ex})",
            highlight=False,
        )
    if rep.genes_not_in_kg:
        ex = ", ".join(rep.genes_not_in_kg[:8])
        console.print(
            f"[yellow]{len(rep.genes_not_in_kg):,} measured genes not in the KG[/] (e.g. {ex})"
        )
    if rep.genes_ambiguous:
        ex = "; ".join(f"{s}: {', '.join(v)}" for s, v in list(rep.genes_ambiguous.items())[:5])
        console.print(f"[yellow]{len(rep.genes_ambiguous)} ambiguous symbols[/] ({ex})")
    if rep.targets_not_in_kg:
        console.print(
            f"[yellow]{len(rep.targets_not_in_kg)} perturbation targets not in the KG[/]: "
            f"{', '.join(rep.targets_not_in_kg[:10])}"
        )


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="An .h5ad file (GEARS format is native).")],
    pert_col: Annotated[
        str, typer.Option(help="obs column holding the perturbation.")
    ] = "condition",
    control: Annotated[
        list[str], typer.Option(help="Control label(s), e.g. ctrl, control, non-targeting.")
    ] = ["ctrl"],  # noqa: B006
    sep: Annotated[
        str, typer.Option(help="Separator of genes in a condition: '+' (GEARS) or e.g. '_'.")
    ] = "+",
    gene_name_col: Annotated[
        str | None,
        typer.Option(
            help="var column with gene symbols (default: gene_name if present, else the var index)."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Dataset name (default: from the file name).")
    ] = None,
    min_cells: Annotated[int, typer.Option(min=1, help="Fewest cells a condition may have.")] = 2,
    normalise: Annotated[
        bool, typer.Option(help="Data are raw counts: normalise_total + log1p on the fly.")
    ] = False,
    guide_pattern: Annotated[
        str | None,
        typer.Option(
            help="Guide-level labels: a regex removed from each label's genes, "
            r"e.g. '_\d+$' (ZAP70_1 -> ZAP70)."
        ),
    ] = None,
    guide_col: Annotated[
        str | None,
        typer.Option(help="obs column with the guide id (--pert-col then holds the gene)."),
    ] = None,
    context_col: Annotated[
        str | None,
        typer.Option(
            help="obs column of contexts (stimulation, cell line, ...): one dataset "
            "NAME@<value> per context, each with its own control."
        ),
    ] = None,
) -> None:
    """Validate, summarise (streaming), compute DE genes and register a dataset in the KG."""
    from grapekg.app import datasets

    s = settings()
    with open_store(s) as store:
        rep = datasets.import_h5ad(
            store,
            s,
            path,
            name=name,
            pert_col=pert_col,
            control=control,
            sep=sep,
            gene_name_col=gene_name_col,
            min_cells=min_cells,
            normalise=normalise,
            progress=transient_bar,
            guide_pattern=guide_pattern,
            guide_col=guide_col,
            context_col=context_col,
        )
    _print_report(rep)


@app.command()
def guides(
    name: Annotated[str, typer.Argument(help="Dataset (or group) imported with guide labels.")],
) -> None:
    """Guide agreement: per target its guides, their cells and the Pearson r of the guides'
    mean deltas (vs control) on the target's DE20 genes; the median over targets."""
    from grapekg.app import datasets

    s = settings()
    with open_store(s) as store:
        reports = datasets.guide_report(store, s, name)
    for rep in reports:
        rows = [
            [
                r.condition,
                ", ".join(r.guides),
                ", ".join(str(n) for n in r.n_cells),
                "n/a (1 guide)" if r.pearson != r.pearson else f"{r.pearson:.3f}",
            ]
            for r in rep.rows
        ]
        console.print(
            table(f"Guides of {rep.name}", ["target", "guides", "cells", "pearson"], rows)
        )
        med = rep.median
        console.print(
            f"{rep.name}: median guide agreement over {len(rep.rows)} targets: "
            + ("n/a" if med != med else f"{med:.3f}"),
            highlight=False,
        )


@app.command()
def simulate(
    genes: Annotated[int, typer.Option(min=20, help="Real KG genes to use.")] = 5000,
    conditions: Annotated[int, typer.Option(min=4, help="Perturbation conditions.")] = 150,
    cells_per_condition: Annotated[int, typer.Option(min=2)] = 50,
    combos: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Fraction of conditions that are doubles.")
    ] = 0.4,
    seed: Annotated[int, typer.Option()] = 0,
    name: Annotated[str, typer.Option(help="Dataset name.")] = "sim5k",
    signal: Annotated[
        str,
        typer.Option(
            help="learnable: modes and edges follow the KG annotations (the positive "
            "control); random-sign: coin-flip edge signs (the negative control)."
        ),
    ] = "learnable",
) -> None:
    """Simulate a SYNTHETIC Perturb-seq-like dataset on real KG genes, write it in GEARS
    format (labelled synthetic) with its planted edges and noise-free truth, and import it."""
    from grapekg.app import datasets
    from grapekg.perturb.simulate import SIGNALS

    check_choice("--signal", signal, SIGNALS)
    s = settings()
    with open_store(s) as store:
        res = datasets.simulate_dataset(
            store,
            s,
            genes=genes,
            conditions=conditions,
            cells_per_condition=cells_per_condition,
            combos=combos,
            seed=seed,
            name=name,
            signal=signal,
            status=console.status,
            progress=transient_bar,
        )
    console.print(
        f"SYNTHETIC data ({res.signal}) written to {res.h5ad} ({res.n_planted:,} planted "
        f"edges in {res.planted_edges}; noise-free truth in {res.truth})",
        highlight=False,
    )
    _print_report(res.report)


@app.command()
def download(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(_DOWNLOADABLE)}")],
    dest: Annotated[Path | None, typer.Option(help="Folder (default: <data dir>/raw).")] = None,
    url: Annotated[str | None, typer.Option(help="Override the published URL (mirrors).")] = None,
    sha256: Annotated[str | None, typer.Option(help="Expected SHA-256 of the file.")] = None,
) -> None:
    """Download a public GEARS-format dataset (resumable; size, checksum and HTML-page checks)."""
    from grapekg.app import datasets

    path = datasets.download_dataset(
        settings(), dataset, dest, url=url, sha256=sha256, progress=download_bar
    )
    console.print(f"downloaded {path}; next: grape data import {path}")


@app.command("list")
def list_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Datasets registered in the KG."""
    from grapekg.app import datasets

    check_format(fmt)
    with open_store() as store:
        rows = datasets.list_datasets(store)
    render_rows(
        [{k: ("" if v is None and fmt == "table" else v) for k, v in r.items()} for r in rows],
        fmt,
        title="Datasets",
        columns=[
            "name",
            "group",
            "context",
            "kind",
            "task",
            "cells",
            "genes",
            "in_kg",
            "conditions",
            "synthetic",
            "bundle",
        ],
    )
