"""``grape labels``: import label datasets ((perturbation, gene, 0/1 label, split) tables such
as PerturbQA's) and list them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.app import labels as labels_flow
from grapekg.cli.common import check_choice, check_float, check_input_file, open_store, settings
from grapekg.cli.console import console, table
from grapekg.perturb.labels import MODALITIES, TASKS

app = typer.Typer(help="Label datasets: (perturbation, gene) -> 0/1 labels.", no_args_is_help=True)


def _print_report(rep: labels_flow.LabelImportReport) -> None:
    tag = " [bold yellow](SYNTHETIC)[/]" if rep.synthetic else ""
    p, n = rep.perturbations, rep.pairs
    console.print(
        f"[green]✓[/] label dataset [bold]{rep.name}[/]{tag} ({rep.task}, {rep.cell_line}, "
        f"{rep.modality}): {rep.n_pairs:,} pairs ({rep.n_positive:,} positive), "
        f"{rep.n_genes:,} downstream genes; bundle {rep.bundle}",
        highlight=False,
    )
    console.print(
        f"split kept: train {p['train']:,} perturbations / {n['train']:,} pairs (of which "
        f"validation {p['val']:,} / {n['val']:,}), test {p['test']:,} / {n['test']:,}",
        highlight=False,
    )
    console.print(rep.pert_line, highlight=False)
    console.print(rep.gene_line, highlight=False)
    if rep.perts_unmapped:
        console.print(
            f"[yellow]{len(rep.perts_unmapped):,} perturbations not in the KG[/] "
            f"(e.g. {', '.join(rep.perts_unmapped[:8])})",
            highlight=False,
        )
    if rep.genes_unmapped:
        console.print(
            f"[yellow]{len(rep.genes_unmapped):,} downstream genes not in the KG[/] "
            f"(e.g. {', '.join(rep.genes_unmapped[:8])})",
            highlight=False,
        )
    if rep.ambiguous:
        ex = "; ".join(f"{s}: {', '.join(v)}" for s, v in list(rep.ambiguous.items())[:5])
        console.print(f"[yellow]{len(rep.ambiguous)} ambiguous names[/] ({ex})", highlight=False)


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="A CSV (or .tsv) table, one labelled pair a row.")],
    name: Annotated[str, typer.Option(help="Dataset name.")],
    task: Annotated[
        str, typer.Option(help="de (label 1 = differentially expressed) or direction (1 = up).")
    ],
    cell_line: Annotated[str, typer.Option(help="Cell line of the screen, e.g. K562.")],
    modality: Annotated[
        str, typer.Option(help="knockout, knockdown (CRISPRi) or activation.")
    ] = "knockdown",
    pert_col: Annotated[str, typer.Option(help="Column of the perturbed gene.")] = "pert",
    gene_col: Annotated[str, typer.Option(help="Column of the downstream gene.")] = "gene",
    label_col: Annotated[str, typer.Option(help="Column of the label.")] = "label",
    split_col: Annotated[str, typer.Option(help="Column of the split (train / test).")] = "split",
    positive: Annotated[
        str | None,
        typer.Option(help="Label value meaning 1 (one other value means 0); default: 0 / 1."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(help="Share of the training perturbations kept for validation.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the validation carve.")] = 0,
    synthetic: Annotated[bool, typer.Option(help="The table is synthetic (labelled so).")] = False,
) -> None:
    """Check, resolve and register a label table; the file's split is kept, a seeded
    validation part is carved from the training perturbations."""
    check_input_file("PATH", path)
    check_choice("--task", task, TASKS)
    check_choice("--modality", modality, MODALITIES)
    check_float("--val-fraction", val_fraction, minimum=0.0, maximum=0.9)
    s = settings()
    with open_store(s) as store:
        rep = labels_flow.import_labels(
            store,
            s,
            path,
            name=name,
            task=task,
            cell_line=cell_line,
            modality=modality,
            pert_col=pert_col,
            gene_col=gene_col,
            label_col=label_col,
            split_col=split_col,
            positive=positive,
            val_fraction=val_fraction,
            seed=seed,
            synthetic=synthetic,
        )
    _print_report(rep)


@app.command("list")
def list_cmd() -> None:
    """The label datasets of the data folder: task, cell line, pairs, perturbations."""
    rows = [
        [
            d["name"] + (" (SYNTHETIC)" if d["synthetic"] else ""),
            d["task"],
            d["cell_line"],
            d["modality"],
            f"{d['n_pairs']:,}",
            f"{d['perturbations'].get('train', 0):,} / {d['perturbations'].get('val', 0):,} / "
            f"{d['perturbations'].get('test', 0):,}",
            f"{d['n_genes']:,}",
        ]
        for d in labels_flow.list_labels(settings())
    ]
    if not rows:
        console.print("no label datasets yet: grape labels import FILE ...")
        return
    console.print(
        table(
            "Label datasets",
            ["name", "task", "cell line", "modality", "pairs", "perts train / val / test", "genes"],
            rows,
        )
    )
