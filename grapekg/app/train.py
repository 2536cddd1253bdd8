"""GRAPE runs end to end (``grape train``): the dataset's typed gene graph and features from
Neo4j, training per seed, predictions for `grape evaluate`, and the write-back of what was
learned. The evaluation that follows is :func:`grapekg.app.evaluate.evaluate`.

The model graph (:func:`dataset_graph`, issue 9.3): the dataset's measured genes, every
perturbation target resolved to a KG gene (measured or not: an unmeasured target is a node
with its features and prior edges whose knock-down reaches the measured genes through the
graph), and with ``grape train --neighbourhood K`` (default 0) every KG gene within K prior-edge
steps of those. The output head, the loss and the predictions cover the measured genes only. A
measured gene the KG lacks is a node of its own without edges and with the missing-feature
vector (zeros); a target that resolves to no KG gene leaves its conditions out of training and
of GRAPE's predictions, with one warning line naming them (:meth:`DatasetGraph.warning`). The
model fits on exactly ``split.train`` and selects its epoch on ``split.val``, the split of
:func:`grapekg.perturb.splits.resolve_split` that the baselines use too (a user's split
file with an empty ``val`` is used as written: the epoch is then chosen on the training
loss, and the tables say "validation: none (user split)"). A group ``NAME``
trains every member ``NAME@ctx`` on its member split (:func:`member_splits`).

Run layout (:class:`~grapekg.app.workspace.Workspace`): ``<data_dir>/runs/<run_id>/``
(run.json from the start: status running / complete / failed with the reason, see
:mod:`grapekg.app.runs`; config.json, model.pt, graph.pt, meta.json, predictions.parquet,
learned_edges.parquet) and, per (dataset, split, model label), a combined
``<data_dir>/results/<dataset>/<split>/<label>.parquet`` of test predictions with a ``seed``
column that ``grape evaluate --predictions LABEL=FILE`` scores beside the baselines. Run
ids and ``<split>`` use the split's identity (:func:`~grapekg.perturb.splits.split_tag`: a
built-in name, or ``user-<hash>`` of a split file's content).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grapekg.app.runs import recorded
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, cut
from grapekg.kg import features as kgf
from grapekg.kg import writeback
from grapekg.kg.datasets import bundle_path, list_datasets
from grapekg.kg.export import formats, priors
from grapekg.kg.export.reader import export_graph
from grapekg.kg.identity import GeneResolver
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.store import Store
from grapekg.model import distributed as ddp
from grapekg.model.grape.config import GrapeConfig
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.learned import learned_edges
from grapekg.model.grape.train import EpochCallback, load_model, predict, train_grape
from grapekg.parquet import read_parquet
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.splits import (
    SPLIT_NAMES,
    Split,
    resolve_split,
    split_group,
    split_tag,
    validation_note,
)

__all__ = [
    "ABLATIONS",
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
    "member_splits",
    "read_features",
    "ensure_priors",
    "place_targets",
    "rank0_recorded",
    "resolve_device",
    "run_identity",
    "run_label",
    "save_predictions",
    "train_seed",
    "write_back_run",
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
    dataset: str = ""


def ensure_priors(store: Store, advance: Callable[[int], None] | None = None) -> list[str]:
    """Build the default prior edges once (GO BP Jaccard, Reactome level 4) if none is
    complete; returns the kinds built now."""
    have = {
        r["name"].removeprefix("prior."): r
        for r in priors.prior_sources(store)
        if r["status"] == "complete"
    }
    built = []
    if ddp.init_from_env() and not ddp.is_rank0():  # data-parallel: rank 0 builds them
        ddp.barrier()
        return built
    for params in (priors.GoJaccardParams(namespace="biological_process"), priors.ReactomeParams()):
        if params.kind not in have:
            priors.build_prior(store, params, advance=advance)
            built.append(params.kind)
    ddp.barrier()
    return built


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

    def info(self) -> dict[str, object]:
        return {
            "edges": self.edges,
            "neighbourhood": self.neighbourhood,
            "not_in_kg": list(self.not_in_kg),
            "unmeasured_targets": list(self.unmeasured_targets),
            "left_out": dict(self.left_out),
        }


def place_targets(
    b: bundle_mod.Bundle, resolver: GeneResolver
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(target name -> gene id, condition -> unplaceable names): a target that is a measured
    gene is that gene's node (as the import resolves it); otherwise the identity routes."""
    ids = [str(g) for g in b.summary.gene_ids]
    names = [str(g) for g in b.summary.gene_names]
    measured: dict[str, str] = {}
    for gid, sym, (eid, ok) in zip(
        ids, names, b.genes[["ensembl_id", "in_kg"]].itertuples(index=False), strict=True
    ):
        node = str(eid) if ok else gid
        measured.setdefault(sym, node)
        measured.setdefault(gid, node)
    placed: dict[str, str] = {}
    left_out: dict[str, list[str]] = {}
    for cond in b.summary.conditions:
        bad = []
        for t in parse_condition(cond):
            if t in placed:
                continue
            if t in measured:
                placed[t] = measured[t]
                continue
            r = resolver.resolve(t)
            if r.resolved:
                placed[t] = str(r.ensembl_id)
            else:
                bad.append(t)
        if bad:
            left_out[cond] = bad
    left = {t for v in left_out.values() for t in v}
    for cond in b.summary.conditions:  # a name unplaceable once is unplaceable everywhere
        extra = [t for t in parse_condition(cond) if t in left]
        if extra:
            left_out[cond] = sorted(set(extra))
    return placed, left_out


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


