"""``grape train``: any model of the registry (``grape models``) per seed; write back; evaluate."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import check_device, check_input_file, open_store, parse_seeds, workspace
from grapekg.cli.console import console, epoch_bar, progress_counter

Opt = typer.Option
ABLATIONS = (
    "GRAPE: only_seq, only_desc, only_fusion, no_gsl, no_biotype; BioDSNN: no_vae, no_mask, "
)
ABLATIONS += "no_attention; repeatable; 'none' = full model"
HEADS = "GRAPE: attention heads H (Eq. 11) and similarity heads T (Eq. 4), default 4; BioDSNN: 2"
NEIGHBOURHOOD = "GRAPE: KG steps around the measured genes and targets added to the graph (0: "
NEIGHBOURHOOD += "those only; 1: also their prior-edge neighbours, which only pass messages)"
SET = "KEY=VALUE: any setting of the model's config (GrapeConfig, BiodsnnConfig; nested ones as "
SET += "prior_shock.vote=true), repeatable; wins over the variant's value"


def train(
    dataset: Annotated[str, Opt(help="Dataset name (grape data list).")],
    model: Annotated[str, Opt(help="Model: grape, biodsnn or a plug-in (grape models).")] = "grape",
    variant: Annotated[str, Opt(help="Named settings of the model (grape models).")] = "paper",
    split: Annotated[
        str, Opt(help="random, simulation, combo or a split .json file")
    ] = "simulation",
    seeds: Annotated[str, Opt(help="Seeds, e.g. 1..5")] = "1",
    ablation: Annotated[list[str], Opt(help=ABLATIONS)] = ["none"],  # noqa: B006
    epochs: Annotated[int | None, Opt(min=1, help="Default 20.")] = None,
    align_epochs: Annotated[int | None, Opt(min=0, help="GRAPE: Eq. 1 pre-training, 10.")] = None,
    hidden: Annotated[int | None, Opt(min=8, help="Default 64.")] = None,
    heads: Annotated[int | None, Opt(min=1, help=HEADS)] = None,
    top_k: Annotated[
        int | None,
        Opt(min=1, help="GRAPE: learned neighbours kept per gene and modality (Eq. 3), 4"),
    ] = None,
    batch_size: Annotated[
        int | None, Opt(min=1, help="Conditions per step (GRAPE 16, BioDSNN 32)")
    ] = None,
    lr: Annotated[float | None, Opt(help="Default 1e-3.")] = None,
    device: Annotated[str, Opt(help="auto, cpu or cuda")] = "auto",
    jobs: Annotated[int, Opt(min=1, help="Seeds trained at once, as parallel processes")] = 1,
    write_back: Annotated[bool, Opt(help="Write learned edges to Neo4j")] = True,
    evaluate: Annotated[bool, Opt(help="Print the evaluation table with the baselines")] = True,
    neighbourhood: Annotated[int | None, Opt(min=0, help=NEIGHBOURHOOD)] = None,
    pert_channel: Annotated[
        bool, Opt(help="GRAPE: add the direct perturbation channel (not in the paper; label -pc)")
    ] = False,
    set_: Annotated[list[str], Opt("--set", help=SET)] = [],  # noqa: B006
    label: Annotated[
        str | None, Opt(help="Name of these runs in tables (default: the variant's label)")
    ] = None,
) -> None:
    """Train a model (and ablations) per seed on a dataset's KG graph; write back; evaluate."""
    from grapekg.app import request

    options = {"epochs": epochs, "align_epochs": align_epochs, "hidden": hidden, "heads": heads,
               "top_k": top_k, "batch_size": batch_size, "lr": lr,
               "neighbourhood": neighbourhood, "pert_channel": pert_channel}  # fmt: skip
    req = request.TrainRequest(
        dataset, model, variant, split, parse_seeds(seeds), list(ablation), options, list(set_),
        label, check_device(device), write_back, jobs,
    )  # fmt: skip
    if split.lower().endswith(".json"):
        check_input_file("--split", Path(split), (".json",))
    request.check_request(req)  # every usage error before torch, pandas or a store
    from grapekg.app import training

    ws = workspace()
    with open_store(ws.settings) as store:
        report = training.run_training(store, ws, req, _View())
    _report(ws, report, req, seeds, evaluate)


class _View:
    """What the training flow shows (:class:`grapekg.app.training.TrainView`)."""

    def note(self, text: str) -> None:
        console.print(text)

    def warn(self, text: str) -> None:
        console.print(f"[yellow]warning:[/] {text}")

    def counter(self, title: str) -> AbstractContextManager:
        return progress_counter(title, None)

    def epochs(self, title: str, total: int) -> AbstractContextManager:
        return epoch_bar(title, total)

    def run_done(self, o, score_name: str) -> None:  # noqa: ANN001
        console.print(
            f"[green]✓[/] {o.run_id}: best epoch {o.best_epoch}, {score_name} {o.best_val:.5f}, "
            f"{o.n_test} test conditions"
            + (f", wrote {o.edges_written}" if o.edges_written else "")
        )


def _report(ws: object, report: object, req: object, seeds: str, evaluate: bool) -> None:
    """For a group, where each member's predictions are and the evaluate command; for a
    dataset, the evaluation table beside the baselines."""
    from grapekg.app import evaluate as evaluation
    from grapekg.cli.evaluate import print_evaluation

    per_member, name, split = report.per_member, req.dataset, req.split  # type: ignore[attr-defined]
    if report.bundle is None:  # type: ignore[attr-defined]
        for member, files in per_member.items():
            for lab, path in files.items():
                console.print(f"{member}: {lab} predictions in {path}")
        labels = "".join(
            f" --predictions {lab}=<member file>" for lab in next(iter(per_member.values()))
        )
        console.print(f"evaluate with: grape evaluate --dataset {name} --split {split} "
                      f"--seeds {seeds}{labels}")  # fmt: skip
        return
    if evaluate:
        runs = per_member[name].items()
        res = evaluation.evaluate(ws, report.bundle, name, split, report.seeds, runs)  # type: ignore[attr-defined]
        tag = " — SYNTHETIC data" if res.result.synthetic else ""
        print_evaluation(res, f"{name}, {split} split, seeds {seeds}: mean ± sd{tag}")
        console.print(
            f"tables and figures in {res.out} ({', '.join(p.name for p in res.files.values())})"
        )
