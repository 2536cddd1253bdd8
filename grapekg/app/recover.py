"""Planted-edge recovery of GRAPE runs on a SYNTHETIC dataset (``grape recovery``).

For each run: the regulators (genes perturbed alone or in a double in the dataset; by
default only those *unseen* in the run's training conditions), the run's in-silico
knock-down of each regulator (:func:`~grapekg.model.grape.train.predict_with`), its HGAT
attention (:func:`~grapekg.model.grape.learned.attention_map`), its K-hop learned edges
(``learned_edges.parquet``), the GO term sets of the genes from Neo4j
(:func:`~grapekg.kg.annotations.go_terms`), and the planted edges
saved by ``grape data simulate`` are scored with
:func:`~grapekg.evaluation.recovery.auprc_table`. Over runs: ``recovery.csv`` (every run's
table), the mean ± sd per (model, ranking) and the first run's precision-recall curves
(``pr_curves.png``) in the recovery folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.app.runs import resolve_runs
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError
from grapekg.evaluation.recovery import (
    PairUniverse,
    attention_scores,
    auprc_table,
    draw_pr_curves,
    go_jaccard_scores,
    khop_scores,
    pr_curves,
    summarise_runs,
)
from grapekg.kg.annotations import go_terms
from grapekg.kg.datasets import bundle_path
from grapekg.kg.store import Store
from grapekg.model.grape.learned import attention_map
from grapekg.model.grape.train import load_model, perturbed_indices, predict_with
from grapekg.parquet import read_parquet
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition

__all__ = ["Recovery", "RunRecovery", "planted_edges_path", "recover", "recover_run"]


@dataclass
class RunRecovery:
    run_id: str
    label: str
    seed: int
    table: pd.DataFrame
    curves: dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass
class Recovery:
    """Every run's result, their tables in one frame, the mean ± sd and the files."""

    runs: list[RunRecovery]
    frame: pd.DataFrame
    summary: pd.DataFrame
    table_file: Path
    figure_file: Path


def planted_edges_path(ws: Workspace, dataset: str) -> Path:
    path = ws.planted_edges(dataset)
    if not path.exists():
        raise ConfigError(
            f"dataset '{dataset}' has no planted edges at {path} (only datasets "
            "made by 'grape data simulate' have them)"
        )
    return path


def recover_run(
    store: Store,
    ws: Workspace,
    run_dir: Path,
    *,
    unseen_only: bool = True,
    terms: Mapping[str, Collection[str]] | None = None,
) -> RunRecovery:
    """AUPRC of the run's rankings against the planted edges (module docstring)."""
    info = json.loads((run_dir / "run.json").read_text())
    meta = json.loads((run_dir / "meta.json").read_text())
    planted = read_parquet(planted_edges_path(ws, info["dataset"]))
    model, graph = load_model(run_dir)
    summary = bundle_mod.load(bundle_path(store, ws.settings, info["dataset"])).summary
    perturbed = {x for c in summary.conditions if c != CONTROL for x in parse_condition(c)}
    sym2id = dict(zip(graph.symbols, graph.gene_ids, strict=True))
    sym2id.update({g: graph.gene_ids[graph.index_of(g)] for g in perturbed if g in graph})
    seen = {x for c in meta["train"] if c != CONTROL for x in parse_condition(c)}
    regs = sorted(g for g in perturbed - (seen if unseen_only else set()) if g in sym2id)
    if not regs:
        raise ConfigError(f"run {run_dir.name}: no {'unseen ' if unseen_only else ''}regulators")
    targets = [str(g) for g in meta["gene_ids"]]
    universe = PairUniverse([sym2id[r] for r in regs], targets, planted)
    pred = predict_with(model, perturbed_indices(graph, [f"{r}+ctrl" for r in regs]))
    rankings = {"grape_insilico": np.abs(pred - model.ctrl.cpu().numpy()[None])}
    ids = graph.gene_ids
    attention = {(ids[s], ids[d]): v for (s, d), v in attention_map(model).items()}
    rankings["grape_attention"] = attention_scores(universe, attention)
    edges_file = run_dir / "learned_edges.parquet"
    if model.gsl is not None and edges_file.exists():
        rankings["grape_khop"] = khop_scores(universe, read_parquet(edges_file))
    if terms is None:
        terms = go_terms(store, list(dict.fromkeys([*universe.regulators, *targets])))
    rankings["go_jaccard"] = go_jaccard_scores(universe, terms)
    table = auprc_table(universe, rankings, seed=int(info["seed"]))
    return RunRecovery(
        info["run_id"], info["label"], int(info["seed"]), table, pr_curves(universe, rankings)
    )


def recover(
    store: Store,
    ws: Workspace,
    patterns: list[str],
    *,
    unseen_only: bool = True,
    out: Path | None = None,
    on_run: Callable[[RunRecovery], None] | None = None,
) -> Recovery:
    """Recovery of every run matching ``patterns`` (:func:`grapekg.app.runs.resolve_runs`:
    ids, folders, ``@latest``, patterns over the complete runs in the graph, newest first),
    GO terms read once per dataset;
    ``on_run`` sees each run's result as it is done. Writes ``recovery.csv`` and
    ``pr_curves.png`` into ``out`` (default: the workspace's recovery folder)."""
    results = []
    terms: dict[str, dict[str, set[str]]] = {}  # GO terms per dataset, read once each
    for d in resolve_runs(ws, patterns, store):
        dataset = json.loads((d / "run.json").read_text())["dataset"]
        if dataset not in terms:
            genes = json.loads((d / "meta.json").read_text())["gene_ids"]
            terms[dataset] = go_terms(store, [str(g) for g in genes])
        r = recover_run(store, ws, d, unseen_only=unseen_only, terms=terms[dataset])
        if on_run is not None:
            on_run(r)
        results.append(r)
    frame = pd.concat(
        [r.table.assign(run=r.run_id, label=r.label, seed=r.seed) for r in results],
        ignore_index=True,
    )
    folder = out or ws.recovery_dir
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "recovery.csv", index=False)
    first = results[0]
    draw_pr_curves(
        first.curves,
        first.table.positive_rate.iloc[0],
        f"Planted-edge recovery, {first.run_id}\n(SYNTHETIC data)",
        folder / "pr_curves.png",
    )
    return Recovery(
        results, frame, summarise_runs(frame), folder / "recovery.csv", folder / "pr_curves.png"
    )
