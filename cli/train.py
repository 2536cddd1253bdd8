"""``grape train``, ``grape predict``, ``grape report``: GRAPE runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, workspace
from grapekg.cli.console import console, epoch_bar, progress_counter, table
from grapekg.cli.evaluate import parse_seeds, print_evaluation
from grapekg.errors import ConfigError


def train(
    dataset: Annotated[str, typer.Option(help="Dataset name (grape data list).")],
    model: Annotated[str, typer.Option(help="Model: grape.")] = "grape",
    split: Annotated[str, typer.Option(help="random or simulation")] = "simulation",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1..5")] = "1",
    ablation: Annotated[
        list[str],
        typer.Option(
            help="only_seq, only_desc, only_fusion, no_gsl, no_biotype; repeatable; 'none' = full "
            "model"
        ),
    ] = ["none"],  # noqa: B006
    epochs: Annotated[int, typer.Option(min=1)] = 20,
    align_epochs: Annotated[int, typer.Option(min=0, help="Eq. 1 pre-training epochs")] = 10,
    hidden: Annotated[int, typer.Option(min=8)] = 64,
    heads: Annotated[
        int, typer.Option(min=1, help="Attention heads H (Eq. 11) and similarity heads T (Eq. 4)")
    ] = 4,
    top_k: Annotated[
        int, typer.Option(min=1, help="Learned neighbours kept per gene and modality (Eq. 3)")
    ] = 4,
    batch_size: Annotated[int, typer.Option(min=1, help="Conditions per step")] = 16,
    lr: Annotated[float, typer.Option()] = 1e-3,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    write_back: Annotated[bool, typer.Option(help="Write learned edges to Neo4j")] = True,
    evaluate: Annotated[
        bool, typer.Option(help="Print the evaluation table with the baselines")
    ] = True,
    pert_channel: Annotated[
        bool,
        typer.Option(
            help="Add the direct perturbation channel (not in the paper; runs labelled grape-pc)"
        ),
    ] = False,
) -> None:
    """Train GRAPE (and ablations) per seed on a dataset's KG graph; write back; evaluate."""
    from grapekg.app import evaluate as evaluation
    from grapekg.app import train as training

    if model != "grape":
        raise ConfigError(f"--model '{model}': only 'grape' is implemented")
    ws = workspace()
    seed_list = parse_seeds(seeds)
    dev = training.resolve_device(device)
    base = training.GrapeConfig(
        epochs=epochs,
        align_epochs=align_epochs,
        hidden=hidden,
        batch_size=batch_size,
        lr=lr,
        gat_heads=heads,
        sim_heads=heads,
        sim_top_k=top_k,
        pert_channel=pert_channel,
    )
    labels: dict[str, Path] = {}
    with open_store(ws.settings) as store:
        with progress_counter("prior edges (once)", None) as adv:
            built = training.ensure_priors(store, adv)
        if built:
            console.print(f"built prior edges: {', '.join(built)}")
        graph = training.dataset_graph(store, dataset)
        g = graph[0]
        console.print(
            f"graph of {dataset}: {g.num_genes:,} genes "
            f"({sum(b == 'c' for b in g.biotype):,} c), "
            f"{int(g.prior_edge_index().shape[1]):,} directed prior edges; "
            f"text {'yes' if g.text is not None else 'no'}, "
            f"DNA {'yes' if g.dna is not None else 'no (no sequences)'}; "
            f"snapshot {graph[1][:12]}"
        )
        for abl in ablation:
            abl_ = None if abl == "none" else abl
            outcomes = []
            for seed in seed_list:
                with epoch_bar("GRAPE", epochs) as bar:
                    o = training.train_seed(
                        store,
                        ws,
                        dataset,
                        split,
                        seed,
                        base,
                        ablation=abl_,
                        device=dev,
                        write_back=write_back,
                        graph=graph,
                        progress=bar,
                    )
                console.print(
                    f"[green]✓[/] {o.run_id}: best epoch {o.best_epoch}, "
                    f"val MSE {o.best_val:.5f}, {o.n_test} test conditions"
                    + (f", wrote {o.edges_written}" if o.edges_written else "")
                )
                outcomes.append(o)
            label = training.run_label(abl_, pert_channel)
            labels[label] = training.combine_predictions(ws, dataset, split, label, outcomes)
        bundle = evaluation.load_bundle(store, ws, dataset)
    if evaluate:
        res = evaluation.evaluate(ws, bundle, dataset, split, seed_list, labels.items())
        tag = " — SYNTHETIC data" if res.result.synthetic else ""
        print_evaluation(res, f"{dataset}, {split} split, seeds {seeds}: mean ± sd{tag}")
        console.print(
            f"tables and figures in {res.out} ({', '.join(p.name for p in res.files.values())})"
        )


def predict_cmd(
    run: Annotated[str, typer.Option(help="Run id (grape runs list) or run folder.")],
    perturb: Annotated[list[str], typer.Option(help="A or A+B (symbols), repeatable.")],
    out: Annotated[
        Path | None, typer.Option(help=".h5ad, .csv or .parquet (default: print top changes)")
    ] = None,
    top: Annotated[int, typer.Option(help="Genes shown per perturbation when printing.")] = 10,
) -> None:
    """Predict mean expression after knocking down genes (singles, doubles, unseen genes)."""
    from grapekg.app import predict as prediction

    pred = prediction.predict_run(workspace(), run, perturb)
    if out is None:
        for c in pred.conditions:
            console.print(
                table(
                    f"{c}: largest predicted changes (run {pred.run_dir.name})",
                    ["gene", "symbol", "control", "predicted", "delta"],
                    [
                        [
                            x.gene,
                            x.symbol,
                            f"{x.control:.3f}",
                            f"{x.predicted:.3f}",
                            f"{x.delta:+.3f}",
                        ]
                        for x in prediction.top_changes(pred, c, top)
                    ],
                )
            )
        return
    prediction.write_predictions(pred, out)
    console.print(f"wrote {len(pred.conditions)} predicted profiles to {out}")


def report(
    run: Annotated[str, typer.Argument(help="Run id or folder.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: the run folder/report)")
    ] = None,
) -> None:
    """Figures of a run: UMAP of gene representations before/after training by biotype
    (GRAPE Fig. 3), per-condition violins (Fig. 4), ablation bars (Fig. 5)."""
    from grapekg.app.report import report as make_report

    files = make_report(workspace(), run, out)
    for k, p in files.items():
        console.print(f"{k:<10} {p}")
