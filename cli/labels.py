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


@app.command("train")
def train_cmd(
    dataset: Annotated[str, typer.Option(help="A label dataset (grape labels import).")],
    seeds: Annotated[str, typer.Option(help="Seeds: A..B or a comma list.")] = "1",
    sources: Annotated[
        str, typer.Option(help="Knowledge the model reads: go, string, collectri (comma list).")
    ] = "go,string,collectri",
    epochs: Annotated[int, typer.Option(help="At most this many epochs.")] = 4,
    hidden: Annotated[int, typer.Option(help="Width of the graph encoder.")] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 3e-3,
    label: Annotated[str, typer.Option(help="Name of the runs (in their ids).")] = "grape",
    write_back: Annotated[
        bool, typer.Option(help="Write the test predictions to Neo4j (PREDICTED_RESPONSE).")
    ] = True,
) -> None:
    """Train GRAPE's label model per seed on the file's training perturbations (epoch chosen
    on the validation part), score the unseen test perturbations (AUC per gene), save each run
    and write its predictions back."""
    import re

    from grapekg.cli.common import check_int, parse_seeds

    seed_list = parse_seeds(seeds)
    check_int("--epochs", epochs, minimum=1, maximum=1000)
    check_int("--hidden", hidden, minimum=2, maximum=1024)
    check_float("--lr", lr, minimum=1e-7, maximum=1.0)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", label):
        from grapekg.errors import ConfigError

        raise ConfigError(f"--label {label!r}: letters, digits, '-' and '_' only")
    src = [x.strip() for x in sources.split(",") if x.strip()]
    from grapekg.app import label_runs
    from grapekg.model.grape.labels import LabelConfig

    for x in src:
        check_choice("--sources", x, label_runs.LABEL_SOURCES)
    cfg = LabelConfig(hidden=hidden, epochs=epochs, lr=lr)

    def show(run: str, epoch: int, row: dict) -> None:
        console.print(
            f"  {run} epoch {epoch}: validation AUC per gene {row['val_score']:.4f}",
            highlight=False,
        )

    runs = label_runs.train_label_runs(
        settings(),
        dataset,
        seed_list,
        config=cfg,
        sources=src,
        label=label,
        write_back=write_back,
        progress=show,
    )
    console.print(
        table(
            f"{dataset}: unseen test perturbations",
            ["run", "AUC per gene", "AUPRC", "genes scored", "epoch kept", "edges written", "s"],
            [
                [
                    r.id,
                    f"{r.scores['auc']:.4f}",
                    f"{r.scores['auprc']:.4f}",
                    f"{r.scores['n_genes']:,}",
                    str(r.learned.get("best_epoch")),
                    f"{sum(r.written.values()):,}",
                    f"{r.seconds:.0f}",
                ]
                for r in runs
            ],
        )
    )


@app.command("predict")
def predict_cmd(
    run: Annotated[
        list[str], typer.Option(help="A label run id (repeat: a de and a direction run).")
    ],
    perturb: Annotated[list[str], typer.Option(help="A gene to knock down (repeatable).")],
    limit: Annotated[int, typer.Option(help="Genes shown per perturbation.")] = 20,
) -> None:
    """Which genes knocking down X moves, and which way: P(DE) and P(up) per downstream gene."""
    from grapekg.app import label_runs
    from grapekg.cli.common import check_int

    check_int("--limit", limit, minimum=1, maximum=100_000)
    df = label_runs.predict_label_runs(settings(), run, perturb)
    for pert, sub in df.groupby("perturbation", sort=False):
        cols = [c for c in ("p_de", "p_up") if c in sub]
        console.print(
            table(
                f"knock-down of {pert}",
                ["gene", *cols],
                [
                    [r["gene"], *(f"{r[c]:.3f}" for c in cols)]
                    for _, r in sub.head(limit).iterrows()
                ],
            )
        )
