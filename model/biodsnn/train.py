"""Training, prediction and run folders of BioDSNN.

Condition level, as GRAPE here: a step takes ``batch_size`` training conditions and fits each
condition's mean profile (the dataset bundles hold condition summaries: means, variances,
cell counts). The VAE reads, per condition and step, a pseudo control cell drawn from the
control's summary, x = max(0, mu + noise * sigma * eps), so the generative stream sees the
control's spread as it would see control cells; in evaluation it reads mu itself and uses the
posterior mean, so predictions are deterministic condition means. Without the VAE (``no_vae``:
prediction = knowledge stream + x) x is mu in training too: a pseudo cell there would add the
control's cell-to-cell noise straight to a prediction whose target is a condition mean
(measured in docs/models.md, BioDSNN).

Optimiser as the authors (REFERENCES 2): Adam (lr 1e-3, weight decay 5e-4), StepLR (step 1,
gamma 0.5), gradient clipping by value (1.0). Model selection: the epoch with the lowest
validation ``mse_de`` (MSE on each validation condition's top-20 DE genes, GEARS / the paper's
metric), with early stopping after ``patience`` epochs without improvement; with
``select_on = "pcc_de20"`` the epoch with the highest validation Pearson delta on the top-20
DE genes, the perturbed genes left out (not in the paper). Both are recorded every epoch
(``val_mse_de``, ``val_pcc_de20``); ``FitResult.best_val`` is the validation mse_de of the
selected epoch whichever score selected it.

A run folder holds ``config.json`` (:class:`BiodsnnConfig`), ``model.pt`` (best state_dict),
``data.pt`` (:class:`BiodsnnData` as plain tensors / lists), ``ctrl.npy``, ``ctrl_sd.npy``
and ``meta.json`` (output genes, conditions, history). ``model.json`` = ``{"model": "biodsnn"}``
tells the app which model a run folder holds.

Data-parallel under ``torchrun`` (:mod:`grapekg.model.distributed`): every rank draws the same
seeded epoch order and takes every ``world``-th condition of it, in steps of ``batch_size /
world``, so a DDP step covers the single-process step's conditions (gradients averaged over the
ranks); each rank draws its own pseudo control cells. BatchNorm normalises each rank's local
batch (plain DDP: a SyncBatchNorm would wait forever on a rank whose batch has no perturbed
row), so the step equals the single-process one up to those batch statistics; the running
statistics used in evaluation are rank 0's. Rank 0 validates, broadcasts the scores
(one stopping rule) and alone writes the run folder. One process: the loop above, unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from grapekg.model import distributed as ddp
from grapekg.model.biodsnn.config import BiodsnnConfig
from grapekg.model.biodsnn.graphs import unmasked_pairs
from grapekg.model.biodsnn.loss import biodsnn_loss
from grapekg.model.biodsnn.model import BiodsnnModel
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
    "BiodsnnData",
    "FitResult",
    "attention_edges",
    "build_model",
    "fit",
    "is_biodsnn_run",
    "load_model",
    "predict",
    "predict_with",
]

EpochCallback = Callable[[int, int, float], None]


@dataclass
class BiodsnnData:
    """What a BioDSNN model is built on. ``node_ids``: the G output genes first (var order of
    the summary), then the other perturbable nodes; ``aliases``: names (symbols, ids) -> node
    index; graphs as edge lists over node (GO) or gene (co-expression, mask) indices."""

    node_ids: list[str]
    num_genes: int
    go_edge_index: Tensor
    go_weight: Tensor
    coexpr_edge_index: Tensor
    coexpr_weight: Tensor
    pathway_edge_index: Tensor
    aliases: dict[str, int] = field(default_factory=dict)
    symbols: list[str] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        gene_ids: Sequence[str],
        extra_ids: Sequence[str],
        go_edges: tuple[np.ndarray, np.ndarray, np.ndarray],
        coexpr_samples: np.ndarray,
        memberships: list[list[int]],
        config: BiodsnnConfig,
        *,
        symbols: Sequence[str] = (),
        aliases: Mapping[str, int] | None = None,
        info: Mapping[str, object] | None = None,
    ) -> BiodsnnData:
        """Graphs from arrays: ``go_edges`` (src, dst, weight) over node indices (genes, then
        ``extra_ids``), co-expression from ``coexpr_samples`` ``[n, G]`` (training samples
        only), pathway pairs from ``memberships`` (gene indices per lowest-level pathway)."""
        from grapekg.model.biodsnn.graphs import coexpression_graph, pathway_pairs

        g = len(gene_ids)
        nodes = [str(x) for x in gene_ids] + [str(x) for x in extra_ids]
        ce, cw = coexpression_graph(coexpr_samples, config.coexpr_top_k, config.coexpr_threshold)
        src, dst, w = (np.asarray(a) for a in go_edges)
        al = {n: i for i, n in enumerate(nodes)}
        al.update({str(s): i for i, s in enumerate(symbols) if s})
        al.update(dict(aliases or {}))
        return cls(
            nodes,
            g,
            torch.from_numpy(np.stack([src, dst]).astype(np.int64).reshape(2, -1)),
            torch.from_numpy(w.astype(np.float32).reshape(-1)),
            ce,
            cw,
            torch.from_numpy(pathway_pairs(memberships, g)),
            al,
            [str(s) for s in symbols],
            dict(info or {}),
        )

    def index(self, name: str) -> int:
        if name in self.aliases:
            return self.aliases[name]
        raise KeyError(name)

    def perturbed(self, conditions: Sequence[str]) -> list[list[int]]:
        """Node indices of each condition's perturbed genes (KeyError names a missing one)."""
        return [[self.index(g) for g in condition_genes(c)] for c in conditions]

    def mask(self, config: BiodsnnConfig) -> Tensor:
        """The attention pairs: the Reactome/co-expression mask, or the no_mask pairs."""
        if config.no_mask:
            return unmasked_pairs(self.num_genes, config.dense_limit, config.nomask_k, config.seed)
        from grapekg.model.biodsnn.graphs import attention_mask

        return attention_mask(
            self.pathway_edge_index.numpy(), self.coexpr_edge_index, self.num_genes
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "node_ids": list(self.node_ids),
            "num_genes": self.num_genes,
            "go_edge_index": self.go_edge_index,
            "go_weight": self.go_weight,
            "coexpr_edge_index": self.coexpr_edge_index,
            "coexpr_weight": self.coexpr_weight,
            "pathway_edge_index": self.pathway_edge_index,
            "aliases": dict(self.aliases),
            "symbols": list(self.symbols),
            "info": json.dumps(self.info),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> BiodsnnData:
        return cls(
            list(d["node_ids"]),  # type: ignore[call-overload]
            int(d["num_genes"]),  # type: ignore[call-overload]
            d["go_edge_index"],  # type: ignore[arg-type]
            d["go_weight"],  # type: ignore[arg-type]
            d["coexpr_edge_index"],  # type: ignore[arg-type]
            d["coexpr_weight"],  # type: ignore[arg-type]
            d["pathway_edge_index"],  # type: ignore[arg-type]
            dict(d["aliases"]),  # type: ignore[call-overload]
            list(d["symbols"]),  # type: ignore[call-overload]
            json.loads(str(d["info"])),
        )


@dataclass
class FitResult:
    run_dir: Path
    history: list[dict[str, float]]
    best_epoch: int
    best_val: float


def build_model(data: BiodsnnData, config: BiodsnnConfig, ctrl: np.ndarray) -> BiodsnnModel:
    return BiodsnnModel(
        config,
        data.num_genes,
        len(data.node_ids),
        data.go_edge_index,
        data.go_weight,
        data.coexpr_edge_index,
        data.coexpr_weight,
        data.mask(config),
        torch.as_tensor(np.asarray(ctrl), dtype=torch.float32),
    )


def _keep(means: np.ndarray, conditions: Sequence[str]) -> Tensor:
    """GEARS' retained genes: non-zero mean in the condition, every gene for the control."""
    keep = (means != 0).astype(np.float32)
    for i, c in enumerate(conditions):
        if c == CONTROL:
            keep[i] = 1.0
    return torch.from_numpy(keep)


@torch.no_grad()
def predict_with(model: BiodsnnModel, perts: list[list[int]], batch_size: int = 32) -> np.ndarray:
    """Predicted mean profiles ``[C, G]`` (eval: VAE posterior mean on the control mean)."""
    model.eval()
    ctrl = model.get_buffer("ctrl")
    outs = []
    for lo in range(0, len(perts), batch_size):
        chunk = perts[lo : lo + batch_size]
        pred, _ = model(chunk, ctrl.expand(len(chunk), -1))
        outs.append(pred.float().cpu().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, model.num_genes), np.float32)


