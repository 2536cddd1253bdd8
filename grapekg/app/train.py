"""GRAPE runs end to end (``grape train``): the dataset's typed gene graph and features from
Neo4j, training per seed, predictions for `grape evaluate`, and the write-back of what was
learned. The evaluation that follows is :func:`grapekg.app.evaluate.evaluate`.

Run layout (:class:`~grapekg.app.workspace.Workspace`): ``<data_dir>/runs/<run_id>/``
(config.json, model.pt, graph.pt, meta.json, predictions.parquet, learned_edges.parquet)
and, per (dataset, split, model label), a combined
``<data_dir>/results/<dataset>/<split>/<label>.parquet`` of test predictions with a ``seed``
column that ``grape evaluate --predictions LABEL=FILE`` scores beside the baselines.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError
from grapekg.kg import features as kgf
from grapekg.kg import writeback
from grapekg.kg.datasets import bundle_path
from grapekg.kg.export import formats, priors
from grapekg.kg.export.reader import export_graph
from grapekg.kg.store import Store
from grapekg.model.grape.config import GrapeConfig
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.learned import learned_edges
from grapekg.model.grape.train import EpochCallback, load_model, predict, train_grape
from grapekg.parquet import read_parquet
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.splits import make_split

__all__ = [
    "ABLATIONS",
    "GrapeConfig",
    "RunOutcome",
    "combine_predictions",
    "config_for",
    "dataset_graph",
    "ensure_priors",
    "resolve_device",
    "run_label",
    "train_seed",
]

log = logging.getLogger(__name__)

ABLATIONS = ("only_seq", "only_desc", "only_fusion", "no_gsl", "no_biotype")


@dataclass
class RunOutcome:
    run_id: str
    run_dir: Path
    seed: int
    best_epoch: int
    best_val: float
    n_test: int
    snapshot_id: str
    edges_written: dict[str, int]


def ensure_priors(store: Store, advance: Callable[[int], None] | None = None) -> list[str]:
    """Build the default prior edges once (GO BP Jaccard, Reactome level 4) if none is
    complete; returns the kinds built now."""
    have = {
        r["name"].removeprefix("prior."): r
        for r in priors.prior_sources(store)
        if r["status"] == "complete"
    }
    built = []
    for params in (priors.GoJaccardParams(namespace="biological_process"), priors.ReactomeParams()):
        if params.kind not in have:
            priors.build_prior(store, params, advance=advance)
            built.append(params.kind)
    return built


def dataset_graph(store: Store, dataset: str, edges: str = "go,reactome") -> tuple[GeneGraph, str]:
    """The dataset's genes as a typed c/nc graph with KG prior edges and the features stored
    on Gene nodes (text; DNA LM or k-mer when present)."""
    hg = export_graph(store, f"dataset:{dataset}", edges)
    data = formats.to_pyg(hg)
    for t in ("c", "nc"):
        if t in data.node_types:
            data[t].gene_id = list(data[t].ensembl_id)
    ids = [g for t in ("c", "nc") if t in data.node_types for g in data[t].gene_id]
    text, tmask = kgf.read_vectors(store, "text", ids)
    if text.shape[1] == 0 or not tmask.all():
        missing = int((~tmask).sum()) if text.shape[1] else len(ids)
        raise ConfigError(
            f"{missing} of the dataset's {len(ids)} genes have no text feature: run "
            f"'grape features compute --modality text --genes dataset:{dataset}'"
        )
    dna = dmask = None
    for modality in ("dna", "kmer"):
        mat, mask = kgf.read_vectors(store, modality, ids)
        if mask.any():
            dna = torch.from_numpy(np.nan_to_num(mat))
            dmask = torch.from_numpy(mask)
            break
    graph = GeneGraph.from_heterodata(data, text=torch.from_numpy(text), dna=dna, dna_mask=dmask)
    return graph, hg.snapshot_id


def resolve_device(name: str) -> str:
    """``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda`` (checked)."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    return name


