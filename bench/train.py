"""Benchmark of GRAPE training throughput on SYNTHETIC data (simulator defaults).

Seconds per training epoch (median of ``--epochs`` epochs, after one untimed warm-up step)
for three schemes, all in one run on the same data, graph and model configuration:

(a) per-cell batching: one full graph forward per cell, ``cells_per_step`` cells a step
    (the authors' scheme; kept only as this baseline);
(b) condition-level: one full graph forward per condition, regressing condition means;
(c) condition-level + exact L-hop incremental propagation.

An epoch = candidate-edge refresh + one pass over the training conditions (or cells).
``--max-cell-steps`` times only that many per-cell steps and scales to a full epoch (the
output says so). ``--device cuda`` also reports peak GPU memory per scheme.
Prints a table; ``--json FILE`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from grapekg.kg.schema import load_default
from grapekg.model.grape import GeneGraph, GrapeConfig
from grapekg.model.grape.train import (
    _cell_tensors,
    build_model,
    cell_epoch,
    condition_epoch,
    perturbed_indices,
    seed_everything,
)
from grapekg.perturb.simulate import simulate, synthetic_genes
from grapekg.perturb.splits import make_split
from grapekg.perturb.summaries import summarise_adata


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--conditions", type=int, default=150)
    ap.add_argument("--cells-per-condition", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument(
        "--max-cell-steps",
        type=int,
        default=0,
        help="time only this many per-cell steps per epoch and extrapolate",
    )
    ap.add_argument("--batch-size", type=int, default=16, help="conditions per step")
    ap.add_argument("--cells-per-step", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=64, help="q (paper: 64)")
    ap.add_argument("--heads", type=int, default=4, help="H and T (paper: 4)")
    ap.add_argument("--top-k", type=int, default=4, help="learned neighbours per gene")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument(
        "--schemes",
        default="per_cell,condition,condition_incremental",
        help="comma-separated subset of the three schemes",
    )
    ap.add_argument(
        "--nondeterministic",
        action="store_true",
        help="allow torch's non-deterministic kernels (training turns on the "
        "deterministic ones), to measure what determinism costs",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    schemes = args.schemes.split(",")
    if not schemes or set(schemes) - {"per_cell", "condition", "condition_incremental"}:
        ap.error(f"--schemes {args.schemes!r}: use per_cell, condition, condition_incremental")
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    genes = synthetic_genes(args.genes, seed=0)
    schema = load_default()  # relation names and edge types: the KG schema's
    sim = simulate(
        genes,
        n_conditions=args.conditions,
        cells_per_condition=args.cells_per_condition,
        seed=0,
        add_de=False,
        relations={r: (a, b) for a, r, b in schema.gene_relations},
    )
    summary = summarise_adata(sim.adata)
    split = make_split("random", summary.conditions, seed=1, test_fraction=0.3)
    graph = GeneGraph.from_gene_table(
        genes, sim.edges.sample(frac=0.5, random_state=0), edge_types=schema.gene_edge_types()
    )
    setup_s = time.perf_counter() - t0
    train = [c for c in split.train if c in summary.conditions]
    pert = perturbed_indices(graph, train)
    targets = torch.as_tensor(
        np.stack([summary.mean[summary.index(c)] for c in train]), dtype=torch.float32
    )
    cells, cell_cond = _cell_tensors(sim.adata, train, summary.gene_ids)
    rows: dict[str, dict[str, float]] = {}
    for name in schemes:
        seed_everything(0)
        if args.nondeterministic:
            torch.use_deterministic_algorithms(False)
        cfg = GrapeConfig(
            seed=0,
            incremental=name == "condition_incremental",
            hidden=args.hidden,
            gat_heads=args.heads,
            sim_heads=args.heads,
            sim_top_k=args.top_k,
            batch_size=args.batch_size,
            cells_per_step=args.cells_per_step,
            mode="cell" if name == "per_cell" else "condition",
        )
        model, cfg = build_model(graph, cfg, summary.gene_ids, summary.ctrl_mean)
        model.to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        gen = torch.Generator().manual_seed(0)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(dev)
        times, refresh, scale = [], [], 1.0
        for _ in range(args.epochs):
            _sync(dev)
            t = time.perf_counter()
            model.eval()
            model.refresh_candidates()
            _sync(dev)
            refresh.append(time.perf_counter() - t)
            if name == "per_cell":
                n = cells.shape[0]
                if args.max_cell_steps:
                    keep = min(n, args.max_cell_steps * cfg.cells_per_step)
                    scale = n / keep
                    sel = torch.randperm(n, generator=gen)[:keep]
                    t1 = time.perf_counter()
                    cell_epoch(model, opt, pert, cells[sel], cell_cond[sel], gen, dev)
                else:
                    t1 = time.perf_counter()
                    cell_epoch(model, opt, pert, cells, cell_cond, gen, dev)
            else:
                t1 = time.perf_counter()
                condition_epoch(model, opt, pert, targets, gen, dev)
            _sync(dev)
            times.append(refresh[-1] + (time.perf_counter() - t1) * scale)
        rows[name] = {
            "median_s": statistics.median(times),
            "epochs": times,
            "refresh_s": statistics.median(refresh),
            "extrapolated_from_fraction": 1.0 / scale,
            "edges": float(model.candidates.shape[1]),
        }
        if dev.type == "cuda":
            rows[name]["peak_gpu_mib"] = torch.cuda.max_memory_allocated(dev) / 2**20
        print(f"{name}: epochs {[round(t, 2) for t in times]} s", flush=True)
    base = rows["per_cell"]["median_s"] if "per_cell" in rows else float("nan")
    for r in rows.values():
        r["speedup_vs_per_cell"] = base / r["median_s"]
    if {"condition", "condition_incremental"} <= set(rows):
        rows["condition_incremental"]["speedup_vs_condition"] = (
            rows["condition"]["median_s"] / rows["condition_incremental"]["median_s"]
        )
    meta = {
        "genes": args.genes,
        "conditions": args.conditions,
        "train_conditions": len(train),
        "cells": int(cells.shape[0]),
        "cells_per_condition": args.cells_per_condition,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "setup_s": setup_s,
        "synthetic": True,
        "max_cell_steps": args.max_cell_steps,
        "batch_size": args.batch_size,
        "cells_per_step": args.cells_per_step,
        "hidden": args.hidden,
        "heads": args.heads,
        "top_k": args.top_k,
        "deterministic": not args.nondeterministic,
    }
    print(f"GRAPE training benchmark (SYNTHETIC data): {meta}")
    print(f"{'scheme':<24}{'s/epoch':>10}{'refresh s':>11}{'x per-cell':>12}{'mem MiB':>10}")
    for name, r in rows.items():
        mem = f"{r['peak_gpu_mib']:.0f}" if "peak_gpu_mib" in r else "-"
        print(
            f"{name:<24}{r['median_s']:>10.2f}{r['refresh_s']:>11.2f}"
            f"{r['speedup_vs_per_cell']:>12.1f}{mem:>10}"
        )
    if "speedup_vs_condition" in rows.get("condition_incremental", {}):
        inc = rows["condition_incremental"]["speedup_vs_condition"]
        print(f"incremental vs condition-level: x{inc:.2f}")
    if "per_cell" in rows and rows["per_cell"]["extrapolated_from_fraction"] < 1:
        print(
            f"per_cell extrapolated from {rows['per_cell']['extrapolated_from_fraction']:.1%} "
            "of the cells per epoch"
        )
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
