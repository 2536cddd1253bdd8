"""One training flow for every model of the registry (``grape train``): dataset members x
ablations x seeds, each seed recorded, predicted, written back, combined for
``grape evaluate``.

What a model supplies is :class:`ModelRuns` (its registry entry's ``runs``): the config
type and how options and ``--set`` make one, the inputs it reads from the KG for a dataset,
the per-seed inputs, ``fit``, ``predict`` and the learned edges it writes back. Everything
else (split, usable conditions, run identity, the ``run.json`` record, predictions, the
all-or-nothing write-back, the combined predictions file) is here, once.

Run layout (:class:`~grapekg.app.workspace.Workspace`): ``<data_dir>/runs/<run_id>/``
(``run.json`` from the start: running / complete / failed with the reason, see
:mod:`grapekg.app.runs`; the model's own files; ``predictions.parquet``;
``learned_edges.parquet``) and per (dataset, split, label) a combined
``<data_dir>/results/<dataset>/<split>/<label>.parquet`` of test predictions with a ``seed``
column, which ``grape evaluate --predictions LABEL=FILE`` scores beside the baselines. Run
ids and ``<split>`` use the split's identity (:func:`~grapekg.perturb.splits.split_tag`: a
built-in name, or ``user-<hash>`` of a split file's content).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from grapekg.app import bounds, registry
from grapekg.app.overrides import apply_overrides, parse_overrides
from grapekg.app.request import TrainRequest, check_request, model_options, run_label
from grapekg.app.runs import recorded
from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, GrapeError, cut
from grapekg.kg import writeback
from grapekg.kg.datasets import bundle_path, list_datasets
from grapekg.kg.export import priors
from grapekg.kg.identity import GeneResolver
from grapekg.kg.store import Store
from grapekg.model import distributed as ddp
from grapekg.parquet import read_parquet
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.splits import Split, resolve_split, split_group, split_tag, validation_note

__all__ = [
    "FitOutcome",
    "ModelInputs",
    "ModelRuns",
    "RunOutcome",
    "TrainRequest",
    "TrainView",
    "check_request",
    "combine_predictions",
    "dataset_members",
    "ensure_priors",
    "member_splits",
    "place_targets",
    "rank0_recorded",
    "resolve_device",
    "run_identity",
    "run_training",
    "save_predictions",
    "train_seed",
    "write_back_run",
]

#: ``progress(done, total, score)`` after every epoch
EpochCallback = Callable[[int, int, float], None]


@dataclass
class FitOutcome:
    """What ``fit`` reports: the best epoch, its validation score and the metrics the
    write-back records on the run node."""

    best_epoch: int
    best_val: float
    metrics: dict[str, float]


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


class ModelInputs(Protocol):
    """What a model read from the KG for one dataset (split-independent)."""

    snapshot_id: str

    def usable(self, conditions: list[str]) -> list[str]: ...

    def warning(self) -> str | None: ...

    def describe(self) -> str: ...


class ModelRuns(Protocol):
    """What the training flow needs of a model (one object per model, see
    :mod:`grapekg.app.registry`)."""

    #: the model's configuration dataclass (``--set`` keys are its fields)
    config_type: type
    #: what ``fit``'s ``best_val`` is, for the line printed per run
    score_name: str

    def make_config(self, options: dict[str, Any]) -> Any:
        """The configuration from the ``grape train`` options the model takes."""

    def inputs(self, store: Store, ws: Workspace, dataset: str, options: dict[str, Any]) -> Any:
        """:class:`ModelInputs` of a dataset, read from the KG."""

    def seed_config(self, base: Any, inputs: Any, ablation: str | None, seed: int) -> Any:
        """The configuration of one seed and ablation."""

    def seed_inputs(
        self, inputs: Any, bundle: Any, split: Split, config: Any
    ) -> tuple[Any, dict[str, object]]:
        """(what ``fit`` takes, what ``run.json`` records as ``graph``) for one seed."""

    def fit(
        self,
        prepared: Any,
        bundle: Any,
        split: Split,
        config: Any,
        run_dir: Path,
        *,
        device: str,
        progress: EpochCallback | None,
    ) -> FitOutcome: ...

    def predict(self, run_dir: Path, conditions: list[str], device: str) -> dict[str, Any]: ...

    def learned_edges(
        self, run_dir: Path, inputs: Any, bundle: Any, config: Any
    ) -> pd.DataFrame | None:
        """The edges to write back (columns src, dst, type, score, ...), None for none."""


def _base_config(entry: registry.ModelEntry, runs: ModelRuns, req: TrainRequest) -> Any:
    """The model's config: options, then the variant's settings, then ``--set``."""
    variant = entry.variant(req.variant)
    base = runs.make_config(model_options(entry, req))
    values = parse_overrides(runs.config_type, [*variant.settings, *req.set_pairs])
    config = apply_overrides(base, values)
    if entry.name in ("grape", "biodsnn"):
        bounds.check_config(entry.name, config)
    return config


# ---------------------------------------------------------------------------- the flow
class TrainView(Protocol):
    """How the flow tells its caller what happens (the CLI draws it with rich)."""

    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def counter(self, title: str) -> AbstractContextManager[Callable[[int], None]]: ...

    def epochs(self, title: str, total: int) -> AbstractContextManager[EpochCallback]: ...

    def run_done(self, outcome: RunOutcome, score_name: str) -> None: ...


@dataclass
class TrainReport:
    """Per member, per run label, the combined predictions file; ``bundle`` is the
    dataset's bundle when it is one dataset (None for a group)."""

    per_member: dict[str, dict[str, Path]]
    bundle: Any
    seeds: list[int]


