"""``grape train``, ``grape predict``, ``grape report``: GRAPE runs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, progress_counter, table
from grapekg.cli.evaluate import parse_seeds
from grapekg.errors import ConfigError
from grapekg.kg.datasets import bundle_path
from grapekg.evaluation import scoring as ev
from grapekg.perturb import bundle as bundle_mod


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    return name


def train(
    dataset: Annotated[str, typer.Option(help="Dataset name (grape data list).")],
    model: Annotated[str, typer.Option(help="Model: grape.")] = "grape",
    split: Annotated[str, typer.Option(help="random or simulation")] = "simulation",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1..5")] = "1",
    ablation: Annotated[list[str], typer.Option(help="only_seq, only_desc, only_fusion, no_gsl, no_biotype; repeatable; 'none' = full model")] = ["none"],  # noqa: B006
    epochs: Annotated[int, typer.Option(min=1)] = 20,
    align_epochs: Annotated[int, typer.Option(min=0, help="Eq. 1 pre-training epochs")] = 10,
    hidden: Annotated[int, typer.Option(min=8)] = 64,
    heads: Annotated[int, typer.Option(min=1, help="Attention heads H (Eq. 11) and similarity heads T (Eq. 4)")] = 4,
    top_k: Annotated[int, typer.Option(min=1, help="Learned neighbours kept per gene and modality (Eq. 3)")] = 4,
    batch_size: Annotated[int, typer.Option(min=1, help="Conditions per step")] = 16,
    lr: Annotated[float, typer.Option()] = 1e-3,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    write_back: Annotated[bool, typer.Option(help="Write learned edges to Neo4j")] = True,
    evaluate: Annotated[bool, typer.Option(help="Print the evaluation table with the baselines")] = True,
    pert_channel: Annotated[bool, typer.Option(help="Add the direct perturbation channel (not in the paper; runs labelled grape-pc)")] = False,
) -> None:
    """Train GRAPE (and ablations) per seed on a dataset's KG graph; write back; evaluate."""
    from grapekg.app import train as training
    from grapekg.model.grape.config import GrapeConfig

    if model != "grape":
        raise ConfigError(f"--model '{model}': only 'grape' is implemented")
    s = settings()
    seed_list = parse_seeds(seeds)
    dev = _device(device)
    base = GrapeConfig(epochs=epochs, align_epochs=align_epochs, hidden=hidden,
                       batch_size=batch_size, lr=lr, gat_heads=heads, sim_heads=heads,
                       sim_top_k=top_k, pert_channel=pert_channel)
    labels: dict[str, Path] = {}
    with open_store(s) as store:
        with progress_counter("prior edges (once)", None) as adv:
            built = training.ensure_priors(store, adv)
        if built:
            console.print(f"built prior edges: {', '.join(built)}")
        graph = training.dataset_graph(store, dataset)
        g = graph[0]
        console.print(f"graph of {dataset}: {g.num_genes:,} genes "
                      f"({sum(b == 'c' for b in g.biotype):,} c), "
                      f"{int(g.prior_edge_index().shape[1]):,} directed prior edges; "
                      f"text {'yes' if g.text is not None else 'no'}, "
                      f"DNA {'yes' if g.dna is not None else 'no (no sequences)'}; snapshot {graph[1][:12]}")
        for abl in ablation:
            abl_ = None if abl == "none" else abl
            outcomes = []
            for seed in seed_list:
                o = training.train_seed(store, s, dataset, split, seed, base, ablation=abl_,
                                        device=dev, write_back=write_back, graph=graph)
                console.print(f"[green]✓[/] {o.run_id}: best epoch {o.best_epoch}, "
                              f"val MSE {o.best_val:.5f}, {o.n_test} test conditions"
                              + (f", wrote {o.edges_written}" if o.edges_written else ""))
                outcomes.append(o)
            label = training.run_label(abl_, pert_channel)
            labels[label] = training.combine_predictions(s, dataset, split, label, outcomes)
        b = bundle_mod.load(bundle_path(store, s, dataset))
    if evaluate:
        models = {lab: ev.baseline_predictor(key, b) for lab, key in ev.BASELINE_LABELS.items()}
        models.update({lab: ev.load_predictions(p, b) for lab, p in labels.items()})
        res = ev.evaluate_models(b, split, seed_list, models)
        out = s.data_dir / "results" / dataset / split
        files = ev.write_outputs(res, out)
        tab = res.table()
        tag = " — SYNTHETIC data" if res.synthetic else ""
        console.print(table(f"{dataset}, {split} split, seeds {seeds}: mean ± sd{tag}",
                            ["metric", *tab.index], [[m, *tab[m]] for m in tab.columns]))
        console.print(f"tables and figures in {out} ({', '.join(p.name for p in files.values())})")


