"""``grape data``: import, simulate and download perturbation datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, table
from grapekg.kg import datasets
from grapekg.perturb import download as dl

app = typer.Typer(help="Perturbation datasets: import, simulate, download, list.", no_args_is_help=True)


def _print_report(rep: datasets.ImportReport) -> None:
    tag = " [bold yellow](SYNTHETIC)[/]" if rep.synthetic else ""
    console.print(f"[green]✓[/] dataset [bold]{rep.name}[/]{tag}: {rep.n_cells:,} cells, "
                  f"{rep.n_genes:,} genes ({rep.genes_in_kg:,} in the KG), "
                  f"{rep.n_conditions:,} perturbation conditions; bundle {rep.bundle}")
    if rep.genes_not_in_kg:
        ex = ", ".join(rep.genes_not_in_kg[:8])
        console.print(f"[yellow]{len(rep.genes_not_in_kg):,} measured genes not in the KG[/] (e.g. {ex})")
    if rep.genes_ambiguous:
        ex = "; ".join(f"{s}: {', '.join(v)}" for s, v in list(rep.genes_ambiguous.items())[:5])
        console.print(f"[yellow]{len(rep.genes_ambiguous)} ambiguous symbols[/] ({ex})")
    if rep.targets_not_in_kg:
        console.print(f"[yellow]{len(rep.targets_not_in_kg)} perturbation targets not in the KG[/]: "
                      f"{', '.join(rep.targets_not_in_kg[:10])}")


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="An .h5ad file (GEARS format is native).")],
    pert_col: Annotated[str, typer.Option(help="obs column holding the perturbation.")] = "condition",
    control: Annotated[list[str], typer.Option(help="Control label(s), e.g. ctrl, control, non-targeting.")] = ["ctrl"],  # noqa: B006
    sep: Annotated[str, typer.Option(help="Separator of genes in a condition: '+' (GEARS) or e.g. '_'.")] = "+",
    gene_name_col: Annotated[str, typer.Option(help="var column with gene symbols.")] = "gene_name",
    name: Annotated[str | None, typer.Option(help="Dataset name (default: from the file name).")] = None,
    min_cells: Annotated[int, typer.Option(min=1, help="Fewest cells a condition may have.")] = 2,
    normalise: Annotated[bool, typer.Option(help="Data are raw counts: normalise_total + log1p on the fly.")] = False,
) -> None:
    """Validate, summarise (streaming), compute DE genes and register a dataset in the KG."""
    s = settings()
    with open_store(s) as store:
        rep = datasets.import_h5ad(store, s, path, name=name, pert_col=pert_col, control=control,
                                   sep=sep, gene_name_col=gene_name_col, min_cells=min_cells,
                                   normalise=normalise)
    _print_report(rep)


@app.command()
def simulate(
    genes: Annotated[int, typer.Option(min=20, help="Real KG genes to use.")] = 5000,
    conditions: Annotated[int, typer.Option(min=4, help="Perturbation conditions.")] = 150,
    cells_per_condition: Annotated[int, typer.Option(min=2)] = 50,
    combos: Annotated[float, typer.Option(min=0.0, max=0.9, help="Fraction of conditions that are doubles.")] = 0.4,
    seed: Annotated[int, typer.Option()] = 0,
    name: Annotated[str, typer.Option(help="Dataset name.")] = "sim5k",
) -> None:
    """Simulate a SYNTHETIC Perturb-seq-like dataset on real KG genes, write it in GEARS
    format (labelled synthetic) with its planted edges, and import it."""
    from grapekg.perturb.simulate import simulate as run_sim

    s = settings()
    out = s.data_dir / "raw" / name
    out.mkdir(parents=True, exist_ok=True)
    with open_store(s) as store:
        with console.status("choosing KG genes…"):
            table_ = datasets.kg_gene_table(store, genes, seed=seed)
        with console.status("simulating (SYNTHETIC)…"):
            sim = run_sim(table_, n_conditions=conditions, cells_per_condition=cells_per_condition,
                          combo_fraction=combos, seed=seed)
        h5 = out / "perturb_processed.h5ad"
        sim.adata.write_h5ad(h5)
        sim.edges.to_parquet(out / "planted_edges.parquet", index=False)
        rep = datasets.import_h5ad(store, s, h5, name=name)
    console.print(f"SYNTHETIC data written to {h5} ({len(sim.edges):,} planted edges in "
                  f"{out / 'planted_edges.parquet'})")
    _print_report(rep)


@app.command()
def download(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(dl.DATASETS)}")],
    dest: Annotated[Path | None, typer.Option(help="Folder (default: <data dir>/raw).")] = None,
    url: Annotated[str | None, typer.Option(help="Override the published URL (mirrors).")] = None,
    sha256: Annotated[str | None, typer.Option(help="Expected SHA-256 of the file.")] = None,
) -> None:
    """Download a public GEARS-format dataset (resumable; size, checksum and HTML-page checks)."""
    s = settings()
    target = dest or (s.data_dir / "raw")
    path = dl.download(dataset, target, url=url, sha256=sha256)
    console.print(f"downloaded {path}; next: grape data import {path}")


@app.command("list")
def list_cmd() -> None:
    """Datasets registered in the KG."""
    with open_store() as store:
        rows = datasets.list_datasets(store)
    console.print(table("Datasets", ["name", "cells", "genes", "in KG", "conditions", "synthetic", "bundle"],
                        [list(r.values()) for r in rows]))