def _mse_de(pred: np.ndarray, truth: np.ndarray, de: Sequence[np.ndarray | None]) -> float:
    vals = []
    for p, t, idx in zip(pred, truth, de, strict=True):
        sel = slice(None) if idx is None or len(idx) == 0 else np.asarray(idx)[:20]
        vals.append(float(np.mean((p[sel] - t[sel]) ** 2)))
    return float(np.mean(vals)) if vals else float("nan")


def _de20_excluding_perturbed(
    de: Sequence[np.ndarray | None], perts: Sequence[Sequence[int]], num_genes: int
) -> list[np.ndarray]:
    """Each condition's first 20 DE genes with its perturbed genes (node indices below
    ``num_genes``) left out; all other genes when a condition has no ranking."""
    return [
        top_de_excluding(idx, {int(i) for i in p if i < num_genes}, num_genes)
        for idx, p in zip(de, perts, strict=True)
    ]


def _pcc_de20(
    pred: np.ndarray, truth: np.ndarray, ctrl: np.ndarray, de20: list[np.ndarray]
) -> float:
    """Mean over conditions of Pearson(pred - ctrl, truth - ctrl) on ``de20`` (0 where either
    delta is constant there), the metric ``pcc_delta_de20_excl_pert``."""
    return -validation_score(pred, truth, ctrl, de20, "pcc_de20")


