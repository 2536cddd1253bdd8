"""``grape train``, ``grape predict``, ``grape report``: GRAPE and BioDSNN runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from grapekg.app import bounds
from grapekg.cli.common import (
    check_choice,
    check_device,
    check_input_file,
    open_store,
    parse_seeds,
    workspace,
)
from grapekg.cli.console import console, epoch_bar, progress_counter, table
from grapekg.cli.evaluate import print_evaluation
from grapekg.errors import ConfigError


def train(
    dataset: Annotated[str, typer.Option(help="Dataset name (grape data list).")],
    model: Annotated[str, typer.Option(help="Model: grape or biodsnn.")] = "grape",
    split: Annotated[
        str, typer.Option(help="random, simulation, combo or a split .json file")
    ] = "simulation",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1..5")] = "1",
    ablation: Annotated[
        list[str],
        typer.Option(
            help="GRAPE: only_seq, only_desc, only_fusion, no_gsl, no_biotype; BioDSNN: no_vae, "
            "no_mask, no_attention; repeatable; 'none' = full model"
        ),
    ] = ["none"],  # noqa: B006
    epochs: Annotated[int, typer.Option(min=1)] = 20,
    align_epochs: Annotated[int, typer.Option(min=0, help="Eq. 1 pre-training epochs")] = 10,
    hidden: Annotated[int, typer.Option(min=8)] = 64,
    heads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="GRAPE: attention heads H (Eq. 11) and similarity heads T (Eq. 4), default 4; "
            "BioDSNN: attention heads, default 2",
        ),
    ] = None,
    top_k: Annotated[
        int, typer.Option(min=1, help="Learned neighbours kept per gene and modality (Eq. 3)")
    ] = 4,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Conditions per step (GRAPE 16, BioDSNN 32)")
    ] = None,
    lr: Annotated[float, typer.Option()] = 1e-3,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    write_back: Annotated[bool, typer.Option(help="Write learned edges to Neo4j")] = True,
    evaluate: Annotated[
        bool, typer.Option(help="Print the evaluation table with the baselines")
    ] = True,
    neighbourhood: Annotated[
        int,
        typer.Option(
            min=0,
            help="KG steps around the measured genes and targets added to the graph (0: "
            "measured genes + targets only; 1: also their prior-edge neighbours, which only "
            "pass messages)",
        ),
    ] = 0,
    pert_channel: Annotated[
        bool,
        typer.Option(
            help="Add the direct perturbation channel (not in the paper; runs labelled grape-pc)"
        ),
    ] = False,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="KEY=VALUE: any setting of the model (grapekg.model.grape.config.GrapeConfig, "
            "grapekg.model.biodsnn.config.BiodsnnConfig), repeatable, e.g. --set "
            "gaussian_sigma=none",
        ),
    ] = [],  # noqa: B006
    label: Annotated[
        str | None,
        typer.Option(help="Name of these runs in tables (default grape[-ablation][+KEY...])"),
    ] = None,
) -> None:
    """Train GRAPE or BioDSNN (and ablations) per seed on a dataset's KG graph; write back;
    evaluate."""
    # every option is checked before anything is imported, built or written: a usage error
    # answers at once and leaves no run folder
    check_choice("--model", model, ("grape", "biodsnn"))
    _check_options(
        model, split, seeds, ablation, device, label, set_,
        {"epochs": epochs, "align_epochs": align_epochs, "hidden": hidden, "heads": heads,
         "top_k": top_k, "batch_size": batch_size, "lr": lr, "neighbourhood": neighbourhood},
    )  # fmt: skip
    if model == "biodsnn":
        _train_biodsnn(
            dataset,
            split,
            seeds,
            ablation,
            epochs,
            hidden,
            heads,
            batch_size,
            lr,
            device,
            write_back,
            evaluate,
            neighbourhood,
            pert_channel,
            set_,
            label,
        )
        return
    from grapekg.app import evaluate as evaluation
    from grapekg.app import train as training

    heads = 4 if heads is None else heads
    batch_size = 16 if batch_size is None else batch_size
    seed_list = parse_seeds(seeds)
    overrides = training.config_overrides(set_)
    ws = workspace()
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
        **overrides,
    )
    bounds.check_config("grape", base)
    dev = training.resolve_device(device)
    per_member: dict[str, dict[str, Path]] = {}
    with open_store(ws.settings) as store:
        with progress_counter("prior edges (once)", None) as adv:
            built = training.ensure_priors(store, adv)
        if built:
            console.print(f"built prior edges: {', '.join(built)}")
        members = training.dataset_members(store, ws, dataset)
        if members != [dataset]:
            console.print(f"group {dataset}: {len(members)} members ({', '.join(members)})")
        for member in members:
            dg = training.dataset_graph(store, ws, member, neighbourhood=neighbourhood)
            _print_graph(member, dg)
            ctx = _RunContext(store, ws, dataset, member, split, seed_list, base, dev, write_back)
            for abl in ablation:
                abl_ = None if abl == "none" else abl
                name = _label(label, abl_, training.run_label(abl_, pert_channel), overrides)
                per_member.setdefault(member, {})[name] = ctx.seeds(
                    training.train_seed, abl_, name, "GRAPE", epochs, "val MSE", graph=dg
                )
        bundle = evaluation.load_bundle(store, ws, dataset) if members == [dataset] else None
    _report(ws, bundle, dataset, split, seeds, seed_list, per_member, evaluate)


def _train_biodsnn(
    dataset: str,
    split: str,
    seeds: str,
    ablation: list[str],
    epochs: int,
    hidden: int,
    heads: int | None,
    batch_size: int | None,
    lr: float,
    device: str,
    write_back: bool,
    evaluate: bool,
    neighbourhood: int,
    pert_channel: bool,
    set_: list[str],
    label: str | None,
) -> None:
    """``grape train --model biodsnn``: the same datasets, splits, seeds, devices, ablation
    and --set/--label machinery as GRAPE (grapekg.app.biodsnn)."""
    if neighbourhood:
        raise ConfigError("--neighbourhood: GRAPE only (BioDSNN's graph is the measured genes)")
    if pert_channel:
        raise ConfigError("--pert-channel: GRAPE only")
    from grapekg.app import biodsnn as bio
    from grapekg.app import evaluate as evaluation
    from grapekg.app import train as training

    seed_list = parse_seeds(seeds)
    overrides = bio.config_overrides(set_)
    given = {"epochs": epochs, "hidden": hidden, "lr": lr}
    if heads is not None:
        given["heads"] = heads
    if batch_size is not None:
        given["batch_size"] = batch_size
    try:
        base = bio.BiodsnnConfig(**{**given, **overrides})
    except ValueError as exc:
        raise ConfigError(f"biodsnn settings: {exc}") from None
    bounds.check_config("biodsnn", base)
    ws = workspace()
    dev = training.resolve_device(device)
    per_member: dict[str, dict[str, Path]] = {}
    with open_store(ws.settings) as store:
        with progress_counter("prior edges (once)", None) as adv:
            built = training.ensure_priors(store, adv)
        if built:
            console.print(f"built prior edges: {', '.join(built)}")
        members = training.dataset_members(store, ws, dataset)
        if members != [dataset]:
            console.print(f"group {dataset}: {len(members)} members ({', '.join(members)})")
        for member in members:
            inp = bio.dataset_inputs(store, ws, member)
            console.print(
                f"BioDSNN inputs of {member}: {len(inp.gene_ids):,} genes, "
                f"{len(inp.extra_ids):,} unmeasured targets, {inp.info['go_edges']:,} GO-Jaccard "
                f"edges, {inp.info['genes_in_pathways']:,} genes in "
                f"{inp.info['lowest_pathways']:,} lowest-level Reactome pathways; snapshot "
                f"{inp.snapshot_id[:12]}"
            )
            if inp.warning():
                console.print(f"[yellow]warning:[/] {inp.warning()}")
            ctx = _RunContext(store, ws, dataset, member, split, seed_list, base, dev, write_back)
            for abl in ablation:
                abl_ = None if abl == "none" else abl
                name = _label(label, abl_, bio.run_label(abl_), overrides)
                per_member.setdefault(member, {})[name] = ctx.seeds(
                    bio.train_seed, abl_, name, "BioDSNN", base.epochs, "val mse_de", inputs=inp
                )
        bundle = evaluation.load_bundle(store, ws, dataset) if members == [dataset] else None
    _report(ws, bundle, dataset, split, seeds, seed_list, per_member, evaluate)


def _check_options(
    model: str,
    split: str,
    seeds: str,
    ablation: list[str],
    device: str,
    label: str | None,
    set_: list[str],
    numbers: dict[str, int | float | None],
) -> None:
    """The checks of ``grape train``'s options that need no model code (rc 2, one line):
    seeds, device, ablations, split, label, the numeric limits of
    :mod:`grapekg.app.bounds` and ``--set`` values and keys."""
    parse_seeds(seeds)
    check_device(device)
    for abl in ablation:
        check_choice("--ablation", abl, ("none", *bounds.ABLATIONS[model]))
    if split.lower().endswith(".json"):
        check_input_file("--split", Path(split), (".json",))
    else:
        check_choice("--split", split, bounds.SPLIT_NAMES)
    if label is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}", label):
        raise ConfigError(f"--label {label[:40]!r}: letters, digits and _ . + - (at most 64)")
    if model == "biodsnn":
        numbers = {k: v for k, v in numbers.items() if k not in ("align_epochs", "top_k")}
        numbers["heads"] = 2 if numbers.get("heads") is None else numbers["heads"]
    elif numbers.get("heads") is None:
        numbers["heads"] = 4
    bounds.check_options(model, numbers)
    bounds.check_set_pairs(model, set_)


def _label(label: str | None, ablation: str | None, default: str, overrides: dict) -> str:
    """--label (with the ablation appended when several are run), else the model's default
    label (``grape[-ablation]``, ``biodsnn[-ablation]``) + ``+KEY`` for each --set key."""
    if label:
        return label if ablation is None else f"{label}-{ablation.replace('_', '-')}"
    return default + "".join(f"+{k}" for k in sorted(overrides))


@dataclass
class _RunContext:
    """What every seed of one dataset member shares, for GRAPE and BioDSNN alike."""

    store: Any
    ws: Any
    dataset: str
    member: str
    split: str
    seed_list: list[int]
    base: Any
    device: str
    write_back: bool

    def seeds(self, train_seed, ablation, name, kind, epochs, score, **inputs):
        """All seeds of one run name through :func:`_seed_runs`; ``train_seed`` is the
        model's app-layer ``train_seed`` and ``inputs`` its graph / inputs keyword."""

        def one(seed, member_split, bar):
            return train_seed(
                self.store,
                self.ws,
                self.member,
                self.split,
                seed,
                self.base,
                ablation=ablation,
                device=self.device,
                write_back=self.write_back,
                split=member_split,
                progress=bar,
                label=name,
                **inputs,
            )

        return _seed_runs(
            self.store, self.ws, self.dataset, self.member, self.split, self.seed_list, name,
            kind, epochs, score, one,
        )  # fmt: skip


