"""GRAPE in the training flow (:mod:`grapekg.app.training`): the dataset's typed gene graph
and features from Neo4j, fit / predict / learned edges for :data:`GRAPE_RUNS` (the
``runs`` of :data:`grapekg.app.registry.GRAPE`).

The model graph (:func:`dataset_graph`): the dataset's measured genes, every perturbation
target resolved to a KG gene (measured or not: an unmeasured target is a node with its
features and prior edges whose knock-down reaches the measured genes through the graph), and
with ``grape train --neighbourhood K`` (default 0) every KG gene within K prior-edge steps of
those. The output head, the loss and the predictions cover the measured genes only. A
measured gene the KG lacks is a node of its own without edges and with the missing-feature
vector (zeros); a target that resolves to no KG gene leaves its conditions out of training
and of GRAPE's predictions, with one warning line naming them (:meth:`DatasetGraph.warning`).
The model fits on exactly ``split.train`` and selects its epoch on ``split.val``, the split of
:func:`grapekg.perturb.splits.resolve_split` that the baselines use too (a user's split file
with an empty ``val`` is used as written: the epoch is then chosen on the training loss, and
the tables say "validation: none (user split)").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from grapekg.app import registry
from grapekg.app.overrides import parse_overrides
from grapekg.app.training import (
    EpochCallback,
    FitOutcome,
    RunOutcome,
    combine_predictions,
    dataset_members,
    ensure_priors,
    member_splits,
    place_targets,
    rank0_recorded,
    resolve_device,
    run_identity,
    save_predictions,
    training_regulators,
    write_back_run,
)
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, cut
from grapekg.kg import features as kgf
from grapekg.kg.datasets import bundle_path
from grapekg.kg.export import formats
from grapekg.kg.export.reader import export_graph
from grapekg.kg.identity import GeneResolver
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.store import Store
from grapekg.model.grape.config import GrapeConfig
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.learned import learned_edges
from grapekg.model.grape.train import load_model, predict, train_grape
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.de import compute_de
from grapekg.perturb.splits import SPLIT_NAMES, Split

__all__ = [
    "ABLATIONS",
    "GRAPE_RUNS",
    "DatasetGraph",
    "GrapeConfig",
    "MissingTextError",
    "RunOutcome",
    "SPLIT_NAMES",
    "combine_predictions",
    "config_for",
    "config_overrides",
    "dataset_graph",
    "dataset_members",
    "ensure_priors",
    "member_splits",
    "place_targets",
    "rank0_recorded",
    "read_features",
    "resolve_device",
    "run_identity",
    "run_label",
    "save_predictions",
    "train_seed",
    "write_back_run",
]

log = logging.getLogger(__name__)

ABLATIONS = registry.GRAPE.ablations


@dataclass
class DatasetGraph:
    """GRAPE's graph of one dataset and what was done to build it.

    The nodes are the dataset's measured genes, its perturbation targets (measured or
    not) and, with ``neighbourhood`` K > 0, every KG gene within K steps of those over the
    prior edges. Measured genes are the output (loss and predictions); the other nodes only
    pass messages. A measured gene without a KG node is a node of its own (its var id, class
    'c') with no edges and the missing-feature vector (zeros).
    """

    graph: GeneGraph
    snapshot_id: str
    dataset: str
    edges: str = "go,reactome"
    neighbourhood: int = 0
    not_in_kg: list[str] = field(default_factory=list)  # var ids of measured genes
    unmeasured_targets: list[str] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)  # condition -> names

    def usable(self, conditions: list[str]) -> list[str]:
        """``conditions`` without those whose targets nothing can place."""
        return [c for c in conditions if c not in self.left_out]

    def warning(self) -> str | None:
        """One line naming the conditions left out (None when there is none)."""
        if not self.left_out:
            return None
        names = sorted({n for v in self.left_out.values() for n in v})
        conds = sorted(self.left_out)
        shown = ", ".join(conds[:8]) + (f", … (+{len(conds) - 8})" if len(conds) > 8 else "")
        return cut(
            f"{len(conds)} condition(s) left out of training and GRAPE's predictions: "
            f"target(s) {', '.join(names[:8])} resolve to no KG gene ({shown})",
            240,
        )

    def describe(self) -> str:
        """One line: what the graph holds."""
        g = self.graph
        return (
            f"graph of {self.dataset}: {g.num_genes:,} genes "
            f"({sum(b == 'c' for b in g.biotype):,} c), "
            f"{int(g.prior_edge_index().shape[1]):,} directed prior edges; "
            f"{len(self.unmeasured_targets):,} unmeasured targets, "
            f"{len(self.not_in_kg):,} measured genes not in the KG; "
            f"text {'yes' if g.text is not None else 'no'}, "
            f"DNA {'yes' if g.dna is not None else 'no (no sequences)'}; "
            f"snapshot {self.snapshot_id[:12]}"
        )

    def info(self) -> dict[str, object]:
        return {
            "edges": self.edges,
            "neighbourhood": self.neighbourhood,
            "not_in_kg": list(self.not_in_kg),
            "unmeasured_targets": list(self.unmeasured_targets),
            "left_out": dict(self.left_out),
        }


def read_features(
    store: Store, ids: list[str]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(text ``[N, d]``, DNA or k-mer ``[N, d']`` or None, its mask) of KG genes; every gene
    must have a text vector (ConfigError naming the command otherwise, the caller words it)."""
    text, tmask = kgf.read_vectors(store, "text", ids)
    if text.shape[1] == 0 or not tmask.all():
        missing = [g for g, ok in zip(ids, tmask, strict=True) if not ok] if text.shape[1] else ids
        raise MissingTextError(missing)
    for modality in ("dna", "kmer"):
        mat, mask = kgf.read_vectors(store, modality, ids)
        if mask.any():
            return text, np.nan_to_num(mat), mask
    return text, None, None