def _epoch_order(n: int, batch: int, steps: int, gen: torch.Generator) -> list[int]:
    """Training-condition indices of one epoch: one shuffled pass (``steps`` = 0), or shuffled
    passes joined until ``steps`` batches are full (the authors' epoch is a pass over cells,
    ~n_cells / batch steps; a pass over condition means is n / batch steps, a few dozen
    conditions give ~3, too few for a learning rate halved every epoch)."""
    order = torch.randperm(n, generator=gen).tolist()
    while steps > 0 and len(order) < steps * batch:
        order += torch.randperm(n, generator=gen).tolist()
    return order[: steps * batch] if steps > 0 else order


def fit(
    data: BiodsnnData,
    summary: Profiles,
    split: ConditionLists,
    config: BiodsnnConfig,
    out_dir: str | PathLike[str],
    *,
    de_rank: DeRanking | None = None,
    device: str | torch.device = "cpu",
    progress: EpochCallback | None = None,
) -> FitResult:
    """Train on ``split.train`` (``ctrl`` included when listed, as GEARS), select the epoch on
    ``split.val`` by ``config.select_on`` (mse_de or pcc_de20; DE ranking ``de_rank``:
    condition -> gene indices; all genes when a condition has none), save the run folder."""
    dev = torch.device(device)
    run_dir = Path(out_dir)
    parallel = ddp.init_from_env()
    dev = ddp.device_for(dev)
    writer = ddp.is_rank0()
    if writer:
        run_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    ctrl = summary.ctrl_mean.astype(np.float32)
    ctrl_sd = np.sqrt(np.maximum(summary.var[summary.index(CONTROL)], 0)).astype(np.float32)
    model = build_model(data, config, ctrl)
    model.register_buffer("ctrl", torch.from_numpy(ctrl))
    model.to(dev)
    train = [c for c in split.train if c in summary.conditions]
    val = [c for c in split.val if c in summary.conditions and c != CONTROL]
    pert_train, pert_val = data.perturbed(train), data.perturbed(val)
    y_train = np.stack([summary.mean[summary.index(c)] for c in train]).astype(np.float32)
    keep = _keep(y_train, train).to(dev)
    targets = torch.from_numpy(y_train).to(dev)
    y_val = np.stack([summary.mean[summary.index(c)] for c in val]) if val else None
    de_val = [None if de_rank is None else de_rank.get(c) for c in val]
    de20_val = _de20_excluding_perturbed(de_val, pert_val, data.num_genes)
    mu = torch.from_numpy(ctrl).to(dev)
    sd = torch.from_numpy(ctrl_sd).to(dev)
    rows = [i for i, c in enumerate(train) if c != CONTROL]
    if config.init_mean_delta and rows:
        model.init_output(targets[rows].mean(0) - mu)
    if writer:
        config.to_json(run_dir / "config.json")
        (run_dir / "model.json").write_text(json.dumps({"model": "biodsnn"}))
        torch.save(data.to_dict(), run_dir / "data.pt")
        np.save(run_dir / "ctrl.npy", ctrl)
        np.save(run_dir / "ctrl_sd.npy", ctrl_sd)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=config.step_gamma)
    gen = torch.Generator().manual_seed(config.seed)
    noise_seed = config.seed + 1 + (7919 * ddp.rank() if parallel else 0)  # own cells per rank
    noise_gen = torch.Generator(device=dev).manual_seed(noise_seed)
    net = ddp.wrap(model, dev) if parallel else model
    bs = ddp.local_batch(config.batch_size) if parallel else config.batch_size
    with ddp.peer_errors():
        history, best_val, best_epoch, best_score = _epochs(
            model, net, opt, sched, gen, noise_gen, bs, run_dir, config, progress,
            train, pert_train, targets, keep, mu, sd, pert_val, y_val, de_val, de20_val, ctrl,
        )  # fmt: skip
    if not writer:  # rank 0 finishes the run folder; the run is done when it has
        ddp.barrier()
        return FitResult(run_dir, history, best_epoch, best_val)
    if best_epoch < 0:  # every validation score was NaN: keep the last epoch
        torch.save(model.state_dict(), run_dir / "model.pt")
    meta = {
        "gene_ids": [str(g) for g in summary.gene_ids],
        "gene_names": [str(g) for g in summary.gene_names],
        "train": train,
        "val": val,
        "best_epoch": best_epoch,
        "best_val_mse_de": best_val,
        "select_on": config.select_on,
        "best_val_score": best_score,
        "history": history,
    }
    (run_dir / "meta.json").write_text(json.dumps(meta, indent=1))
    ddp.barrier()
    return FitResult(run_dir, history, best_epoch, best_val)