def run_training(store: Store, ws: Workspace, req: TrainRequest, view: TrainView) -> TrainReport:
    """Train every member x ablation x seed of ``req`` (module docstring)."""
    from grapekg.app import evaluate as evaluation

    entry = check_request(req)
    runs: ModelRuns = entry.load()
    base = _base_config(entry, runs, req)
    user_keys = list(parse_overrides(runs.config_type, req.set_pairs))
    device = resolve_device(req.device)
    options = model_options(entry, req)
    with view.counter("prior edges (once)") as adv:
        built = ensure_priors(store, adv)
    if built:
        view.note(f"built prior edges: {', '.join(built)}")
    members = dataset_members(store, ws, req.dataset)
    if members != [req.dataset]:
        view.note(f"group {req.dataset}: {len(members)} members ({', '.join(members)})")
    per_member: dict[str, dict[str, Path]] = {}
    for member in members:
        inputs = runs.inputs(store, ws, member, options)
        view.note(inputs.describe())
        if inputs.warning():
            view.warn(inputs.warning())
        for abl in req.ablations:
            ablation = None if abl == "none" else abl
            label = run_label(entry, req, ablation, user_keys)
            job = _SeedJob(entry.name, ws.settings, req.dataset, member, req.split, base,
                           ablation, device, req.write_back, label, options)  # fmt: skip
            if req.jobs > 1 and len(req.seeds) > 1:
                outcomes = _parallel_seeds(job, req.seeds, req.jobs, view, runs.score_name)
            else:
                outcomes = []
                for seed in req.seeds:
                    total = int(getattr(base, "epochs", 0))
                    with view.epochs(entry.title, total) as bar:
                        o = job.run(seed, store, inputs, bar)
                    view.run_done(o, runs.score_name)
                    outcomes.append(o)
            per_member.setdefault(member, {})[label] = combine_predictions(
                ws, member, req.split, label, outcomes
            )
    bundle = evaluation.load_bundle(store, ws, req.dataset) if members == [req.dataset] else None
    return TrainReport(per_member, bundle, list(req.seeds))


@dataclass
class _SeedJob:
    """One seed of one member and ablation, runnable here or in a worker process (plain,
    picklable fields: the worker opens its own store and reads the model's inputs itself)."""

    model: str
    settings: Any
    dataset: str
    member: str
    split: str
    base: Any
    ablation: str | None
    device: str
    write_back: bool
    label: str
    options: dict[str, Any]

    def run(
        self, seed: int, store: Store, inputs: Any, progress: EpochCallback | None
    ) -> RunOutcome:
        ws = Workspace(self.settings)
        runs = registry.get(self.model).load()
        split = member_splits(store, ws, self.dataset, self.split, seed)[self.member]
        return train_seed(
            runs, store, ws, self.member, self.split, seed, self.base, ablation=self.ablation,
            device=self.device, write_back=self.write_back, inputs=inputs, split=split,
            progress=progress, label=self.label, model=self.model,
        )  # fmt: skip

    def __call__(self, seed: int, threads: int) -> RunOutcome:
        """In a worker process: its own store, the model's inputs, ``threads`` torch threads."""
        import torch

        torch.set_num_threads(threads)
        with Store.connect(self.settings) as store:
            runs = registry.get(self.model).load()
            inputs = runs.inputs(store, Workspace(self.settings), self.member, self.options)
            return self.run(seed, store, inputs, None)


