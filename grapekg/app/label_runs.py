"""Label runs: train GRAPE's label model on a label dataset (``grape labels import``), score
its test pairs, save the run and write its predictions back to Neo4j; predict what knocking
down any gene does with a saved run.

A run (one seed) lives in ``runs/<id>/``: ``run.json`` (status from start to end, see
:func:`grapekg.app.runs.recorded`), the model (:meth:`GrapeLabels.save`),
``predictions.parquet`` (every test pair: pert, gene, label, score) and ``metrics.json``.
Write-back: a ``ModelRun {model: 'grape-labels'}`` with one ``PREDICTED_RESPONSE`` edge per
test pair whose two genes the KG holds (score = P(label 1), task, cell line; for the direction
task ``direction`` = up / down), all or nothing (:func:`grapekg.kg.writeback.write_run`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.app.db import open_store
from grapekg.app.label_train import GrapeLabels
from grapekg.app.labels import load_labels
from grapekg.app.runs import recorded
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError
from grapekg.evaluation.label_metrics import score_labels
from grapekg.kg.export.gene_sets import knowledge_sets
from grapekg.kg.export.knowledge import knowledge_edges
from grapekg.kg.store import Store
from grapekg.kg.writeback import RunInfo, write_run
from grapekg.model.grape.labels import LabelConfig
from grapekg.perturb.errors import DataError
from grapekg.settings import Settings

__all__ = ["LABEL_SOURCES", "LabelRun", "predict_label_runs", "train_label_runs"]

#: knowledge the label model can read: GO and STRING as sets, CollecTRI as signed relations
LABEL_SOURCES = ("go", "string", "collectri")
MODEL = "grape-labels"


@dataclass
class LabelRun:
    id: str
    seed: int
    folder: Path
    scores: dict
    learned: dict
    written: dict[str, int]
    seconds: float


def _keys(ids: pd.Series, names: pd.Series) -> np.ndarray:
    """A pair's gene key: its Ensembl id, or ``symbol:<name>`` where the KG has none."""
    return np.array(
        [i if isinstance(i, str) and i else f"symbol:{n}" for i, n in zip(ids, names, strict=True)],
        dtype=object,
    )


def read_knowledge(
    store: Store, keys: Iterable[str], sources: Sequence[str]
) -> tuple[dict, dict, list[str]]:
    """(sets, signed edges, sources used) for the gene keys, from the KG."""
    unknown = sorted(set(sources) - set(LABEL_SOURCES))
    if unknown:
        raise ConfigError(
            f"--sources: unknown source(s) {', '.join(unknown)} "
            f"(choose from {', '.join(LABEL_SOURCES)})"
        )
    keys = sorted({k for k in keys if not k.startswith("symbol:")})
    sets = knowledge_sets(store, keys, [s for s in sources if s in ("go", "string")]).sets
    signed = collectri_relations(store, keys) if "collectri" in sources else {}
    used = [s for s in sources if sets.get(s)] + (["collectri"] if signed else [])
    return {k: v for k, v in sets.items() if v}, signed, used


def collectri_relations(store: Store, keys: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """CollecTRI's TF -> target edges among ``keys`` as two relations, ``collectri_act`` and
    ``collectri_rep`` (absent when empty or not loaded)."""
    keys = set(keys)
    ce = knowledge_edges(store, "collectri")
    ce = ce[ce["src_gene_id"].isin(keys) & ce["dst_gene_id"].isin(keys)]
    return {
        f"collectri_{name}": list(zip(sub["src_gene_id"], sub["dst_gene_id"], strict=True))
        for name, sub in (("act", ce[ce["sign"] > 0]), ("rep", ce[ce["sign"] < 0]))
        if len(sub)
    }


def run_id(name: str, label: str, seed: int, cfg: LabelConfig, sources: Sequence[str]) -> str:
    blob = json.dumps({"config": cfg.to_dict() | {"seed": 0}, "sources": sorted(sources)})
    return f"{name}-{label}-s{seed}-{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def train_label_runs(
    settings: Settings,
    name: str,
    seeds: Sequence[int],
    *,
    config: LabelConfig | None = None,
    sources: Sequence[str] = LABEL_SOURCES,
    label: str = "grape",
    write_back: bool = True,
    device: str = "cpu",
    progress: Callable[[str, int, dict], None] | None = None,
) -> list[LabelRun]:
    """Train, score and save one run per seed (module docstring)."""
    ws = Workspace(settings)
    ds = load_labels(settings, name)
    cfg = config or LabelConfig()
    pairs = ds.pairs
    p = _keys(pairs["pert_id"], pairs["pert"])
    g = _keys(pairs["gene_id"], pairs["gene"])
    train = (pairs["split"] == "train").to_numpy()
    test = ~train
    val_perts = sorted(set(p[pairs["val"].to_numpy()]))
    if not val_perts:
        raise DataError(f"label dataset {name!r} has no validation perturbations to pick an epoch")
    task, cell = ds.meta.get("task"), ds.meta.get("cell_line")
    out: list[LabelRun] = []
    with open_store(settings) as store:
        sets, signed, used = read_knowledge(store, [*p, *g], sources)
        for seed in seeds:
            rid = run_id(name, label, seed, cfg, used)
            folder = ws.run_dir(rid)
            info = {
                "id": rid,
                "model": MODEL,
                "dataset": name,
                "seed": seed,
                "task": task,
                "cell_line": cell,
                "sources": used,
            }
            with recorded(folder, info) as rec:
                cb = (lambda e, row, r=rid: progress(r, e, row)) if progress else None
                model = GrapeLabels(
                    sets, signed=signed, config=cfg, seed=seed, device=device, progress=cb
                )
                y = pairs["label"].to_numpy()
                model.fit(p[train], g[train], y[train], val_perts=val_perts)
                rec["stage"] = "predicting"
                score = model.predict(p[test], g[test])
                preds = pd.DataFrame(
                    {
                        "pert": pairs["pert"][test].to_numpy(),
                        "gene": pairs["gene"][test].to_numpy(),
                        "pert_id": p[test],
                        "gene_id": g[test],
                        "label": y[test],
                        "score": score,
                    }
                )
                scores = score_labels(preds["gene"], preds["label"], preds["score"]).as_dict()
                model.save(folder)
                preds.to_parquet(folder / "predictions.parquet", index=False)
                (folder / "metrics.json").write_text(json.dumps(scores, indent=1))
                written: dict[str, int] = {}
                if write_back:
                    rec["stage"] = "write-back"
                    written = write_back_predictions(
                        store, rid, name, seed, task, cell, preds, scores, cfg
                    )
                rec["metrics"] = scores
            out.append(
                LabelRun(rid, seed, folder, scores, model.learned(), written, model.seconds_fit)
            )
    return out