def _seed_runs(
    store: object,
    ws: object,
    dataset: str,
    member: str,
    split: str,
    seeds: list[int],
    run_name: str,
    title: str,
    epochs: int,
    val_name: str,
    one: object,
) -> Path:
    """Train ``one(seed, member_split, bar)`` for every seed of a member (an epoch bar each,
    one line per run); returns the combined predictions file for ``grape evaluate``."""
    from grapekg.app import train as training

    outcomes = []
    for seed in seeds:
        member_split = training.member_splits(store, ws, dataset, split, seed)[member]  # type: ignore[arg-type]
        with epoch_bar(title, epochs) as bar:
            o = one(seed, member_split, bar)  # type: ignore[operator]
        console.print(
            f"[green]✓[/] {o.run_id}: best epoch {o.best_epoch}, "
            f"{val_name} {o.best_val:.5f}, {o.n_test} test conditions"
            + (f", wrote {o.edges_written}" if o.edges_written else "")
        )
        outcomes.append(o)
    return training.combine_predictions(ws, member, split, run_name, outcomes)  # type: ignore[arg-type]


def _report(
    ws: object,
    bundle: object,
    dataset: str,
    split: str,
    seeds: str,
    seed_list: list[int],
    per_member: dict[str, dict[str, Path]],
    evaluate: bool,
) -> None:
    """After training: for a group, where each member's predictions are and the evaluate
    command; for a dataset (``bundle``), the evaluation table beside the baselines."""
    from grapekg.app import evaluate as evaluation

    if bundle is None:
        for member, files in per_member.items():
            for lab_, path in files.items():
                console.print(f"{member}: {lab_} predictions in {path}")
        first = next(iter(per_member.values()))
        console.print(
            f"evaluate with: grape evaluate --dataset {dataset} --split {split} --seeds {seeds}"
            + "".join(f" --predictions {lab}=<member file>" for lab in first)
        )
        return
    if evaluate:
        labels = per_member[dataset]
        res = evaluation.evaluate(ws, bundle, dataset, split, seed_list, labels.items())  # type: ignore[arg-type]
        tag = " — SYNTHETIC data" if res.result.synthetic else ""
        print_evaluation(res, f"{dataset}, {split} split, seeds {seeds}: mean ± sd{tag}")
        console.print(
            f"tables and figures in {res.out} ({', '.join(p.name for p in res.files.values())})"
        )