def config_overrides(pairs: list[str], option: str = "--set") -> dict[str, object]:
    """``KEY=VALUE`` pairs as typed :class:`GrapeConfig` fields (bool: true/false/1/0/yes/no;
    ``none`` for an optional field); ConfigError (one line, naming ``option``) otherwise."""
    import difflib
    from dataclasses import fields as dc_fields

    types = {f.name: str(f.type) for f in dc_fields(GrapeConfig)}
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or key not in types:
            near = difflib.get_close_matches(key, list(types), n=1)
            raise ConfigError(
                f"{option} {cut(pair, 60)!r}: expected KEY=VALUE with KEY a GrapeConfig field"
                + (f" (did you mean {near[0]}?)" if near else " (grapekg.model.grape.config)")
            )
        kind = types[key]
        try:
            if raw.lower() == "none" and "None" in kind:
                value: object = None
            elif kind.startswith("bool"):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                value = raw.lower() in ("true", "1", "yes")
            elif kind.startswith("int"):
                value = int(raw)
            elif kind.startswith("float"):
                value = float(raw)
            else:
                value = raw
        except ValueError:
            raise ConfigError(f"{option} {key}={cut(raw, 40)!r}: not a valid {kind}") from None
        out[key] = value
    try:
        replace(GrapeConfig(), **out)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    return out


def run_label(ablation: str | None, pert_channel: bool = False) -> str:
    """``grape``, ``grape-<ablation>``; ``grape-pc…`` with the perturbation channel."""
    base = "grape-pc" if pert_channel else "grape"
    return base if not ablation else f"{base}-{ablation.replace('_', '-')}"


def member_splits(
    store: Store, ws: Workspace, name: str, split_name: str, seed: int
) -> dict[str, Split]:
    """The split of a dataset, or of each member of a group ``NAME`` (``NAME@ctx``): one split
    of the union of the members' conditions, restricted to each (the contract's
    :func:`~grapekg.perturb.splits.split_group`). A built-in split carries validation
    conditions; a user's file is used as written (:func:`~grapekg.perturb.splits.resolve_split`)."""
    members = dataset_members(store, ws, name)
    conds = {
        m: list(bundle_mod.load(bundle_path(store, ws.settings, m)).summary.conditions)
        for m in members
    }
    if members == [name]:
        return {name: resolve_split(split_name, conds[name], seed)}
    return split_group(split_name, conds, seed)


def dataset_members(store: Store, ws: Workspace, name: str) -> list[str]:
    """``[name]`` for a dataset, the members ``NAME@ctx`` for a group (sorted)."""
    if any(d["name"] == name for d in list_datasets(store)):
        return [name]
    from grapekg.app.datasets import group_members

    found = list(group_members(store, name))
    if not found:
        raise ConfigError(f"--dataset {cut(name)!r}: no dataset or group of that name")
    return found


def run_identity(
    dataset: str, split_name: str, label: str, seed: int, config: object
) -> tuple[str, str]:
    """(run id, config hash) of one seed's run, the same scheme for every model:
    ``<dataset>-<split>-<label>-s<seed>-<hash8>``, where ``<split>`` is the split's identity
    (:func:`~grapekg.perturb.splits.split_tag`: a built-in name, or ``user-<hash>`` of a split
    file's lists, never its file name)."""
    cfg_hash = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:12]
    return f"{dataset}-{split_tag(split_name)}-{label}-s{seed}-{cfg_hash[:8]}", cfg_hash


def save_predictions(
    run_dir: Path, seed: int, pred: dict[str, np.ndarray], gene_ids: object
) -> None:
    """A run's test predictions as ``predictions.parquet`` (seed, condition, gene, value)."""
    rows = [
        (seed, c, gid, float(v))
        for c, vec in pred.items()
        for gid, v in zip(gene_ids, vec, strict=True)  # type: ignore[call-overload]
    ]
    pd.DataFrame(rows, columns=["seed", "condition", "gene", "value"]).to_parquet(
        run_dir / "predictions.parquet", index=False
    )


