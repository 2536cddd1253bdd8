"""The measurements of ``bench/gpu_check.sh`` on SYNTHETIC simulations (no Neo4j, no network).

Subcommands (each prints one ``RESULT {json}`` line that the shell script collects):

- ``agree``: train GRAPE for a few epochs on a 1k-gene simulation, then predict the held-out
  conditions with the same weights in float32 and under bf16 autocast (CUDA, or CPU with
  ``--device cpu``); reports the largest absolute difference, the difference relative to the
  predicted deltas, the Pearson correlation of the two delta sets, and each one's MSE to the
  truth.
- ``epoch``: seconds per GRAPE training epoch (condition-level, incremental; refresh of the
  candidate edges included) on a 5k-gene simulation, on ``--device``. ``--max-steps`` times
  only that many steps of the epoch and scales to the whole epoch (the output says so).
- ``ddp``: run under ``torchrun``: GRAPE's data-parallel epoch
  (:func:`grapekg.model.grape.train.parallel_epoch`) on every rank for a few epochs; rank 0
  reports seconds per epoch, the loss, and whether the weights are bit-identical on all ranks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from grapekg.kg.schema import load_default
from grapekg.model.grape import GeneGraph, GrapeConfig
from grapekg.model.grape.train import (
    build_model,
    condition_epoch,
    perturbed_indices,
    predict_with,
    seed_everything,
)
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.splits import make_split
from grapekg.perturb.summaries import summarise_adata


def simulation(genes: int, conditions: int, cells: int = 20) -> dict[str, object]:
    """A SYNTHETIC simulation with the KG schema's gene relations, its random split and its
    GRAPE graph (half the true edges as the prior)."""
    table = synthetic_genes(genes, seed=0)
    schema = load_default()
    sim = simulate(
        table,
        n_conditions=conditions,
        cells_per_condition=cells,
        seed=0,
        add_de=False,
        relations={r: (a, b) for a, r, b in schema.gene_relations},
    )
    summary = summarise_adata(sim.adata)
    split = make_split("random", summary.conditions, seed=1, test_fraction=0.2, val_fraction=0.1)
    graph = GeneGraph.from_gene_table(
        table, sim.edges.sample(frac=0.5, random_state=0), edge_types=schema.gene_edge_types()
    )
    return {"summary": summary, "split": split, "graph": graph}


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _prepared(d: dict, cfg: GrapeConfig, dev: torch.device) -> tuple:
    s, g = d["summary"], d["graph"]
    seed_everything(cfg.seed)
    model, cfg = build_model(g, cfg, s.gene_ids, s.ctrl_mean)
    model.to(dev)
    train = [c for c in d["split"].train if c in s.conditions]
    targets = torch.as_tensor(np.stack([s.mean[s.index(c)] for c in train]), dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return model, opt, perturbed_indices(g, train), targets


def agree(args: argparse.Namespace) -> dict[str, object]:
    dev = torch.device(args.device)
    d = simulation(args.genes, args.conditions)
    cfg = GrapeConfig(seed=0, epochs=args.epochs, align_epochs=0)
    model, opt, pert, targets = _prepared(d, cfg, dev)
    gen = torch.Generator().manual_seed(0)
    for _ in range(args.epochs):  # trained as training does: bf16 autocast on CUDA
        model.eval()
        model.refresh_candidates()
        condition_epoch(model, opt, pert, targets, gen, dev)
    s = d["summary"]
    test = [c for c in d["split"].test if c in s.conditions and c != "ctrl"]
    pt = perturbed_indices(d["graph"], test)
    model.eval()
    with torch.no_grad():
        fp32 = model(pt)[0].float().cpu().numpy()
        if dev.type == "cuda":
            bf16 = predict_with(model, pt)  # the predictions the CLI writes (autocast bf16)
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                bf16 = model(pt)[0].float().cpu().numpy()
    ctrl = np.asarray(s.ctrl_mean, dtype=np.float64)
    truth = np.stack([s.mean[s.index(c)] for c in test])
    d32, d16 = fp32 - ctrl, bf16 - ctrl
    return {
        "device": str(dev),
        "genes": args.genes,
        "test_conditions": len(test),
        "max_abs_diff": float(np.abs(fp32 - bf16).max()),
        "rel_diff_of_deltas": float(np.abs(d32 - d16).mean() / max(np.abs(d32).mean(), 1e-12)),
        "pearson_deltas": float(np.corrcoef(d32.ravel(), d16.ravel())[0, 1]),
        "mse_fp32": float(np.mean((fp32 - truth) ** 2)),
        "mse_bf16": float(np.mean((bf16 - truth) ** 2)),
        "synthetic": True,
    }


def epoch(args: argparse.Namespace) -> dict[str, object]:
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    d = simulation(args.genes, args.conditions)
    setup = time.perf_counter() - t0
    cfg = GrapeConfig(seed=0, batch_size=16, incremental=True)
    model, opt, pert, targets = _prepared(d, cfg, dev)
    n_steps = -(-len(pert) // cfg.batch_size)
    keep = len(pert) if args.max_steps <= 0 else min(len(pert), args.max_steps * cfg.batch_size)
    scale = len(pert) / keep
    gen = torch.Generator().manual_seed(0)
    times = []
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    for i in range(args.epochs + args.warmup):  # warm-up epochs are not timed
        _sync(dev)
        t = time.perf_counter()
        model.eval()
        model.refresh_candidates()
        _sync(dev)
        refresh = time.perf_counter() - t
        t = time.perf_counter()
        condition_epoch(model, opt, pert[:keep], targets[:keep], gen, dev)
        _sync(dev)
        if i >= args.warmup:
            times.append(refresh + (time.perf_counter() - t) * scale)
    out = {
        "device": str(dev),
        "genes": args.genes,
        "train_conditions": len(pert),
        "steps_per_epoch": n_steps,
        "timed_fraction_of_epoch": 1.0 / scale,
        "s_per_epoch": statistics.median(times),
        "epochs_timed": times,
        "setup_s": setup,
        "threads": torch.get_num_threads(),
        "synthetic": True,
    }
    if dev.type == "cuda":
        out["peak_gpu_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


def ddp_run(args: argparse.Namespace) -> dict[str, object] | None:
    import torch.distributed as dist

    from grapekg.model import distributed as ddp
    from grapekg.model.grape.train import parallel_epoch

    if not ddp.init_from_env():
        raise SystemExit("ddp: start it with torchrun --nproc-per-node N (N >= 2)")
    dev = ddp.device_for(torch.device(args.device))
    d = simulation(args.genes, args.conditions)
    cfg = GrapeConfig(seed=0, batch_size=16 * ddp.world_size(), align_epochs=0)
    model, opt, pert, targets = _prepared(d, cfg, dev)
    net = ddp.wrap(model, dev)
    times, losses = [], []
    for e in range(args.epochs + 1):
        _sync(dev)
        ddp.barrier()
        t = time.perf_counter()
        model.eval()
        model.refresh_candidates()
        model.candidates = ddp.tensor_from_rank0(model.candidates)
        stats = parallel_epoch(model, net, opt, pert, targets, e, dev)
        _sync(dev)
        if e > 0:
            times.append(time.perf_counter() - t)
        losses.append(stats["loss"])
    flat = torch.cat([p.detach().float().reshape(-1).cpu() for p in model.parameters()])
    everyone = [torch.zeros_like(flat) for _ in range(ddp.world_size())]
    dist.all_gather(everyone, flat)
    same = all(torch.equal(everyone[0], x) for x in everyone[1:])
    if not ddp.is_rank0():
        return None
    return {
        "device": str(dev),
        "world": ddp.world_size(),
        "backend": str(dist.get_backend()),
        "genes": args.genes,
        "train_conditions": len(pert),
        "global_batch": cfg.batch_size,
        "s_per_epoch": statistics.median(times),
        "losses": losses,
        "weights_identical_on_all_ranks": bool(same),
        "synthetic": True,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("agree", "epoch", "ddp"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--genes", type=int, default=1000)
    ap.add_argument("--conditions", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0, help="epoch: time only this many steps")
    ap.add_argument("--warmup", type=int, default=1, help="epoch: untimed epochs first")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"{args.what}: --device cuda but no CUDA device is visible")
    res = {"agree": agree, "epoch": epoch, "ddp": ddp_run}[args.what](args)
    if res is not None:
        print("RESULT " + json.dumps({"step": args.what, **res}), flush=True)
    if args.what == "ddp":
        import torch.distributed as dist

        dist.destroy_process_group()


if __name__ == "__main__":
    main()
