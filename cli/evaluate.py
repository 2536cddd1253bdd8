"""``grape evaluate``: baselines (and prediction files) on a dataset, mean ± sd over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from grapekg.cli.common import open_store, workspace
from grapekg.cli.console import console, progress_counter, table
from grapekg.errors import ConfigError

if TYPE_CHECKING:
    from grapekg.app.evaluate import Evaluation


def parse_seeds(text: str) -> list[int]:
    """``1..5`` or ``1,2,7``."""
    try:
        if ".." in text:
            a, b = text.split("..")
            seeds = list(range(int(a), int(b) + 1))
        else:
            seeds = [int(x) for x in text.split(",") if x]
    except ValueError:
        raise ConfigError(f"--seeds '{text}': use A..B or a comma list") from None
    if not seeds:
        raise ConfigError(f"--seeds '{text}': no seed")
    return seeds


def parse_predictions(items: list[str]) -> list[tuple[str, Path]]:
    """``NAME=FILE`` options as (label, file) pairs."""
    out = []
    for item in items:
        label, sep, file = item.partition("=")
        if not sep:
            raise ConfigError(f"--predictions '{item}': expected NAME=FILE")
        out.append((label, Path(file)))
    return out


def print_evaluation(evaluation: Evaluation, title: str) -> None:
    """The metrics-by-model table (metrics as rows, models as columns: stays readable with
    many models)."""
    tab = evaluation.result.table()
    console.print(table(title, ["metric", *tab.index], [[m, *tab[m]] for m in tab.columns]))


def evaluate(
    dataset: Annotated[str, typer.Option(help="Dataset name (grape data list).")],
    split: Annotated[
        str, typer.Option(help="random (GRAPE 70/30) or simulation (GEARS).")
    ] = "simulation",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1..5.")] = "1..5",
    predictions: Annotated[
        list[str], typer.Option(help="NAME=FILE (.h5ad, .csv, .tsv, .parquet), repeatable.")
    ] = [],  # noqa: B006
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <data dir>/results/DATASET/SPLIT).")
    ] = None,
) -> None:
    """Score the four baselines (no-change, mean, additive, linear) and any predictions."""
    from grapekg.app import evaluate as evaluation

    ws = workspace()
    seed_list = parse_seeds(seeds)
    pairs = parse_predictions(predictions)
    with open_store(ws.settings) as store:
        bundle = evaluation.load_bundle(store, ws, dataset)
    res = evaluation.evaluate(
        ws, bundle, dataset, split, seed_list, pairs, out=out, progress=progress_counter
    )
    tag = " — SYNTHETIC data" if res.result.synthetic else ""
    print_evaluation(res, f"{dataset}, {split} split, seeds {seeds}: mean ± sd over seeds{tag}")
    for k, p in res.files.items():
        console.print(f"{k:<14} {p}")