def _epochs(
    model: BiodsnnModel,
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    gen: torch.Generator,
    noise_gen: torch.Generator,
    bs: int,
    run_dir: Path,
    config: BiodsnnConfig,
    progress: EpochCallback | None,
    train: list[str],
    pert_train: list[list[int]],
    targets: Tensor,
    keep: Tensor,
    mu: Tensor,
    sd: Tensor,
    pert_val: list[list[int]],
    y_val: np.ndarray | None,
    de_val: list[np.ndarray | None],
    de20_val: list[np.ndarray],
    ctrl: np.ndarray,
) -> tuple[list[dict[str, float]], float, int, float]:
    """The epochs of :func:`fit` (``bs`` conditions per step and rank; ``net`` is ``model``
    or its DDP wrapper); returns (history, best val mse_de, best epoch, best score)."""
    parallel = net is not model
    writer = ddp.is_rank0()
    dev = mu.device
    val = pert_val
    history: list[dict[str, float]] = []
    best_score, best_val, best_epoch, stale = float("inf"), float("inf"), -1, 0
    for epoch in range(config.epochs):
        net.train()
        order = _epoch_order(len(train), config.batch_size, config.steps_per_epoch, gen)
        if parallel:
            order = ddp.shard_of(order)
        sums: dict[str, float] = {}
        for lo in range(0, len(order), bs):
            idx = order[lo : lo + bs]
            eps = torch.randn(len(idx), mu.shape[0], generator=noise_gen, device=dev)
            if config.no_vae:  # the residual is the control mean, as in evaluation
                x = mu.expand(len(idx), -1)
            else:
                x = (mu + config.noise * sd * eps).clamp(min=0)
            pred, aux = net([pert_train[i] for i in idx], x)
            loss, parts = biodsnn_loss(
                pred,
                targets[idx],
                mu,
                keep[idx],
                aux["kl"],
                aux["recon_err"],
                gamma=config.autofocus_gamma,
                beta=config.beta,
                lam=config.direction_lambda,
                k=config.direction_k,
                kl_weight=config.kl_weight,
                recon_weight=config.recon_weight,
                direction=config.direction,
            )
            opt.zero_grad()
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_value_(model.parameters(), config.grad_clip)
            opt.step()
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
        sched.step()
        if parallel:
            total = ddp.sum_over_ranks(sums | {"conditions": float(len(order))})
            n = max(total.pop("conditions"), 1.0)
            stats = {k: v / n for k, v in total.items()}
        else:
            stats = {k: v / max(len(order), 1) for k, v in sums.items()}
        if y_val is not None:
            val_de = stats["val_mse"] = stats["val_pcc_de20"] = float("nan")
            if writer:
                pv = predict_with(model, pert_val)
                val_de = _mse_de(pv, y_val, de_val)
                stats["val_mse"] = float(np.mean((pv - y_val) ** 2))
                stats["val_pcc_de20"] = _pcc_de20(pv, y_val, ctrl, de20_val)
            if parallel:
                got = ddp.from_rank0([val_de, stats["val_mse"], stats["val_pcc_de20"]])
                val_de, stats["val_mse"], stats["val_pcc_de20"] = got
        else:
            val_de = stats.get("mse", float("nan"))
        stats |= {"epoch": epoch, "val_mse_de": val_de}
        history.append(stats)
        score = -stats["val_pcc_de20"] if config.select_on == "pcc_de20" and val else val_de
        if score < best_score:
            best_score, best_val, best_epoch, stale = score, val_de, epoch, 0
            if writer:
                torch.save(model.state_dict(), run_dir / "model.pt")
        else:
            stale += 1
        if progress is not None:
            progress(epoch + 1, config.epochs, val_de)
        if stale >= config.patience:
            break
    return history, best_val, best_epoch, best_score