def _print_graph(name: str, dg: object) -> None:
    g = dg.graph  # type: ignore[attr-defined]
    console.print(
        f"graph of {name}: {g.num_genes:,} genes "
        f"({sum(b == 'c' for b in g.biotype):,} c), "
        f"{int(g.prior_edge_index().shape[1]):,} directed prior edges; "
        f"{len(dg.unmeasured_targets):,} unmeasured targets, "  # type: ignore[attr-defined]
        f"{len(dg.not_in_kg):,} measured genes not in the KG; "  # type: ignore[attr-defined]
        f"text {'yes' if g.text is not None else 'no'}, "
        f"DNA {'yes' if g.dna is not None else 'no (no sequences)'}; "
        f"snapshot {dg.snapshot_id[:12]}"  # type: ignore[attr-defined]
    )
    warning = dg.warning()  # type: ignore[attr-defined]
    if warning:
        console.print(f"[yellow]warning:[/] {warning}")


def predict_cmd(
    run: Annotated[
        str, typer.Option(help="Run id (grape runs list), run folder, @latest or a pattern.")
    ],
    perturb: Annotated[
        list[str],
        typer.Option(
            help="A or A+B, repeatable: any KG gene (symbol, previous symbol, alias or Ensembl "
            "id), measured or not"
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help=".h5ad, .csv or .parquet (default: print top changes)")
    ] = None,
    top: Annotated[int, typer.Option(help="Genes shown per perturbation when printing.")] = 10,
) -> None:
    """Predict mean expression after knocking down genes (singles, doubles, unseen genes)."""
    from grapekg.app import predict as prediction

    ws = workspace()
    pred = prediction.predict_run(ws, run, perturb, open_store=lambda: open_store(ws.settings))
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
    (GRAPE Fig. 3), per-condition violins (Fig. 4), ablation bars (Fig. 5). For a BioDSNN run:
    its training summary and where its evaluation tables are (the figures are GRAPE's)."""
    from grapekg.app.predict import biodsnn_summary
    from grapekg.app.report import report as make_report

    ws = workspace()
    summary = biodsnn_summary(ws, run)
    if summary is not None:
        console.print(
            table(
                f"BioDSNN run {summary['run']}",
                ["item", "value"],
                [[k, str(v)] for k, v in summary.items() if k != "run"],
            )
        )
        console.print(
            "grape report draws GRAPE's figures (UMAP of its HGAT representations, ablation "
            "bars); for a BioDSNN run it shows the run's summary above; the per-condition tables "
            "and violins are in the results folder (grape evaluate)"
        )
        return
    files = make_report(ws, run, out)
    for k, p in files.items():
        console.print(f"{k:<10} {p}")
