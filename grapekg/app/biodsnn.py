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

import difflib
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from grapekg.app.train import (
    RunOutcome,
    place_targets,
    rank0_recorded,
    run_identity,
    save_predictions,
    write_back_run,
)
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, cut
from grapekg.kg import writeback
from grapekg.kg.datasets import bundle_path
from grapekg.kg.export import priors
from grapekg.kg.export.reader import export_graph
from grapekg.kg.identity import GeneResolver
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.store import Store
from grapekg.model import distributed as ddp
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
from grapekg.perturb.splits import Split, resolve_split, split_tag, validation_note

__all__ = [
    "ABLATIONS",
    "BiodsnnConfig",
    "DatasetInputs",
    "coexpression_samples",
    "config_overrides",
    "dataset_inputs",
    "run_label",
    "train_seed",
]

log = logging.getLogger(__name__)

ABLATIONS = ("no_vae", "no_mask", "no_attention")
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
    from grapekg.app.train import ensure_priors

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
    """``KEY=VALUE`` pairs as typed :class:`BiodsnnConfig` fields (bool true/false/1/0/yes/no);
    ConfigError (one line, naming ``option``) otherwise."""
    types = {f.name: str(f.type) for f in fields(BiodsnnConfig)}
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or key not in types:
            near = difflib.get_close_matches(key, list(types), n=1)
            raise ConfigError(
                f"{option} {cut(pair, 60)!r}: expected KEY=VALUE with KEY a BiodsnnConfig field"
                + (f" (did you mean {near[0]}?)" if near else " (grapekg.model.biodsnn.config)")
            )
        kind = types[key]
        try:
            if kind.startswith("bool"):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(raw)
                value: object = raw.lower() in ("true", "1", "yes")
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
        replace(BiodsnnConfig(), **out)
    except ValueError as exc:
        raise ConfigError(f"{option}: {exc}") from None
    return out


def run_label(ablation: str | None) -> str:
    """``biodsnn`` or ``biodsnn-<ablation>``."""
    return "biodsnn" if not ablation else f"biodsnn-{ablation.replace('_', '-')}"


def train_seed(
    store: Store,
    ws: Workspace,
    dataset: str,
    split_name: str,
    seed: int,
    base: BiodsnnConfig,
    *,
    ablation: str | None = None,
    device: str = "cpu",
    write_back: bool = True,
    inputs: DatasetInputs | None = None,
    split: Split | None = None,
    progress: EpochCallback | None = None,
    label: str | None = None,
    edges_per_gene: int = 10,
) -> RunOutcome:
    """Train one seed on ``split.train`` (the epoch chosen on ``split.val`` by mse_de), save
    its test predictions, write the attention edges back (module docstring). The run is
    recorded in ``run.json`` from its start (:func:`grapekg.app.runs.recorded`; in a
    data-parallel run by rank 0, which alone writes): a failure at any stage leaves it
    ``failed`` with the reason, and is raised on."""
    if ablation is not None and ablation not in ABLATIONS:
        raise ConfigError(f"--ablation '{ablation}': BioDSNN has {', '.join(ABLATIONS)}")
    b = bundle_mod.load(bundle_path(store, ws.settings, dataset))
    inp = inputs or dataset_inputs(store, ws, dataset)
    cfg = replace(base, seed=seed, **({ablation: True} if ablation else {}))
    split = split or resolve_split(split_name, b.summary.conditions, seed)
    used = replace(
        split, train=inp.usable(split.train), val=inp.usable(split.val), test=inp.usable(split.test)
    )
    samples, kind = coexpression_samples(b, used.train, seed)
    data = BiodsnnData.build(
        inp.gene_ids,
        inp.extra_ids,
        inp.go_edges,
        samples,
        inp.memberships,
        cfg,
        symbols=inp.symbols,
        aliases=inp.aliases,
        info={**inp.info, "coexpression": kind, "coexpression_samples": int(samples.shape[0])},
    )
    label = label or run_label(ablation)
    run_id, cfg_hash = run_identity(dataset, split_name, label, seed, cfg)
    run_dir = ws.run_dir(run_id)
    info = {
        "run_id": run_id,
        "model": "biodsnn",
        "dataset": dataset,
        "split": split_name,
        "split_id": split_tag(split_name),
        "validation": validation_note(used),
        "seed": seed,
        "label": label,
        "snapshot_id": inp.snapshot_id,
        "synthetic": b.synthetic,
        "graph": {**data.info, "mask_edges": int(data.mask(cfg).shape[1])},
    }
    test = [c for c in used.test if c != CONTROL]
    written: dict[str, int] = {}
    with rank0_recorded(run_dir, info) as rec:
        res = fit(
            data, b.summary, used, cfg, run_dir, de_rank=b.de_rank, device=device, progress=progress
        )
        if ddp.is_rank0():  # data-parallel: rank 0 alone predicts and writes back
            rec["stage"] = "predictions"
            preds = predict(run_dir, test, device=device)
            save_predictions(run_dir, seed, preds, b.summary.gene_ids)
            if write_back and not cfg.no_attention:
                rec["stage"] = "write-back"
                wb = writeback.RunInfo(
                    id=run_id,
                    model=label,
                    config_hash=cfg_hash,
                    dataset=dataset,
                    split=split_name,
                    seed=seed,
                    snapshot_id=inp.snapshot_id,
                    metrics={"best_val_mse_de": res.best_val, "best_epoch": res.best_epoch},
                    config=asdict(cfg),
                )
                written = _write_back(store, b, inp, run_dir, wb, edges_per_gene)
            rec["written_back"] = bool(write_back and not cfg.no_attention)
    return RunOutcome(
        run_id,
        run_dir,
        seed,
        res.best_epoch,
        res.best_val,
        len(test),
        inp.snapshot_id,
        written,
        dataset,
    )


def _write_back(
    store: Store,
    b: bundle_mod.Bundle,
    inp: DatasetInputs,
    run_dir: Path,
    info: writeback.RunInfo,
    edges_per_gene: int,
) -> dict[str, int]:
    """The run's attention edges (last layer, mean over heads and conditions; module
    docstring) beside the run and in Neo4j; returns the counts written."""
    model, data_ = load_model(run_dir)
    conds = [c for c in inp.usable(list(b.summary.conditions)) if c != CONTROL]
    att = attention_edges(model, data_, conds, top=edges_per_gene)
    kg_ids = dict(zip(inp.gene_ids, _kg_ids(b), strict=True))
    att["src"] = att["src"].map(kg_ids)
    att["dst"] = att["dst"].map(kg_ids)
    att = att.dropna(subset=["src", "dst"])
    edges = att.assign(type="predicted_regulates", score=att["attention"])
    return write_back_run(store, info, edges, run_dir)


def _kg_ids(b: bundle_mod.Bundle) -> list[str | None]:
    return [
        str(e) if ok else None
        for e, ok in zip(b.genes["ensembl_id"], b.genes["in_kg"], strict=True)
    ]