def is_biodsnn_run(run_dir: str | PathLike[str]) -> bool:
    """Whether a run folder holds a BioDSNN run (``model.json``)."""
    f = Path(run_dir) / "model.json"
    return f.exists() and json.loads(f.read_text()).get("model") == "biodsnn"


def load_model(
    run_dir: str | PathLike[str], device: str | torch.device = "cpu"
) -> tuple[BiodsnnModel, BiodsnnData]:
    """The best model of a run folder (eval mode) and its data."""
    run = Path(run_dir)
    config = BiodsnnConfig.from_json(run / "config.json")
    data = BiodsnnData.from_dict(torch.load(run / "data.pt", weights_only=True))
    ctrl = np.load(run / "ctrl.npy")
    model = build_model(data, config, ctrl)
    model.register_buffer("ctrl", torch.from_numpy(ctrl))
    model.load_state_dict(torch.load(run / "model.pt", weights_only=True, map_location="cpu"))
    return model.to(torch.device(device)).eval(), data


def predict(
    run_dir: str | PathLike[str], conditions: Sequence[str], device: str | torch.device = "cpu"
) -> dict[str, np.ndarray]:
    """Predicted mean profiles (gene order of the training summary); ``ctrl`` -> no
    perturbation."""
    model, data = load_model(run_dir, device)
    pred = predict_with(model, data.perturbed(conditions))
    return {c: pred[i] for i, c in enumerate(conditions)}


@torch.no_grad()
def attention_edges(
    model: BiodsnnModel,
    data: BiodsnnData,
    conditions: Sequence[str],
    top: int = 10,
    batch_size: int = 16,
) -> pd.DataFrame:
    """Learned attention as gene -> gene edges: alpha(query i, key j) of the last encoder
    layer (Eq. 5), averaged over heads and over ``conditions`` (their perturbed passes); for
    each query gene i the ``top`` keys j != i become edges j -> i (j's expression informs i)
    with ``attention`` = ``score`` = that mean weight. Columns src, dst, attention (gene ids)."""
    model.eval()
    ei = model.get_buffer("mask_edge_index")
    perts = data.perturbed(conditions) if conditions else [[]]
    total = torch.zeros(ei.shape[1], device=ei.device)
    for lo in range(0, len(perts), batch_size):
        alpha = model.attention(perts[lo : lo + batch_size])  # [B, E, h]
        total += alpha.mean(-1).sum(0)
    mean = (total / len(perts)).cpu().numpy()
    src, dst = ei[0].cpu().numpy(), ei[1].cpu().numpy()
    off = src != dst
    df = pd.DataFrame({"s": src[off], "d": dst[off], "attention": mean[off]})
    df = df.sort_values(["d", "attention"], ascending=[True, False]).groupby("d").head(top)
    ids = np.asarray(data.node_ids[: data.num_genes], dtype=object)
    return pd.DataFrame(
        {
            "src": ids[df["s"].to_numpy()],
            "dst": ids[df["d"].to_numpy()],
            "attention": df["attention"].to_numpy(dtype=np.float64),
        }
    ).reset_index(drop=True)