def write_back_run(
    store: Store, info: writeback.RunInfo, edges: pd.DataFrame, run_dir: Path
) -> dict[str, int]:
    """Save a run's learned edges beside it and write them to Neo4j (all-or-nothing,
    idempotent: :func:`grapekg.kg.writeback.write_run`); returns the counts written."""
    edges.to_parquet(run_dir / "learned_edges.parquet", index=False)
    return writeback.write_run(store, info, edges).written


@contextmanager
def rank0_recorded(run_dir: Path, info: dict[str, object]) -> Iterator[dict[str, object]]:
    """:func:`grapekg.app.runs.recorded` for a run that may be data-parallel (torchrun,
    :mod:`grapekg.model.distributed`): rank 0 records it (``running``, then ``complete`` or
    ``failed`` with the reason) and writes the folder; the other ranks write nothing. Every
    rank waits at the end until all are done, inside rank 0's record: a rank that failed or
    vanished makes rank 0's next collective fail, so the run is recorded ``failed``, never
    ``complete``. In one process it is ``recorded`` itself."""
    if not ddp.init_from_env():
        with recorded(run_dir, info) as rec:
            yield rec
        return
    if ddp.is_rank0():
        with recorded(run_dir, info | {"processes": ddp.world_size()}) as rec:
            yield rec
            ddp.barrier()
        return
    yield {}
    ddp.barrier()


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
    """Train one seed on exactly ``split.train`` (early stopping and the best epoch on
    ``split.val``; on the training loss when a user's split has no validation list), save
    its test predictions, write the learned edges back; ``progress`` is called after every
    epoch. Conditions whose targets nothing can place (:meth:`DatasetGraph.usable`) are left
    out of all three lists. The run is recorded in ``run.json`` from its start
    (:func:`grapekg.app.runs.recorded`): a failure at any stage leaves it ``failed`` with the
    reason, and is raised on."""
    b = bundle_mod.load(bundle_path(store, ws.settings, dataset))
    dg = graph or dataset_graph(store, ws, dataset)
    g = dg.graph
    cfg = config_for(base, g, ablation, seed)
    split = split or resolve_split(split_name, b.summary.conditions, seed)
    used = replace(
        split, train=dg.usable(split.train), val=dg.usable(split.val), test=dg.usable(split.test)
    )
    label = label or run_label(ablation, cfg.pert_channel)
    run_id, cfg_hash = run_identity(dataset, split_name, label, seed, cfg)
    run_dir = ws.run_dir(run_id)
    info = {
        "run_id": run_id,
        "model": "grape",
        "dataset": dataset,
        "split": split_name,
        "split_id": split_tag(split_name),
        "validation": validation_note(used),
        "seed": seed,
        "label": label,
        "snapshot_id": dg.snapshot_id,
        "synthetic": b.synthetic,
        "graph": dg.info(),
    }
    test = [c for c in used.test if c != CONTROL]
    edges_written: dict[str, int] = {}
    with rank0_recorded(run_dir, info) as rec:
        res = train_grape(g, b.summary, used, cfg, run_dir, device=device, progress=progress)
        if ddp.is_rank0():  # data-parallel: rank 0 alone predicts and writes back
            rec["stage"] = "predictions"
            preds = predict(run_dir, test, device=device)
            save_predictions(run_dir, seed, preds, b.summary.gene_ids)
        if write_back and ddp.is_rank0():
            rec["stage"] = "write-back"
            model, graph_ = load_model(run_dir, device="cpu")
            regs = sorted(
                {x for c in dg.usable(list(b.summary.conditions)) for x in parse_condition(c)}
            )
            edges = learned_edges(model, graph_, regs, list(b.summary.gene_ids))
            wb = writeback.RunInfo(
                id=run_id,
                model=label,
                config_hash=cfg_hash,
                dataset=dataset,
                split=split_name,
                seed=seed,
                snapshot_id=dg.snapshot_id,
                metrics={"best_val_mse": res.best_val, "best_epoch": res.best_epoch},
                config=asdict(cfg),
            )
            edges_written = write_back_run(store, wb, edges, run_dir)
        if ddp.is_rank0():
            rec["written_back"] = bool(write_back)
    return RunOutcome(
        run_id,
        run_dir,
        seed,
        res.best_epoch,
        res.best_val,
        len(test),
        dg.snapshot_id,
        edges_written,
        dataset,
    )


def combine_predictions(
    ws: Workspace, dataset: str, split_name: str, label: str, outcomes: list[RunOutcome]
) -> Path:
    """One parquet of every seed's test predictions, for ``grape evaluate`` (written by rank
    0 of a data-parallel run; the others wait until it is there)."""
    out = ws.combined_predictions(dataset, split_name, label)
    if not ddp.is_rank0():
        ddp.barrier()
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = [read_parquet(o.run_dir / "predictions.parquet") for o in outcomes]
    pd.concat(frames, ignore_index=True).to_parquet(out, index=False)
    ddp.barrier()
    return out
