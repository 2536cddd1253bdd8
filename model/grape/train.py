"""Training and prediction for GRAPE (paper section 4.5, Eq. 18).

ℒ = ℒ_recon (Eq. 17) + w_reg ℒ_reg (Eq. 10); ℒ_align (Eq. 1) is optimised alone first, for
``align_epochs`` passes over the genes (the paper's pre-training phase).

**Condition-level training** (default, ``mode='condition'``): a step takes ``batch_size``
training conditions and regresses the predicted profile on each condition's *mean*
expression (MSE over cells = MSE to the mean + a constant, see
:mod:`~grapekg.model.grape.head`), so one forward per condition instead of one per cell.
With ``incremental`` the HGAT runs once unperturbed per step and only each condition's
L-hop neighbourhood is recomputed (:mod:`~grapekg.model.grape.incremental`).
**Per-cell mode** (``mode='cell'``) is the authors' scheme (one graph forward per cell
against its own expression) and is kept only as the benchmark baseline.

AdamW (lr 1e-3, as the paper), gradient-norm clipping, bf16 autocast on CUDA, seeded
(``torch``, ``numpy``, data order; deterministic kernels, see
:func:`~grapekg.model.training.seed_everything`), early stopping on the validation MSE (Eq. 14
against the validation condition means; or, with ``select_on``, on the validation conditions'
top-20 DE genes: :func:`~grapekg.model.training.validation_score`). A run directory holds
``config.json`` (GrapeConfig), ``model.pt`` (best ``state_dict``), ``graph.pt`` (the
GeneGraph as plain tensors / lists), ``meta.json`` (output genes, conditions, history) and
``ctrl.npy``; ``last.pt`` holds the optimiser and RNG state for ``resume``. Progress is
reported through a callback (:data:`EpochCallback`).

**Extensions** (:mod:`~grapekg.model.grape.extension`) join a run at three points, the same
for all: ``before_fit`` before the first epoch, ``after_fit`` on the best epoch's weights after
the last (what they return goes into ``meta.json``), then ``save`` into the run folder;
:func:`load_model` calls their ``load``. The loop itself names none of them.

Inputs are the model layer's own types (:mod:`grapekg.model.training`): canonical condition
strings, :class:`~grapekg.model.training.Profiles` and
:class:`~grapekg.model.training.ConditionLists`; with ``select_on`` other than ``mse`` the
caller passes each condition's DE ranking (``de_rank``).

**Data-parallel** (launched by ``torchrun``, :mod:`grapekg.model.distributed`): every rank
builds the same model (same seed), each epoch's training conditions are sharded by a seeded
``DistributedSampler`` and a step's ``batch_size`` is split over the ranks, so one step is the
single-process step on the union of the ranks' batches (DDP averages the gradients; the loss
is a mean over rows). Rank 0 validates, broadcasts its score (one stopping rule) and alone
writes the run folder; the candidate edges (Eq. 3) are taken from rank 0 every epoch. Per-cell
mode stays single-process. With one process the loop is exactly the single-process one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from grapekg.model import distributed as ddp
from grapekg.model.grape.config import GrapeConfig
from grapekg.model.grape.extension import FitData
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.head import recon_loss
from grapekg.model.grape.model import GrapeModel
from grapekg.model.training import (
    CONTROL,
    ConditionLists,
    DeRanking,
    Profiles,
    condition_genes,
    seed_everything,
    top_de_excluding,
    validation_score,
)

__all__ = [
    "EpochCallback",
    "TrainResult",
    "align_pretrain",
    "build_model",
    "cell_epoch",
    "condition_epoch",
    "load_graph",
    "load_model",
    "parallel_epoch",
    "perturbed_indices",
    "predict",
    "predict_with",
    "seed_everything",
    "train_grape",
    "validation_score",
]

log = logging.getLogger(__name__)

#: ``progress(done, total, val_mse)`` after every epoch: epochs done so far (a resumed run
#: starts past 0), ``config.epochs`` and this epoch's validation MSE.
EpochCallback = Callable[[int, int, float], None]


@dataclass
class TrainResult:
    """Where a run was written, its per-epoch history, the best epoch (by
    ``GrapeConfig.select_on``) and the validation MSE at that epoch."""

    run_dir: Path
    history: list[dict[str, float]]
    best_epoch: int
    best_val: float


def _autocast(device: torch.device, enabled: bool = True) -> AbstractContextManager[object]:
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def perturbed_indices(graph: GeneGraph, conditions: Iterable[str]) -> list[list[int]]:
    """Global graph indices of each canonical condition's perturbed genes (KeyError names a
    missing gene: every perturbed gene must be a node of the graph)."""
    return [graph.indices(list(condition_genes(c))) for c in conditions]


def _output_index(graph: GeneGraph, gene_ids: Sequence[str]) -> Tensor:
    return torch.tensor(graph.indices([str(g) for g in gene_ids]), dtype=torch.long)


def build_model(
    graph: GeneGraph, config: GrapeConfig, gene_ids: Sequence[str], ctrl: np.ndarray
) -> tuple[GrapeModel, GrapeConfig]:
    """A fresh model for ``graph`` predicting ``gene_ids``; fills the input widths."""
    config = replace(
        config,
        text_dim=config.text_dim or (0 if graph.text is None else graph.text.shape[1]),
        dna_dim=config.dna_dim or (0 if graph.dna is None else graph.dna.shape[1]),
    )
    model = GrapeModel(
        config,
        graph,
        _output_index(graph, gene_ids),
        torch.as_tensor(np.asarray(ctrl), dtype=torch.float32),
    )
    return model, config


def align_pretrain(
    model: GrapeModel, epochs: int, lr: float = 1e-3, batch_genes: int = 2048, seed: int = 0
) -> list[float]:
    """Eq. 1 pre-training of the projection heads on mini-batches of genes."""
    if epochs <= 0 or model.encoder.text_head is None or model.encoder.dna_head is None:
        return []
    opt = torch.optim.AdamW(model.encoder.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    keep = (
        torch.arange(model.num_genes)
        if model.dna_mask is None
        else torch.nonzero(model.dna_mask.cpu()).flatten()
    )
    losses = []
    for _ in range(epochs):
        order = keep[torch.randperm(keep.shape[0], generator=gen)]
        for lo in range(0, order.shape[0], batch_genes):
            idx = order[lo : lo + batch_genes].to(model.ctrl.device)
            if idx.shape[0] < 2:
                continue
            z = model.encoder(model.text[idx], model.dna[idx], None)
            loss = model.encoder.align_loss(z, None, model.config.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    return losses


def _step(
    model: GrapeModel,
    opt: torch.optim.Optimizer,
    perturbed: list[list[int]],
    targets: Tensor,
    device: torch.device,
    net: torch.nn.Module | None = None,
) -> dict[str, float]:
    c = model.config
    with _autocast(device):
        pred, reg = (model if net is None else net)(perturbed)
    loss, parts = recon_loss(pred.float(), targets, model.ctrl, c.huber_delta, c.dir_weight)
    loss = loss + c.reg_weight * reg.float()
    opt.zero_grad()
    loss.backward()
    if c.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
    opt.step()
    return {"loss": float(loss.detach()), "reg": float(reg.detach()), **parts}


def condition_epoch(
    model: GrapeModel,
    opt: torch.optim.Optimizer,
    perturbed: list[list[int]],
    targets: Tensor,
    generator: torch.Generator,
    device: torch.device,
) -> dict[str, float]:
    """One pass over the training conditions in shuffled batches of ``batch_size``;
    ``targets[i]`` is condition i's mean profile. Returns condition-weighted means."""
    model.train()
    bs = model.config.batch_size
    order = torch.randperm(len(perturbed), generator=generator).tolist()
    sums: dict[str, float] = {}
    for lo in range(0, len(order), bs):
        idx = order[lo : lo + bs]
        out = _step(model, opt, [perturbed[i] for i in idx], targets[idx].to(device), device)
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + v * len(idx)
    return {k: v / max(len(order), 1) for k, v in sums.items()}


