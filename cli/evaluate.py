"""``grape evaluate``: baselines (and prediction files) on a dataset, mean ± sd over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, progress_counter, table
from grapekg.errors import ConfigError
from grapekg.kg.datasets import bundle_path
from grapekg.evaluation import scoring as ev
from grapekg.perturb import bundle as bundle_mod


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


def evaluate(
    dataset: Annotated[str, typer.Option(help="Dataset name (grape data list).")],
    split: Annotated[str, typer.Option(help="random (GRAPE 70/30) or simulation (GEARS).")] = "simulation",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1..5.")] = "1..5",
    predictions: Annotated[list[str], typer.Option(help="NAME=FILE (.h5ad, .csv, .tsv, .parquet), repeatable.")] = [],  # noqa: B006
    out: Annotated[Path | None, typer.Option(help="Output folder (default: <data dir>/results/DATASET/SPLIT).")] = None,
) -> None:
    """Score the four baselines (no-change, mean, additive, linear) and any predictions."""
    s = settings()
    seed_list = parse_seeds(seeds)
    with open_store(s) as store:
        b = bundle_mod.load(bundle_path(store, s, dataset))
    models: dict[str, ev.Predictions] = {
        label: ev.baseline_predictor(key, b) for label, key in ev.BASELINE_LABELS.items()}
    for item in predictions:
        label, sep, file = item.partition("=")
        if not sep:
            raise ConfigError(f"--predictions '{item}': expected NAME=FILE")
        models[label] = ev.load_predictions(Path(file), b)
    with progress_counter("evaluating", len(models) * len(seed_list)) as advance:
        res = ev.evaluate_models(b, split, seed_list, models, advance=advance)
    files = ev.write_outputs(res, out or s.data_dir / "results" / dataset / split)
    tab = res.table()
    tag = " — SYNTHETIC data" if res.synthetic else ""
    title = f"{dataset}, {split} split, seeds {seeds}: mean ± sd over seeds{tag}"
    # metrics as rows, models as columns: stays readable with many models
    console.print(table(title, ["metric", *tab.index], [[m, *tab[m]] for m in tab.columns]))
    for k, p in files.items():
        console.print(f"{k:<14} {p}")
