"""Evaluation of a dataset's split over seeds (``grape evaluate``, and the last step of
``grape train``): the four baselines (no-change, mean, additive, linear) and any prediction
files scored with :mod:`grapekg.evaluation.scoring`; tables and figures written to the
dataset's results folder (:meth:`Workspace.results_dir
<grapekg.app.workspace.Workspace.results_dir>`) unless another is given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grapekg.app.workspace import Workspace
from grapekg.evaluation import scoring as ev
from grapekg.kg.datasets import bundle_path
from grapekg.kg.store import Store
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.progress import Progress, counter

__all__ = ["Evaluation", "evaluate", "load_bundle"]


@dataclass
class Evaluation:
    """Scores of every model, the files written and their folder."""

    result: ev.EvalResult
    files: dict[str, Path]
    out: Path


def load_bundle(store: Store, ws: Workspace, dataset: str) -> bundle_mod.Bundle:
    """The dataset's bundle (summary, DE genes, gene table), found through the KG."""
    return bundle_mod.load(bundle_path(store, ws.settings, dataset))


def evaluate(
    ws: Workspace,
    bundle: bundle_mod.Bundle,
    dataset: str,
    split: str,
    seeds: Sequence[int],
    predictions: Iterable[tuple[str, Path]] = (),
    *,
    out: Path | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Score the baselines and the ``(label, file)`` predictions (.h5ad, .csv, .tsv,
    .parquet; a label may replace a baseline's) on ``split`` for each seed, and write the
    tables and figures into ``out`` (default: the dataset's results folder)."""
    models: dict[str, ev.Predictions] = {
        label: ev.baseline_predictor(key, bundle) for label, key in ev.BASELINE_LABELS.items()
    }
    for label, file in predictions:
        models[label] = ev.load_predictions(Path(file), bundle)
    with counter(progress, "evaluating", len(models) * len(seeds)) as advance:
        res = ev.evaluate_models(bundle, split, list(seeds), models, advance=advance)
    folder = out or ws.results_dir(dataset, split)
    return Evaluation(res, ev.write_outputs(res, folder), folder)