def predict_cmd(
    run: Annotated[str, typer.Option(help="Run id (grape runs list) or run folder.")],
    perturb: Annotated[list[str], typer.Option(help="A or A+B (symbols), repeatable.")],
    out: Annotated[Path | None, typer.Option(help=".h5ad, .csv or .parquet (default: print top changes)")] = None,
    top: Annotated[int, typer.Option(help="Genes shown per perturbation when printing.")] = 10,
) -> None:
    """Predict mean expression after knocking down genes (singles, doubles, unseen genes)."""
    from grapekg.model.grape.train import load_model, predict
    from grapekg.perturb.conditions import normalise_condition

    s = settings()
    run_dir = Path(run) if Path(run).is_dir() else s.data_dir / "runs" / run
    if not (run_dir / "config.json").exists():
        raise ConfigError(f"--run '{run}': no run folder at {run_dir}")
    meta = json.loads((run_dir / "meta.json").read_text())
    _, graph = load_model(run_dir)
    conds = [normalise_condition(p if "+" in p else f"{p}+ctrl") for p in perturb]
    unknown = sorted({x for c in conds for x in c.split("+") if x != "ctrl" and x not in graph.symbols})
    if unknown:
        raise ConfigError(f"--perturb: gene(s) not in the run's graph: {', '.join(unknown)}")
    pred = predict(run_dir, conds)
    ids = [str(g) for g in meta["gene_ids"]]
    sym = dict(zip(graph.gene_ids, graph.symbols, strict=True))
    ctrl = np.load(run_dir / "ctrl.npy")
    if out is None:
        for c in conds:
            d = pred[c] - ctrl
            idx = np.argsort(-np.abs(d))[:top]
            console.print(table(f"{c}: largest predicted changes (run {run_dir.name})",
                                ["gene", "symbol", "control", "predicted", "delta"],
                                [[ids[i], sym.get(ids[i], ""), f"{ctrl[i]:.3f}", f"{pred[c][i]:.3f}",
                                  f"{d[i]:+.3f}"] for i in idx]))
        return
    mat = np.stack([pred[c] for c in conds])
    if out.suffix == ".h5ad":
        import anndata as ad

        a = ad.AnnData(X=mat.astype(np.float32), obs=pd.DataFrame({"condition": conds}, index=conds),
                       var=pd.DataFrame({"gene_name": [sym.get(i, "") for i in ids]}, index=ids))
        a.uns["grapekg"] = {"run": run_dir.name, "kind": "predicted condition means"}
        a.write_h5ad(out)
    else:
        wide = pd.DataFrame(mat, columns=ids)
        wide.insert(0, "condition", conds)
        wide.to_parquet(out, index=False) if out.suffix == ".parquet" else wide.to_csv(out, index=False)
    console.print(f"wrote {len(conds)} predicted profiles to {out}")


def report(
    run: Annotated[str, typer.Argument(help="Run id or folder.")],
    out: Annotated[Path | None, typer.Option(help="Folder (default: the run folder/report)")] = None,
) -> None:
    """Figures of a run: UMAP of gene representations before/after training by biotype
    (GRAPE Fig. 3), per-condition violins (Fig. 4), ablation bars (Fig. 5)."""
    from grapekg.evaluation.report import make_report

    from grapekg.app.recover import resolve_runs

    s = settings()
    run_dir = resolve_runs(s, [run])[0]
    files = make_report(run_dir, out or run_dir / "report", s.data_dir)
    for k, p in files.items():
        console.print(f"{k:<10} {p}")