def parallel_epoch(
    model: GrapeModel,
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    perturbed: list[list[int]],
    targets: Tensor,
    epoch: int,
    device: torch.device,
) -> dict[str, float]:
    """One data-parallel pass: this rank's shard of the training conditions
    (:func:`~grapekg.model.distributed.shard`, seeded with ``config.seed``) in steps of
    ``batch_size / world`` conditions through ``net`` (the DDP wrapper of ``model``: the
    gradients are averaged over the ranks in ``backward``). Returns the condition-weighted
    means over every rank's conditions (the same numbers on every rank)."""
    net.train()
    mine = ddp.shard(len(perturbed), epoch, model.config.seed)
    bs = ddp.local_batch(model.config.batch_size)
    sums: dict[str, float] = {}
    for lo in range(0, len(mine), bs):
        idx = mine[lo : lo + bs]
        out = _step(model, opt, [perturbed[i] for i in idx], targets[idx].to(device), device, net)
        for k, v in out.items():
            sums[k] = sums.get(k, 0.0) + v * len(idx)
    total = ddp.sum_over_ranks(sums | {"conditions": float(len(mine))})
    n = max(total.pop("conditions"), 1.0)
    return {k: v / n for k, v in total.items()}


def cell_epoch(
    model: GrapeModel,
    opt: torch.optim.Optimizer,
    perturbed: list[list[int]],
    cells: Tensor,
    cell_condition: Tensor,
    generator: torch.Generator,
    device: torch.device,
) -> dict[str, float]:
    """Per-cell baseline: batches of ``cells_per_step`` cells, one full (non-incremental)
    graph forward per cell against the cell's own expression ``cells[j]`` (condition index
    ``cell_condition[j]``)."""
    model.train()
    bs = model.config.cells_per_step
    order = torch.randperm(cells.shape[0], generator=generator)
    sums: dict[str, float] = {}
    c = model.config
    for lo in range(0, order.shape[0], bs):
        idx = order[lo : lo + bs]
        pert = [perturbed[int(k)] for k in cell_condition[idx]]
        with _autocast(device):
            pred, reg = model(pert, incremental=False)
        loss, parts = recon_loss(
            pred.float(), cells[idx].to(device), model.ctrl, c.huber_delta, c.dir_weight
        )
        loss = loss + c.reg_weight * reg.float()
        opt.zero_grad()
        loss.backward()
        if c.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
        opt.step()
        for k, v in {"loss": float(loss.detach()), **parts}.items():
            sums[k] = sums.get(k, 0.0) + v * len(idx)
    return {k: v / max(int(order.shape[0]), 1) for k, v in sums.items()}