def _parallel_seeds(
    job: _SeedJob, seeds: list[int], jobs: int, view: TrainView, score_name: str
) -> list[RunOutcome]:
    """The seeds in ``jobs`` worker processes (spawned; the CPU threads split between them),
    each run recorded and written back by its own worker; outcomes in seed order. A seed that
    fails fails the command after the others have finished, naming the seed."""
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    threads = max(1, (os.cpu_count() or 1) // jobs)
    done: dict[int, RunOutcome] = {}
    errors: list[str] = []
    with (
        view.counter(f"{len(seeds)} seeds, {jobs} at a time") as advance,
        ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool,
    ):
        futures = {pool.submit(job, seed, threads): seed for seed in seeds}
        for fut in as_completed(futures):
            seed = futures[fut]
            try:
                done[seed] = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported with its seed below
                errors.append(f"seed {seed}: {cut(str(exc) or type(exc).__name__, 160)}")
            advance(1)
    for seed in seeds:
        if seed in done:
            view.run_done(done[seed], score_name)
    if errors:
        raise GrapeError(f"{len(errors)} seed(s) failed: " + "; ".join(errors))
    return [done[s] for s in seeds]


def train_seed(
    runs: ModelRuns,
    store: Store,
    ws: Workspace,
    dataset: str,
    split_name: str,
    seed: int,
    base: Any,
    *,
    ablation: str | None = None,
    device: str = "cpu",
    write_back: bool = True,
    inputs: Any = None,
    split: Split | None = None,
    progress: EpochCallback | None = None,
    label: str,
    model: str,
) -> RunOutcome:
    """Train one seed on exactly ``split.train`` (the model selects its epoch on
    ``split.val``; on the training loss when a user's split has none), save its test
    predictions, write its learned edges back (all or nothing). Conditions whose targets
    nothing can place are left out of all three lists. The run is recorded in ``run.json``
    from its start: a failure at any stage leaves it ``failed`` with the reason, and is
    raised on. In a data-parallel run rank 0 alone predicts and writes."""
    b = bundle_mod.load(bundle_path(store, ws.settings, dataset))
    inputs = inputs if inputs is not None else runs.inputs(store, ws, dataset, {})
    cfg = runs.seed_config(base, inputs, ablation, seed)
    split = split or resolve_split(split_name, b.summary.conditions, seed)
    used = replace(
        split,
        train=inputs.usable(split.train),
        val=inputs.usable(split.val),
        test=inputs.usable(split.test),
    )
    prepared, graph_info = runs.seed_inputs(inputs, b, used, cfg)
    run_id, cfg_hash = run_identity(dataset, split_name, label, seed, cfg)
    run_dir = ws.run_dir(run_id)
    info = {
        "run_id": run_id,
        "model": model,
        "dataset": dataset,
        "split": split_name,
        "split_id": split_tag(split_name),
        "validation": validation_note(used),
        "seed": seed,
        "label": label,
        "snapshot_id": inputs.snapshot_id,
        "synthetic": b.synthetic,
        "graph": graph_info,
    }
    test = [c for c in used.test if c != CONTROL]
    written: dict[str, int] = {}
    with rank0_recorded(run_dir, info) as rec:
        res = runs.fit(prepared, b, used, cfg, run_dir, device=device, progress=progress)
        if ddp.is_rank0():
            rec["stage"] = "predictions"
            preds = runs.predict(run_dir, test, device)
            save_predictions(run_dir, seed, preds, b.summary.gene_ids)
            edges = None
            if write_back:
                rec["stage"] = "write-back"
                edges = runs.learned_edges(run_dir, inputs, b, cfg)
            if edges is not None:
                wb = writeback.RunInfo(
                    id=run_id, model=label, config_hash=cfg_hash, dataset=dataset,
                    split=split_name, seed=seed, snapshot_id=inputs.snapshot_id,
                    metrics=res.metrics, config=asdict(cfg),
                )  # fmt: skip
                written = write_back_run(store, wb, edges, run_dir)
            rec["written_back"] = edges is not None
    return RunOutcome(
        run_id, run_dir, seed, res.best_epoch, res.best_val, len(test), inputs.snapshot_id,
        written, dataset,
    )  # fmt: skip


# ---------------------------------------------------------------------------- shared parts
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


def ensure_priors(store: Store, advance: Callable[[int], None] | None = None) -> list[str]:
    """The default prior edges (:func:`grapekg.kg.export.priors.ensure_default_priors`),
    built by rank 0 alone in a data-parallel run; returns the kinds built now."""
    if ddp.init_from_env() and not ddp.is_rank0():
        ddp.barrier()
        return []
    built = priors.ensure_default_priors(store, advance)
    ddp.barrier()
    return built


def resolve_device(name: str) -> str:
    """``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda`` (checked)."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    return name


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
    cfg_hash = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:12]  # type: ignore[call-overload]
    return f"{dataset}-{split_tag(split_name)}-{label}-s{seed}-{cfg_hash[:8]}", cfg_hash


def save_predictions(
    run_dir: Path, seed: int, pred: dict[str, np.ndarray], gene_ids: Sequence[str]
) -> None:
    """A run's test predictions as ``predictions.parquet`` (seed, condition, gene, value)."""
    rows = [
        (seed, c, gid, float(v))
        for c, vec in pred.items()
        for gid, v in zip(gene_ids, vec, strict=True)
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


def training_regulators(inputs: Any, bundle: Any) -> list[str]:
    """Every gene perturbed in a usable condition of the dataset (sorted)."""
    conds = inputs.usable(list(bundle.summary.conditions))
    return sorted({g for c in conds for g in parse_condition(c)})