def config_for(base: GrapeConfig, graph: GeneGraph, ablation: str | None, seed: int) -> GrapeConfig:
    if ablation is not None and ablation not in ABLATIONS:
        raise ConfigError(f"--ablation '{ablation}': choose from {', '.join(ABLATIONS)}")
    if ablation == "only_seq" and graph.dna is None:
        raise ConfigError(
            "--ablation only_seq needs a DNA feature (grape features compute "
            "--modality dna|kmer); no gene has one"
        )
    cfg = replace(base, seed=seed)
    if ablation:
        cfg = replace(cfg, **{ablation: True})
    return cfg


def run_label(ablation: str | None, pert_channel: bool = False) -> str:
    """``grape``, ``grape-<ablation>``; ``grape-pc…`` with the perturbation channel."""
    base = "grape-pc" if pert_channel else "grape"
    return base if not ablation else f"{base}-{ablation.replace('_', '-')}"


def train_seed(
    store: Store,
    ws: Workspace,
    dataset: str,
    split_name: str,
    seed: int,
    base: GrapeConfig,
    *,
    ablation: str | None = None,
    device: str = "cpu",
    write_back: bool = True,
    graph: tuple[GeneGraph, str] | None = None,
    progress: EpochCallback | None = None,
) -> RunOutcome:
    """Train one seed, save its test predictions, write the learned edges back;
    ``progress`` is called after every epoch."""
    b = bundle_mod.load(bundle_path(store, ws.settings, dataset))
    g, snapshot = graph or dataset_graph(store, dataset)
    cfg = config_for(base, g, ablation, seed)
    split = make_split(split_name, b.summary.conditions, seed=seed)
    if not split.val:  # early stopping needs validation conditions: carve them from train
        split = (
            make_split(split_name, b.summary.conditions, seed=seed, val_fraction=0.15)
            if split_name == "random"
            else split
        )
    label = run_label(ablation, cfg.pert_channel)
    cfg_hash = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True).encode()).hexdigest()[:12]
    run_id = f"{dataset}-{split_name}-{label}-s{seed}-{cfg_hash[:8]}"
    run_dir = ws.run_dir(run_id)
    res = train_grape(g, b.summary, split, cfg, run_dir, device=device, progress=progress)
    test = [
        c for c in split.test if c != CONTROL and all(x in g.symbols for x in parse_condition(c))
    ]
    pred = predict(run_dir, test, device=device)
    rows = [
        (seed, c, gid, float(v))
        for c, vec in pred.items()
        for gid, v in zip(b.summary.gene_ids, vec, strict=True)
    ]
    pdf = pd.DataFrame(rows, columns=["seed", "condition", "gene", "value"])
    pdf.to_parquet(run_dir / "predictions.parquet", index=False)
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "run_id": run_id,
                "dataset": dataset,
                "split": split_name,
                "seed": seed,
                "label": label,
                "snapshot_id": snapshot,
                "synthetic": b.synthetic,
            },
            indent=1,
        )
    )
    edges_written: dict[str, int] = {}
    if write_back:
        model, graph_ = load_model(run_dir, device="cpu")
        regs = sorted({x for c in b.summary.conditions for x in parse_condition(c)})
        edges = learned_edges(model, graph_, regs, list(b.summary.gene_ids))
        edges.to_parquet(run_dir / "learned_edges.parquet", index=False)
        info = writeback.RunInfo(
            id=run_id,
            model=label,
            config_hash=cfg_hash,
            dataset=dataset,
            split=split_name,
            seed=seed,
            snapshot_id=snapshot,
            metrics={"best_val_mse": res.best_val, "best_epoch": res.best_epoch},
            config=asdict(cfg),
        )
        edges_written = writeback.write_run(store, info, edges).written
    return RunOutcome(
        run_id, run_dir, seed, res.best_epoch, res.best_val, len(test), snapshot, edges_written
    )


def combine_predictions(
    ws: Workspace, dataset: str, split_name: str, label: str, outcomes: list[RunOutcome]
) -> Path:
    """One parquet of every seed's test predictions, for ``grape evaluate``."""
    out = ws.combined_predictions(dataset, split_name, label)
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = [read_parquet(o.run_dir / "predictions.parquet") for o in outcomes]
    pd.concat(frames, ignore_index=True).to_parquet(out, index=False)
    return out