@torch.no_grad()
def predict_with(model: GrapeModel, perturbed: list[list[int]], batch_size: int = 64) -> np.ndarray:
    """Predicted mean profiles ``[C, G]`` (eval mode, incremental when configured)."""
    model.eval()
    device = model.ctrl.device
    outs = []
    for lo in range(0, len(perturbed), batch_size):
        with _autocast(device):
            pred, _ = model(perturbed[lo : lo + batch_size])
        outs.append(pred.float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, int(model.ctrl.shape[0])))


def _top_de(
    profiles: Profiles, conditions: Sequence[str], de_rank: DeRanking, k: int = 20
) -> list[np.ndarray]:
    """Top-k DE genes of each condition (its ranking in ``de_rank``), its own perturbed
    genes (matched by gene id or name) left out."""
    ids = {str(g): i for i, g in enumerate(profiles.gene_ids)}
    names = {str(g): i for i, g in enumerate(profiles.gene_names)}
    n = len(profiles.gene_ids)
    out = []
    for c in conditions:
        drop = {ids.get(g, names.get(g, -1)) for g in condition_genes(c)}
        out.append(top_de_excluding(de_rank[c], drop, n, k))
    return out


def _save_run(
    run_dir: Path,
    model: GrapeModel,
    config: GrapeConfig,
    graph: GeneGraph,
    summary: Profiles,
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    config.to_json(run_dir / "config.json")
    torch.save(graph.to_dict(), run_dir / "graph.pt")
    np.save(run_dir / "ctrl.npy", summary.ctrl_mean.astype(np.float32))


def _plain_history(history: list[dict[str, float]]) -> list[dict[str, float]]:
    """The epoch history as plain Python numbers (``epoch`` an int, the rest floats), so
    ``last.pt`` holds only tensors and plain types and loads with ``weights_only=True``."""
    return [{k: int(v) if k == "epoch" else float(v) for k, v in h.items()} for h in history]


def _load_last(last: Path) -> dict:
    """The resume state of ``last.pt``, read with ``torch.load(weights_only=True)``: tensors
    and plain types only, never arbitrary pickled objects from a run folder."""
    import pickle

    try:
        return torch.load(last, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise ValueError(
            f"{last}: cannot resume from this file ({reason}); delete it to train from the start"
        ) from None


def train_grape(
    graph: GeneGraph,
    summary: Profiles,
    split: ConditionLists,
    config: GrapeConfig,
    out_dir: str | PathLike[str],
    *,
    cells: object | None = None,
    device: str | torch.device = "cpu",
    resume: bool = False,
    progress: EpochCallback | None = None,
    de_rank: DeRanking | None = None,
) -> TrainResult:
    """Train GRAPE on the split's training conditions; early-stop on its validation ones.

    Args:
        graph: genes, features, prior edges (every expression gene and perturbed gene must
            be a node).
        summary: condition means (targets) and the control mean.
        split: train / val condition lists (canonical strings; ``ctrl`` may be in train).
        config: hyper-parameters; ``mode='cell'`` needs ``cells``.
        out_dir: run directory (created).
        cells: AnnData with ``obs['condition']`` (canonical condition strings) for the
            per-cell baseline mode.
        resume: continue from ``out_dir/last.pt`` if present.
        progress: called after every epoch (:data:`EpochCallback`), e.g. to draw a bar.
        de_rank: each validation condition's DE ranking (gene columns, most changed first;
            the GEARS ranking), needed when ``config.select_on`` scores the top-20 DE genes.
    """
    val_conds = [c for c in split.val if c in summary.conditions]
    if config.select_on != "mse" and val_conds and de_rank is None:
        raise ValueError(
            f"select_on={config.select_on} needs de_rank (the validation conditions' DE rankings)"
        )
    dev = torch.device(device)
    run_dir = Path(out_dir)
    parallel = ddp.init_from_env()
    if parallel:
        dev = ddp.device_for(dev)
        if config.mode == "cell":
            raise ValueError("mode='cell' (the per-cell baseline) trains in one process only")
    writer = ddp.is_rank0()
    seed_everything(config.seed)
    model, config = build_model(graph, config, summary.gene_ids, summary.ctrl_mean)
    model.to(dev)
    train_conds = [c for c in split.train if c in summary.conditions]
    pert_train = perturbed_indices(graph, train_conds)
    pert_val = perturbed_indices(graph, val_conds)
    targets = torch.as_tensor(
        np.stack([summary.mean[summary.index(c)] for c in train_conds]), dtype=torch.float32
    )
    val_means = np.stack([summary.mean[summary.index(c)] for c in val_conds]) if val_conds else None
    val_de = (
        _top_de(summary, val_conds, de_rank)
        if val_conds and config.select_on != "mse" and de_rank is not None
        else None
    )
    ctrl_np = np.asarray(summary.ctrl_mean, dtype=np.float64)
    n_epochs, patience, min_epochs = config.epochs, config.patience, 0
    if config.min_steps > 0 and config.mode == "condition":
        steps = max(1, -(-len(train_conds) // config.batch_size))
        min_epochs = -(-config.min_steps // steps)
        n_epochs = max(config.epochs, min_epochs)
        patience = max(config.patience, -(-config.patience * n_epochs // config.epochs))
    cell_x = cell_cond = None
    if config.mode == "cell":
        if cells is None:
            raise ValueError("mode='cell' needs the AnnData of cells (cells=...)")
        cell_x, cell_cond = _cell_tensors(cells, train_conds, summary.gene_ids)
    if writer:
        _save_run(run_dir, model, config, graph, summary)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator().manual_seed(config.seed)
    history: list[dict[str, float]] = []
    start, best_val, best_epoch, stale = 0, float("inf"), -1, 0
    last = run_dir / "last.pt"
    resumed = resume and last.exists()
    if resumed:
        state = _load_last(last)
        model.candidates = state["model"]["candidates"]
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        start, best_val, best_epoch, stale = (
            state["epoch"] + 1,
            state["best_val"],
            state["best_epoch"],
            state["stale"],
        )
        history = state["history"]
    else:
        rows = [i for i, c in enumerate(train_conds) if c != CONTROL]
        if config.init_mean_delta and rows:  # the mean baseline's profile (ctrl left out)
            model.head.init_from_mean_delta(targets[rows].mean(0).to(dev) - model.ctrl)
        align = align_pretrain(model, config.align_epochs, config.lr, seed=config.seed)
        if align:
            log.info("alignment pre-training: loss %.4f -> %.4f", align[0], align[-1])
    fit = FitData(
        graph, summary, train_conds, pert_train, targets, run_dir, writer, bool(resumed),
        lambda perturbed: predict_with(model, perturbed),
    )  # fmt: skip
    for ext in model.extensions:
        ext.before_fit(model, fit)
    net = ddp.wrap(model, dev) if parallel else model
    with ddp.peer_errors():
        history, best_epoch, best_val = _epochs(
            model, net, opt, gen, run_dir, (start, n_epochs, min_epochs, patience),
            (best_val, best_epoch, stale), history, progress,
            pert_train, targets, cell_x, cell_cond, pert_val, val_means, val_de, ctrl_np, dev,
        )  # fmt: skip
    at_best = [h for h in history if h["epoch"] == best_epoch]
    best_mse = float(at_best[0]["val_mse"]) if at_best else best_val
    if not writer:  # rank 0 finishes the run folder; the run is done when it has
        ddp.barrier()
        return TrainResult(run_dir, history, best_epoch, best_mse)
    meta: dict[str, object] = {
        "gene_ids": [str(g) for g in summary.gene_ids],
        "gene_names": [str(g) for g in summary.gene_names],
        "train": train_conds,
        "val": val_conds,
        "best_epoch": best_epoch,
        "best_val_mse": best_mse,
        "best_val_score": best_val,
        "select_on": config.select_on,
        "epochs_run": len(history),
        "history": history,
    }
    if model.extensions:  # their after-fit hooks read the best epoch's weights
        _load_best(model, run_dir)
    for ext in model.extensions:
        meta |= ext.after_fit(model, fit) or {}
        ext.save(run_dir)
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    ddp.barrier()
    return TrainResult(run_dir, history, best_epoch, best_mse)


def _epochs(
    model: GrapeModel,
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    run_dir: Path,
    span: tuple[int, int, int, int],
    best: tuple[float, int, int],
    history: list[dict[str, float]],
    progress: EpochCallback | None,
    pert_train: list[list[int]],
    targets: Tensor,
    cell_x: Tensor | None,
    cell_cond: Tensor | None,
    pert_val: list[list[int]],
    val_means: np.ndarray | None,
    val_de: list[np.ndarray] | None,
    ctrl_np: np.ndarray,
    dev: torch.device,
) -> tuple[list[dict[str, float]], int, float]:
    """The epochs of :func:`train_grape` from ``span`` = (start, epochs, min epochs,
    patience): train, validate, keep the best weights and ``last.pt`` (rank 0 writes);
    returns (history, best epoch, best validation score)."""
    config = model.config
    parallel = net is not model
    writer = ddp.is_rank0()
    start, n_epochs, min_epochs, patience = span
    best_val, best_epoch, stale = best
    last = run_dir / "last.pt"
    for epoch in range(start, n_epochs):
        model.eval()
        model.refresh_candidates()
        if parallel:
            model.candidates = ddp.tensor_from_rank0(model.candidates)
            torch.manual_seed((config.seed * 1_000_003 + epoch) * 1009 + ddp.rank())  # dropout
            stats = parallel_epoch(model, net, opt, pert_train, targets, epoch, dev)
        elif config.mode == "cell":
            stats = cell_epoch(model, opt, pert_train, cell_x, cell_cond, gen, dev)  # type: ignore[arg-type]
        else:
            stats = condition_epoch(model, opt, pert_train, targets, gen, dev)
        if val_means is not None:
            val = val_mse = float("nan")
            if writer:
                pred = predict_with(model, pert_val)
                val_mse = float(np.mean((pred - val_means) ** 2))
                val = validation_score(pred, val_means, ctrl_np, val_de, config.select_on)
            if parallel:
                val, val_mse = ddp.from_rank0([val, val_mse])
        else:
            val = val_mse = stats["mse"]
        stats |= {
            "epoch": epoch,
            "val_mse": val_mse,
            "val_score": val,
            "edges": float(model.candidates.shape[1]),
        }
        history.append(stats)
        if val < best_val:
            best_val, best_epoch, stale = val, epoch, 0
            if writer:
                torch.save(model.state_dict(), run_dir / "model.pt")
        else:
            stale += 1
        if writer:
            _save_last(last, model, opt, gen, epoch, best_val, best_epoch, stale, history)
        if progress is not None:
            progress(epoch + 1, n_epochs, val)
        if stale >= patience and epoch + 1 >= min_epochs:
            break
    return history, best_epoch, best_val


def _save_last(
    last: Path,
    model: GrapeModel,
    opt: torch.optim.Optimizer,
    gen: torch.Generator,
    epoch: int,
    best_val: float,
    best_epoch: int,
    stale: int,
    history: list[dict[str, float]],
) -> None:
    """The resume state after ``epoch`` (:func:`_load_last` reads it)."""
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": int(epoch),
            "best_val": float(best_val),
            "best_epoch": int(best_epoch),
            "stale": int(stale),
            "history": _plain_history(history),
        },
        last,
    )


def _load_best(model: GrapeModel, run_dir: Path) -> None:
    """Put the best epoch's weights (``model.pt``) back on ``model``, if they were saved."""
    best = run_dir / "model.pt"
    if best.exists():
        state = torch.load(best, weights_only=True, map_location=model.ctrl.device)
        model.candidates = state["candidates"]
        model.load_state_dict(state)


#: buffers of a GrapeModel that describe its graph, not learned weights
GRAPH_BUFFERS = ("is_coding", "out_index", "out_pos", "prior_edges", "candidates")


def carry_by_gene(values: Tensor, old_ids: Sequence[str], new_ids: Sequence[str]) -> Tensor:
    """Per-node ``values`` of a graph with nodes ``old_ids`` put on a graph with nodes
    ``new_ids`` (a superset, any order); genes that are new get 0."""
    pos = {str(g): i for i, g in enumerate(new_ids)}
    out = values.new_zeros(len(new_ids))
    out[torch.tensor([pos[str(g)] for g in old_ids], dtype=torch.long)] = values
    return out


def load_graph(run_dir: str | PathLike[str]) -> GeneGraph:
    """The graph a run was trained on."""
    return GeneGraph.from_dict(torch.load(Path(run_dir) / "graph.pt", weights_only=True))


def load_model(
    run_dir: str | PathLike[str],
    device: str | torch.device = "cpu",
    graph: GeneGraph | None = None,
) -> tuple[GrapeModel, GeneGraph]:
    """The best model of a run directory and its graph.

    With ``graph`` (a superset of the run's genes with the same edge types, e.g.
    :meth:`GeneGraph.extended`) the learned weights are put on that graph instead: every
    weight of GRAPE is shared over genes except the output head, which covers the run's
    measured genes (Eq. 12-13), and the GAT layers are inductive (Eq. 11), so new genes
    only add nodes (an extension's per-node weights, e.g. the prior-shock vote b, are carried
    over by gene id, 0 for a new gene, which then reads the vote of its trained neighbours).
    The candidate edges (Eq. 3, 7) are then chosen afresh on the new graph by the trained
    similarity heads. Each extension then reads what it fitted outside the weights."""
    run = Path(run_dir)
    config = GrapeConfig.from_json(run / "config.json")
    own = graph is None
    graph = load_graph(run) if graph is None else graph
    meta = json.loads((run / "meta.json").read_text())
    ctrl = np.load(run / "ctrl.npy")
    model, _ = build_model(graph, config, meta["gene_ids"], ctrl)
    state = torch.load(run / "model.pt", weights_only=True, map_location="cpu")
    if own:
        model.candidates = state["candidates"]
        model.load_state_dict(state)
    else:
        weights = {k: v for k, v in state.items() if k not in GRAPH_BUFFERS}
        for key in set(model.per_node_weight_keys()) & set(weights):
            old_ids = load_graph(run).gene_ids
            weights[key] = carry_by_gene(weights[key], old_ids, graph.gene_ids)
        missing, unexpected = model.load_state_dict(weights, strict=False)
        if unexpected or set(missing) - set(GRAPH_BUFFERS):
            raise ValueError(f"the run's weights do not fit the graph: {missing or unexpected}")
        model.eval()
        model.refresh_candidates()
    for ext in model.extensions:
        ext.load(run, graph)
    return model.to(torch.device(device)).eval(), graph


def predict(
    run_dir: str | PathLike[str], conditions: Sequence[str], device: str | torch.device = "cpu"
) -> dict[str, np.ndarray]:
    """Predicted mean profiles (gene order of the training summary) for any conditions
    whose genes are in the graph (singles, doubles, unseen genes); ``ctrl`` → base pass."""
    model, graph = load_model(run_dir, device)
    pred = predict_with(model, perturbed_indices(graph, conditions))
    return {c: pred[i] for i, c in enumerate(conditions)}


def _cell_tensors(
    adata: object, conditions: Sequence[str], gene_ids: Sequence[str]
) -> tuple[Tensor, Tensor]:
    """(cells ``[n, G]``, condition index ``[n]``) of the cells of ``conditions``; the
    labels of ``obs['condition']`` must be canonical condition strings (as the app writes
    them), they are matched as they are."""
    import scipy.sparse as sp

    obs = adata.obs  # type: ignore[attr-defined]
    labels = [str(c) for c in obs["condition"]]
    where = {c: i for i, c in enumerate(conditions)}
    rows = np.array([i for i, c in enumerate(labels) if c in where])
    cond = torch.tensor([where[labels[i]] for i in rows], dtype=torch.long)
    var = list(adata.var_names)  # type: ignore[attr-defined]
    pos = {g: i for i, g in enumerate(var)}
    cols = [pos[str(g)] for g in gene_ids]
    x = adata.X[rows][:, cols]  # type: ignore[attr-defined]
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    return torch.as_tensor(x, dtype=torch.float32), cond