class MissingTextError(Exception):
    """KG genes without a text vector (``missing``: their ids)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing


def dataset_graph(
    store: Store,
    ws: Workspace,
    dataset: str,
    edges: str = "go,reactome",
    neighbourhood: int = 0,
) -> DatasetGraph:
    """GRAPE's graph of a dataset (:class:`DatasetGraph`): the measured genes and targets
    resolved as the import did (bundle ``genes.parquet``; targets through
    :class:`~grapekg.kg.identity.GeneResolver`), their KG features and prior edges read from
    Neo4j, plus the measured genes the KG lacks. Raises ConfigError (one line) when a KG gene
    has no text feature or ``neighbourhood`` is negative."""
    if neighbourhood < 0:
        raise ConfigError("--neighbourhood must be 0 or more")
    b = bundle_mod.load(bundle_path(store, ws.settings, dataset))
    if len(b.genes) != len(b.summary.gene_ids):
        raise ConfigError(
            f"dataset {dataset}: genes.parquet has {len(b.genes)} rows for "
            f"{len(b.summary.gene_ids)} genes; import it again (grape data import)"
        )
    resolver = GeneResolver.from_store(store, gene_index_from_store(store))
    placed, left_out = place_targets(b, resolver)
    var_ids = [str(g) for g in b.summary.gene_ids]
    kg_measured = [
        str(e) for e, ok in zip(b.genes["ensembl_id"], b.genes["in_kg"], strict=True) if ok
    ]
    absent = [g for g, ok in zip(var_ids, b.genes["in_kg"], strict=True) if not ok]
    kg_ids = sorted(set(kg_measured) | {v for v in placed.values() if v not in set(absent)})
    hg = export_graph(store, kg_ids, edges, hops=neighbourhood)
    data = formats.to_pyg(hg)
    for t in ("c", "nc"):
        if t in data.node_types:
            data[t].gene_id = list(data[t].ensembl_id)
    ids = [g for t in ("c", "nc") if t in data.node_types for g in data[t].gene_id]
    try:
        text, dna, dmask = read_features(store, ids)
    except MissingTextError as exc:
        raise ConfigError(
            f"{len(exc.missing)} of the {len(ids)} KG genes of {dataset}'s graph have no text "
            f"feature (e.g. {', '.join(exc.missing[:3])}): run 'grape features compute "
            f"--modality text --genes dataset:{dataset}'"
            + (" (with --neighbourhood: --genes all)" if neighbourhood else "")
        ) from None
    graph = GeneGraph.from_heterodata(
        data,
        text=torch.from_numpy(text),
        dna=None if dna is None else torch.from_numpy(dna),
        dna_mask=None if dmask is None else torch.from_numpy(dmask),
    )
    names = [str(g) for g in b.summary.gene_names]
    aliases = {**placed}
    for gid, sym, eid, ok in zip(
        var_ids, names, b.genes["ensembl_id"], b.genes["in_kg"], strict=True
    ):
        node = str(eid) if ok else gid
        aliases.setdefault(gid, node)
        aliases.setdefault(sym, node)
    if absent:
        new = pd.DataFrame(
            {
                "ensembl_id": absent,
                "symbol": [names[var_ids.index(g)] for g in absent],
                "biotype_class": ["c"] * len(absent),
            }
        )
        graph = graph.extended(new, aliases=aliases)
    else:
        graph.aliases = aliases
        graph.__post_init__()
    measured_nodes = set(kg_measured) | set(absent)
    unmeasured = sorted(t for t, v in placed.items() if v not in measured_nodes)
    return DatasetGraph(
        graph, hg.snapshot_id, dataset, edges, neighbourhood, absent, unmeasured, left_out
    )


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


def config_overrides(pairs: list[str], option: str = "--set") -> dict[str, object]:
    """``KEY=VALUE`` pairs as typed :class:`GrapeConfig` settings
    (:func:`grapekg.app.overrides.parse_overrides`); ConfigError (one line) otherwise."""
    return parse_overrides(GrapeConfig, pairs, option)


def run_label(ablation: str | None, pert_channel: bool = False) -> str:
    """``grape``, ``grape-<ablation>``; ``grape-pc…`` with the perturbation channel."""
    base = "grape-pc" if pert_channel else "grape"
    return base if not ablation else f"{base}-{ablation.replace('_', '-')}"


class GrapeRuns:
    """GRAPE's part of the training flow (:class:`grapekg.app.training.ModelRuns`)."""

    config_type = GrapeConfig
    score_name = "val MSE"

    def make_config(self, options: dict[str, Any]) -> GrapeConfig:
        o = options
        return GrapeConfig(
            epochs=o["epochs"],
            align_epochs=o["align_epochs"],
            hidden=o["hidden"],
            batch_size=o["batch_size"],
            lr=o["lr"],
            gat_heads=o["heads"],
            sim_heads=o["heads"],
            sim_top_k=o["top_k"],
            pert_channel=o["pert_channel"],
        )

    def inputs(
        self, store: Store, ws: Workspace, dataset: str, options: dict[str, Any]
    ) -> DatasetGraph:
        return dataset_graph(store, ws, dataset, neighbourhood=options.get("neighbourhood", 0))

    def seed_config(
        self, base: GrapeConfig, inputs: DatasetGraph, ablation: str | None, seed: int
    ) -> GrapeConfig:
        return config_for(base, inputs.graph, ablation, seed)

    def seed_inputs(
        self, inputs: DatasetGraph, bundle: Any, split: Split, config: GrapeConfig
    ) -> tuple[DatasetGraph, dict[str, object]]:
        return inputs, inputs.info()

    def fit(
        self,
        prepared: DatasetGraph,
        bundle: Any,
        split: Split,
        config: GrapeConfig,
        run_dir: Path,
        *,
        device: str,
        progress: EpochCallback | None,
    ) -> FitOutcome:
        extra = {}
        if config.select_on != "mse":  # the epoch is chosen on the GEARS DE genes
            extra["de_rank"] = compute_de(bundle.summary).ranking
        res = train_grape(
            prepared.graph, bundle.summary, split, config, run_dir, device=device,
            progress=progress, **extra,
        )  # fmt: skip
        metrics = {"best_val_mse": res.best_val, "best_epoch": res.best_epoch}
        return FitOutcome(res.best_epoch, res.best_val, metrics)

    def predict(self, run_dir: Path, conditions: list[str], device: str) -> dict[str, np.ndarray]:
        return predict(run_dir, conditions, device=device)

    def learned_edges(
        self, run_dir: Path, inputs: DatasetGraph, bundle: Any, config: GrapeConfig
    ) -> pd.DataFrame:
        model, graph = load_model(run_dir, device="cpu")
        regs = training_regulators(inputs, bundle)
        return learned_edges(model, graph, regs, list(bundle.summary.gene_ids))


#: GRAPE in the training flow (the registry entry's ``runs``)
GRAPE_RUNS = GrapeRuns()


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
    graph: DatasetGraph | None = None,
    split: Split | None = None,
    progress: EpochCallback | None = None,
    label: str | None = None,
) -> RunOutcome:
    """One GRAPE seed through :func:`grapekg.app.training.train_seed` (label
    ``grape[-ablation]`` unless given)."""
    from grapekg.app import training

    return training.train_seed(
        GRAPE_RUNS, store, ws, dataset, split_name, seed, base, ablation=ablation,
        device=device, write_back=write_back, inputs=graph, split=split, progress=progress,
        label=label or run_label(ablation, base.pert_channel), model="grape",
    )  # fmt: skip
