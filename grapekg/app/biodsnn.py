"""BioDSNN runs end to end (``grape train --model biodsnn``): the graphs and the mask of a
dataset from Neo4j, training per seed, predictions for ``grape evaluate`` (the layout GRAPE
uses), and the write-back of the learned attention.

What is read from the KG (:func:`dataset_inputs`), per dataset:

- the nodes: the dataset's measured genes (the output, in the bundle's var order) and every
  perturbation target resolved to a KG gene (measured or not, as
  :func:`grapekg.app.train.dataset_graph` places them); conditions whose targets nothing can
  place are left out (one warning line);
- G_pert: the GO-Jaccard prior edges among those genes (``grape priors build --kind go``;
  GEARS: Jaccard > 0.1, top 20 per gene), read with :func:`grapekg.kg.export.reader.export_graph`,
  whose snapshot id the run records;
- the Reactome mask: the genes' lowest-level pathways via ``CHILD_OF``
  (:func:`grapekg.kg.export.priors.lowest_pathways`); pairs sharing one are allowed.
  The snapshot id hashes the export's snapshot and these memberships.

G_gene (co-expression) is built per split and seed from TRAINING samples only
(:func:`coexpression_samples`): the cells of the control and of the training conditions,
read from the dataset's source file when the import was a plain one (one perturbation
column, no guide or context options; simulated datasets are), else, with a note in the run,
the training conditions' mean profiles and the control mean (the bundle holds no cells).

Runs are written like GRAPE's (``<data_dir>/runs/<run_id>/``, ``predictions.parquet``,
``run.json`` with ``"model": "biodsnn"``) and combined per label for ``grape evaluate``. The
attention of the last encoder layer, averaged over heads and the dataset's conditions, is
written back as ``PREDICTED_REGULATES {score, attention, run}`` (key gene -> query gene, top
``edges_per_gene`` per query, model label e.g. ``biodsnn``) through
:func:`grapekg.kg.writeback.write_run` (idempotent, all or nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg.app import registry
from grapekg.app.overrides import parse_overrides
from grapekg.app.training import FitOutcome, ensure_priors, place_targets
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, cut
from grapekg.kg.datasets import bundle_path
from grapekg.kg.export import priors
from grapekg.kg.export.reader import export_graph
from grapekg.kg.identity import GeneResolver
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.store import Store
from grapekg.model.biodsnn.config import BiodsnnConfig
from grapekg.model.biodsnn.train import (
    BiodsnnData,
    EpochCallback,
    attention_edges,
    fit,
    load_model,
    predict,
)
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, normalise_condition
from grapekg.perturb.splits import Split

__all__ = [
    "ABLATIONS",
    "BIODSNN_RUNS",
    "BiodsnnConfig",
    "DatasetInputs",
    "coexpression_samples",
    "config_overrides",
    "dataset_inputs",
]

log = logging.getLogger(__name__)

ABLATIONS = registry.BIODSNN.ablations
#: cells read at most for the co-expression graph (seeded subsample)
MAX_CELLS = 20_000


@dataclass
class DatasetInputs:
    """Nodes, GO edges and pathway memberships of one dataset (split-independent)."""

    dataset: str
    gene_ids: list[str]
    symbols: list[str]
    extra_ids: list[str]
    aliases: dict[str, int]
    go_edges: tuple[np.ndarray, np.ndarray, np.ndarray]
    memberships: list[list[int]]
    snapshot_id: str
    left_out: dict[str, list[str]] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)

    def usable(self, conditions: list[str]) -> list[str]:
        return [c for c in conditions if c not in self.left_out]

    def describe(self) -> str:
        """One line: what the inputs hold."""
        return (
            f"BioDSNN inputs of {self.dataset}: {len(self.gene_ids):,} genes, "
            f"{len(self.extra_ids):,} unmeasured targets, {self.info['go_edges']:,} GO-Jaccard "
            f"edges, {self.info['genes_in_pathways']:,} genes in "
            f"{self.info['lowest_pathways']:,} lowest-level Reactome pathways; snapshot "
            f"{self.snapshot_id[:12]}"
        )

    def warning(self) -> str | None:
        if not self.left_out:
            return None
        conds = sorted(self.left_out)
        return cut(
            f"{len(conds)} condition(s) left out of BioDSNN's training and predictions: "
            f"their target(s) resolve to no KG gene ({', '.join(conds[:8])})",
            240,
        )


def dataset_inputs(store: Store, ws: Workspace, dataset: str) -> DatasetInputs:
    """Read a dataset's BioDSNN nodes, GO-Jaccard edges and lowest-level Reactome memberships
    from Neo4j (module docstring). Builds the default priors first if none is complete."""
    ensure_priors(store)
    b = bundle_mod.load(bundle_path(store, ws.settings, dataset))
    resolver = GeneResolver.from_store(store, gene_index_from_store(store))
    placed, left_out = place_targets(b, resolver)
    var_ids = [str(g) for g in b.summary.gene_ids]
    names = [str(g) for g in b.summary.gene_names]
    kg_of = [
        str(e) if ok else None
        for e, ok in zip(b.genes["ensembl_id"], b.genes["in_kg"], strict=True)
    ]
    node: dict[str, int] = {}  # KG ensembl id -> node index
    for i, e in enumerate(kg_of):
        if e is not None:
            node.setdefault(e, i)
    extra = sorted({v for v in placed.values() if v not in node and v not in var_ids})
    for j, e in enumerate(extra):
        node[e] = len(var_ids) + j
    aliases: dict[str, int] = {}
    for i, (gid, sym) in enumerate(zip(var_ids, names, strict=True)):
        aliases.setdefault(gid, i)
        aliases.setdefault(sym, i)
        if kg_of[i] is not None:
            aliases.setdefault(kg_of[i], i)  # type: ignore[arg-type]
    for name, target in placed.items():
        idx = node.get(target, aliases.get(target))
        if idx is not None:
            aliases.setdefault(name, idx)
    kg_ids = sorted(node)
    hg = export_graph(store, kg_ids, "go")
    src, dst, w = [], [], []
    for (st, _rel, dt), es in hg.edges.items():
        s_ids, d_ids = hg.node_ids[st], hg.node_ids[dt]
        src += [node[s_ids[int(a)]] for a in es.src]
        dst += [node[d_ids[int(a)]] for a in es.dst]
        w += [float(x) for x in es.weight]
    members = priors.lowest_pathways(store, [e for e in kg_ids if node[e] < len(var_ids)])
    by_pw: dict[str, list[int]] = {}
    for e, pws in members.items():
        for p in pws:
            by_pw.setdefault(p, []).append(node[e])
    memberships = [sorted(v) for _, v in sorted(by_pw.items())]
    blob = json.dumps({"export": hg.snapshot_id, "pathways": sorted(members.items())})
    snap = hashlib.sha256(blob.encode()).hexdigest()
    info = {
        "go_edges": len(src),
        "genes_in_pathways": len(members),
        "lowest_pathways": len(memberships),
        "unmeasured_targets": extra,
        "left_out": left_out,
        "export_snapshot": hg.snapshot_id,
    }
    return DatasetInputs(
        dataset,
        var_ids,
        names,
        extra,
        aliases,
        (np.asarray(src, np.int64), np.asarray(dst, np.int64), np.asarray(w, np.float32)),
        memberships,
        snap,
        left_out,
        info,
    )


def coexpression_samples(
    b: bundle_mod.Bundle, train: list[str], seed: int = 0
) -> tuple[np.ndarray, str]:
    """Training samples ``[n, G]`` for the co-expression graph and what they are (``cells``
    or ``condition means``): see the module docstring."""
    keep = set(train) | {CONTROL}
    meta = b.meta
    src = Path(str(meta.get("source_file", "")))
    plain = not any(meta.get(k) for k in ("guide_pattern", "guide_col", "context_col"))
    if plain and src.is_file():
        try:
            return _cells(b, src, keep, seed), "cells"
        except (KeyError, ValueError, OSError) as exc:
            log.warning("co-expression from condition means: cells of %s unreadable (%s)", src, exc)
    rows = [b.summary.index(c) for c in b.summary.conditions if c in keep]
    return np.asarray(b.summary.mean[rows], dtype=np.float32), "condition means"


def _cells(b: bundle_mod.Bundle, path: Path, keep: set[str], seed: int) -> np.ndarray:
    import anndata as ad
    import scipy.sparse as sp

    from grapekg.perturb.summaries import normalise_log1p

    meta = b.meta
    a = ad.read_h5ad(path, backed="r")
    labels = a.obs[str(meta.get("pert_col", "condition"))].astype(str).to_numpy()
    controls = list(meta.get("control") or [CONTROL])
    sep = str(meta.get("sep") or "+")
    canon = {}
    for lab in set(labels):
        try:
            canon[lab] = normalise_condition(lab, control_labels=controls, sep=sep)
        except ValueError:
            canon[lab] = ""
    rows = np.flatnonzero(np.array([canon[x] in keep for x in labels]))
    if rows.shape[0] > MAX_CELLS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_CELLS, replace=False))
    pos = {str(g): i for i, g in enumerate(a.var_names)}
    cols = np.array([pos[str(g)] for g in b.summary.gene_ids])
    x = a.X[rows] if rows.shape[0] else np.zeros((0, len(pos)), np.float32)
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    if meta.get("normalised_on_import"):
        x = np.asarray(normalise_log1p(x))
    return x[:, cols].astype(np.float32)


def config_overrides(pairs: list[str], option: str = "--set") -> dict[str, object]:
    """``KEY=VALUE`` pairs as typed :class:`BiodsnnConfig` settings
    (:func:`grapekg.app.overrides.parse_overrides`); ConfigError (one line) otherwise."""
    return parse_overrides(BiodsnnConfig, pairs, option)


class BiodsnnRuns:
    """BioDSNN's part of the training flow (:class:`grapekg.app.training.ModelRuns`)."""

    config_type = BiodsnnConfig
    score_name = "val mse_de"
    #: attention edges written back per query gene
    edges_per_gene = 10

    def make_config(self, options: dict[str, Any]) -> BiodsnnConfig:
        try:
            return BiodsnnConfig(**options)
        except ValueError as exc:
            raise ConfigError(f"biodsnn settings: {exc}") from None

    def inputs(
        self, store: Store, ws: Workspace, dataset: str, options: dict[str, Any]
    ) -> DatasetInputs:
        return dataset_inputs(store, ws, dataset)

    def seed_config(
        self, base: BiodsnnConfig, inputs: DatasetInputs, ablation: str | None, seed: int
    ) -> BiodsnnConfig:
        if ablation is not None and ablation not in ABLATIONS:
            raise ConfigError(f"--ablation '{ablation}': BioDSNN has {', '.join(ABLATIONS)}")
        return replace(base, seed=seed, **({ablation: True} if ablation else {}))

    def seed_inputs(
        self, inputs: DatasetInputs, bundle: bundle_mod.Bundle, split: Split, config: BiodsnnConfig
    ) -> tuple[BiodsnnData, dict[str, object]]:
        """The graphs and mask of one seed: G_gene from this split's training samples."""
        samples, kind = coexpression_samples(bundle, split.train, config.seed)
        data = BiodsnnData.build(
            inputs.gene_ids,
            inputs.extra_ids,
            inputs.go_edges,
            samples,
            inputs.memberships,
            config,
            symbols=inputs.symbols,
            aliases=inputs.aliases,
            info={
                **inputs.info,
                "coexpression": kind,
                "coexpression_samples": int(samples.shape[0]),
            },
        )
        return data, {**data.info, "mask_edges": int(data.mask(config).shape[1])}

    def fit(
        self,
        prepared: BiodsnnData,
        bundle: bundle_mod.Bundle,
        split: Split,
        config: BiodsnnConfig,
        run_dir: Path,
        *,
        device: str,
        progress: EpochCallback | None,
    ) -> FitOutcome:
        res = fit(
            prepared, bundle.summary, split, config, run_dir, de_rank=bundle.de_rank,
            device=device, progress=progress,
        )  # fmt: skip
        metrics = {"best_val_mse_de": res.best_val, "best_epoch": res.best_epoch}
        return FitOutcome(res.best_epoch, res.best_val, metrics)

    def predict(self, run_dir: Path, conditions: list[str], device: str) -> dict[str, np.ndarray]:
        return predict(run_dir, conditions, device=device)

    def learned_edges(
        self, run_dir: Path, inputs: DatasetInputs, bundle: bundle_mod.Bundle, config: BiodsnnConfig
    ) -> pd.DataFrame | None:
        """The last layer's attention (module docstring); None without the attention."""
        if config.no_attention:
            return None
        return _attention_edges(bundle, inputs, run_dir, self.edges_per_gene)


#: BioDSNN in the training flow (the registry entry's ``runs``)
BIODSNN_RUNS = BiodsnnRuns()


def _attention_edges(
    b: bundle_mod.Bundle, inp: DatasetInputs, run_dir: Path, edges_per_gene: int
) -> pd.DataFrame:
    """The run's attention edges (last layer, mean over heads and conditions; module
    docstring) between KG genes, as the write-back takes them."""
    model, data_ = load_model(run_dir)
    conds = [c for c in inp.usable(list(b.summary.conditions)) if c != CONTROL]
    att = attention_edges(model, data_, conds, top=edges_per_gene)
    kg_ids = dict(zip(inp.gene_ids, _kg_ids(b), strict=True))
    att["src"] = att["src"].map(kg_ids)
    att["dst"] = att["dst"].map(kg_ids)
    att = att.dropna(subset=["src", "dst"])
    return att.assign(type="predicted_regulates", score=att["attention"])


def _kg_ids(b: bundle_mod.Bundle) -> list[str | None]:
    return [
        str(e) if ok else None
        for e, ok in zip(b.genes["ensembl_id"], b.genes["in_kg"], strict=True)
    ]
