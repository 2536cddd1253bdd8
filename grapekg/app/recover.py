"""Planted-edge recovery of GRAPE runs on a SYNTHETIC dataset (``grape recovery``).

For each run: the regulators (genes perturbed alone or in a double in the dataset; by
default only those *unseen* in the run's training conditions), the run's in-silico
knock-down of each regulator (:func:`~grapekg.model.grape.train.predict_with`), its K-hop
learned edges (``learned_edges.parquet``), the GO term sets of the genes from Neo4j, and the
planted edges saved by ``grape data simulate`` are scored with
:func:`~grapekg.evaluation.recovery.auprc_table`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.errors import ConfigError
from grapekg.kg import queries
from grapekg.kg.datasets import bundle_path
from grapekg.kg.store import Store
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.parquet import read_parquet
from grapekg.settings import Settings

__all__ = ["RunRecovery", "go_terms", "planted_edges_path", "recover_run",
           "resolve_runs"]

PAGE = 2000


@dataclass
class RunRecovery:
    run_id: str
    label: str
    seed: int
    table: pd.DataFrame
    curves: dict[str, tuple[np.ndarray, np.ndarray]]


def resolve_runs(settings: Settings, patterns: list[str]) -> list[Path]:
    """Run folders for run ids, folders, ``@latest`` or glob patterns over run ids."""
    root = settings.data_dir / "runs"
    out: list[Path] = []
    for p in patterns:
        if p == "@latest":
            runs = sorted(root.glob("*/run.json"), key=lambda f: f.stat().st_mtime)
            if not runs:
                raise ConfigError("@latest: no run folder yet (grape train first)")
            out.append(runs[-1].parent)
        elif Path(p).is_dir():
            out.append(Path(p))
        else:
            hits = sorted(d for d in root.glob(p) if (d / "run.json").exists())
            if not hits:
                raise ConfigError(f"run '{p}': no run folder matches under {root}")
            out.extend(hits)
    return list(dict.fromkeys(out))


def planted_edges_path(settings: Settings, dataset: str) -> Path:
    path = settings.data_dir / "raw" / dataset / "planted_edges.parquet"
    if not path.exists():
        raise ConfigError(f"dataset '{dataset}' has no planted edges at {path} (only datasets "
                          "made by 'grape data simulate' have them)")
    return path


def go_terms(store: Store, ids: list[str], namespace: str | None = "biological_process"
             ) -> dict[str, list[str]]:
    """GO term ids per gene (genes without any are absent)."""
    out: dict[str, list[str]] = {}
    q = queries.text("gene_go_terms_page")
    for lo in range(0, len(ids), PAGE):
        for r in store.read(q, {"ids": ids[lo:lo + PAGE], "namespace": namespace}):
            out[r["id"]] = r["terms"]
    return out


def recover_run(store: Store, settings: Settings, run_dir: Path, *, unseen_only: bool = True,
                terms: dict[str, list[str]] | None = None) -> RunRecovery:
    """AUPRC of the run's rankings against the planted edges (module docstring)."""
    from grapekg.evaluation.recovery import (PairUniverse, attention_scores, auprc_table,
                                              go_jaccard_scores, khop_scores, pr_curves)
    from grapekg.model.grape.train import load_model, perturbed_indices, predict_with

    info = json.loads((run_dir / "run.json").read_text())
    meta = json.loads((run_dir / "meta.json").read_text())
    planted = read_parquet(planted_edges_path(settings, info["dataset"]))
    model, graph = load_model(run_dir)
    sym2id = dict(zip(graph.symbols, graph.gene_ids, strict=True))
    summary = bundle_mod.load(bundle_path(store, settings, info["dataset"])).summary
    perturbed = {x for c in summary.conditions if c != CONTROL for x in parse_condition(c)}
    seen = {x for c in meta["train"] if c != CONTROL for x in parse_condition(c)}
    regs = sorted(g for g in perturbed - (seen if unseen_only else set()) if g in sym2id)
    if not regs:
        raise ConfigError(f"run {run_dir.name}: no {'unseen ' if unseen_only else ''}regulators")
    targets = [str(g) for g in meta["gene_ids"]]
    universe = PairUniverse([sym2id[r] for r in regs], targets, planted)
    pred = predict_with(model, perturbed_indices(graph, [f"{r}+ctrl" for r in regs]))
    rankings = {"grape_insilico": np.abs(pred - model.ctrl.cpu().numpy()[None])}
    rankings["grape_attention"] = attention_scores(universe, model, graph)
    edges_file = run_dir / "learned_edges.parquet"
    if model.gsl is not None and edges_file.exists():
        rankings["grape_khop"] = khop_scores(universe, read_parquet(edges_file))
    if terms is None:
        terms = go_terms(store, list(dict.fromkeys([*universe.regulators, *targets])))
    rankings["go_jaccard"] = go_jaccard_scores(universe, terms)
    table = auprc_table(universe, rankings, seed=int(info["seed"]))
    return RunRecovery(info["run_id"], info["label"], int(info["seed"]), table,
                       pr_curves(universe, rankings))