def write_back_predictions(
    store: Store,
    rid: str,
    name: str,
    seed: int,
    task: str | None,
    cell: str | None,
    preds: pd.DataFrame,
    scores: dict,
    cfg: LabelConfig,
) -> dict[str, int]:
    """The run's test-pair predictions as PREDICTED_RESPONSE edges, all or nothing."""
    known = ~preds["pert_id"].str.startswith("symbol:") & ~preds["gene_id"].str.startswith(
        "symbol:"
    )
    sub = preds[known]
    edges = pd.DataFrame(
        {
            "src": sub["pert_id"],
            "dst": sub["gene_id"],
            "type": "predicted_response",
            "score": sub["score"].astype(float),
            "task": task,
            "cell_line": cell,
            "direction": np.where(sub["score"] >= 0.5, "up", "down")
            if task == "direction"
            else None,
        }
    )
    info = RunInfo(
        rid,
        MODEL,
        dataset=name,
        split="file",
        seed=seed,
        metrics={k: v for k, v in scores.items() if k != "per_gene"},
        config=cfg.to_dict(),
    )
    return write_run(store, info, edges).written


def predict_label_runs(
    settings: Settings, runs: Sequence[str], perturb: Sequence[str]
) -> pd.DataFrame:
    """For each perturbation (any gene name the KG resolves), every downstream gene of the
    runs with the probability each run gives (a column per run's task: ``p_de``, ``p_up``)."""
    from grapekg.kg.identity import GeneResolver
    from grapekg.kg.loader import gene_index_from_store

    ws = Workspace(settings)
    loaded = []
    for r in runs:
        folder = ws.run_dir(r)
        meta_file = folder / "run.json"
        if not meta_file.exists():
            raise DataError(f"no run {r!r} here", path=folder)
        meta = json.loads(meta_file.read_text())
        if meta.get("model") != MODEL:
            raise ConfigError(f"--run {r!r}: not a label run (model {meta.get('model')!r})")
        if meta.get("status") != "complete":
            raise DataError(f"run {r!r} is {meta.get('status')}: {meta.get('reason', '')}")
        loaded.append((meta, GrapeLabels.load(folder)))
    rows = []
    with open_store(settings) as store:
        resolver = GeneResolver.from_store(store, gene_index_from_store(store))
        keys = {}
        for name in perturb:
            res = resolver.resolve(name)
            keys[name] = res.ensembl_id or f"symbol:{name}"
        for meta, model in loaded:
            new = [k for k in keys.values() if not k.startswith("symbol:")]
            sets, _, _ = read_knowledge(
                store, new, [s for s in meta.get("sources", []) if s in ("go", "string")]
            )
            model.add_knowledge(sets)
            col = "p_up" if meta.get("task") == "direction" else "p_de"
            for name, key in keys.items():
                pred = model.predict([key] * len(model.genes), model.genes)
                rows += [
                    {"perturbation": name, "gene_id": gid, "run": meta["id"], col: float(v)}
                    for gid, v in zip(model.genes, pred, strict=True)
                ]
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    symbols: dict[str, str] = {}
    for meta, _ in loaded:
        pairs = load_labels(settings, meta["dataset"]).pairs
        symbols.update(dict(zip(pairs["gene_id"].fillna(""), pairs["gene"], strict=True)))
    df["gene"] = [symbols.get(g, g.removeprefix("symbol:")) for g in df["gene_id"]]
    value_cols = [c for c in ("p_de", "p_up") if c in df]
    return (
        df.groupby(["perturbation", "gene", "gene_id"], as_index=False)[value_cols]
        .mean()
        .sort_values(["perturbation", value_cols[0]], ascending=[True, False])
        .reset_index(drop=True)
    )
