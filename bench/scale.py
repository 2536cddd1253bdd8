"""How GRAPE's training cost grows with the graph: SYNTHETIC simulations of growing size.

For every (genes, conditions) pair of ``--genes`` x ``--conditions``, a fresh process builds
a simulation (``cells`` cells per condition, the KG schema's gene relations, half the true
edges as the prior graph) and trains GRAPE for ``--steps`` condition-level steps (batch
``--batch-size``, incremental propagation, one candidate-edge refresh first). It reports the
seconds per step (median), the refresh time, the process's peak memory (max RSS on the CPU,
``torch.cuda.max_memory_allocated`` on CUDA) and the prior graph's size (nodes, directed
edges). The growth exponent b of ``time ~ size^b`` is fitted by least squares on log-log
for each axis that has at least two sizes (the other axis held at each of its values).

Writes ``<out>.txt`` and ``<out>.json`` (default bench/results/scale). Sizes are what the
machine allows: the defaults are small, the full grid is ``--genes 1000,5000,20000
--conditions 100,1000,10000``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def one(genes: int, conditions: int, args: argparse.Namespace) -> dict[str, object]:
    """One size, in this process."""
    import torch

    from grapekg.kg.schema import load_default
    from grapekg.model.grape import GeneGraph, GrapeConfig
    from grapekg.model.grape.train import _step, build_model, perturbed_indices, seed_everything
    from grapekg.perturb.simulate import simulate, synthetic_genes
    from grapekg.perturb.summaries import summarise_adata

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    table = synthetic_genes(genes, seed=0)
    schema = load_default()
    sim = simulate(
        table,
        n_conditions=conditions,
        cells_per_condition=args.cells,
        seed=0,
        add_de=False,
        relations={r: (a, b) for a, r, b in schema.gene_relations},
    )
    summary = summarise_adata(sim.adata)
    graph = GeneGraph.from_gene_table(
        table, sim.edges.sample(frac=0.5, random_state=0), edge_types=schema.gene_edge_types()
    )
    setup = time.perf_counter() - t0
    conds = [c for c in summary.conditions if c != "ctrl"]
    seed_everything(0)
    cfg = GrapeConfig(seed=0, batch_size=args.batch_size, align_epochs=0, incremental=True)
    model, cfg = build_model(graph, cfg, summary.gene_ids, summary.ctrl_mean)
    model.to(dev)
    pert = perturbed_indices(graph, conds)
    targets = torch.as_tensor(
        np.stack([summary.mean[summary.index(c)] for c in conds]), dtype=torch.float32
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    t = time.perf_counter()
    model.eval()
    model.refresh_candidates()
    refresh = time.perf_counter() - t
    model.train()
    gen = np.random.default_rng(0)
    times = []
    for _ in range(args.steps + 1):  # the first step is a warm-up
        idx = gen.choice(len(pert), size=min(args.batch_size, len(pert)), replace=False).tolist()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t = time.perf_counter()
        _step(model, opt, [pert[i] for i in idx], targets[idx].to(dev), dev)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        times.append(time.perf_counter() - t)
    peak = (
        torch.cuda.max_memory_allocated(dev) / 2**20
        if dev.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "genes": genes,
        "conditions": conditions,
        "cells": int(sim.adata.n_obs),
        "nodes": int(graph.num_genes),
        "prior_edges": int(graph.prior_edge_index().shape[1]),
        "candidate_edges": int(model.candidates.shape[1]),
        "s_per_step": statistics.median(times[1:]),
        "refresh_s": refresh,
        "peak_mib": peak,
        "peak_kind": "cuda allocated" if dev.type == "cuda" else "max RSS (whole process)",
        "setup_s": setup,
        "threads": torch.get_num_threads(),
    }


def exponent(rows: list[dict], axis: str, key: str = "s_per_step") -> dict[str, float]:
    """b of key ~ axis^b per value of the other axis (least squares on log-log)."""
    other = "conditions" if axis == "genes" else "genes"
    out = {}
    for v in sorted({r[other] for r in rows}):
        sel = sorted((r for r in rows if r[other] == v), key=lambda r: r[axis])
        if len({r[axis] for r in sel}) >= 2:
            x = np.log([r[axis] for r in sel])
            y = np.log([max(float(r[key]), 1e-12) for r in sel])
            out[f"{other}={v}"] = float(np.polyfit(x, y, 1)[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", default="1000")
    ap.add_argument("--conditions", default="100,1000")
    ap.add_argument("--cells", type=int, default=4, help="cells per condition")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per size")
    ap.add_argument("--out", type=Path, default=Path("bench/results/scale"))
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print("RESULT " + json.dumps(one(args.one[0], args.one[1], args)), flush=True)
        return
    rows, failed = [], []
    for g in [int(x) for x in args.genes.split(",")]:
        for c in [int(x) for x in args.conditions.split(",")]:
            cmd = [sys.executable, __file__, "--one", str(g), str(c)] + [
                f"--{k.replace('_', '-')}={getattr(args, k)}"
                for k in ("cells", "steps", "batch_size", "device", "threads")
            ]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                failed.append({"genes": g, "conditions": c, "why": f"over {args.timeout:.0f} s"})
                continue
            got = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
            if p.returncode != 0 or not got:
                why = (p.stderr.strip().splitlines() or [f"rc {p.returncode}"])[-1][:200]
                failed.append({"genes": g, "conditions": c, "why": why})
                continue
            rows.append(json.loads(got[-1][7:]))
            r = rows[-1]
            print(f"{g} genes, {c} conditions: {r['s_per_step']:.3f} s/step", flush=True)
    fits = {
        "time_vs_genes": exponent(rows, "genes"),
        "time_vs_conditions": exponent(rows, "conditions"),
        "memory_vs_genes": exponent(rows, "genes", "peak_mib"),
        "memory_vs_conditions": exponent(rows, "conditions", "peak_mib"),
    }
    meta = {
        "synthetic": True,
        "device": args.device,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "cells_per_condition": args.cells,
        "machine": platform.processor() or platform.machine(),
    }
    lines = [
        f"GRAPE cost vs graph size (SYNTHETIC simulations): {meta}",
        f"{'genes':>7}{'conds':>7}{'nodes':>7}{'prior edges':>13}{'s/step':>9}"
        f"{'refresh s':>11}{'peak MiB':>10}",
    ]
    for r in rows:
        lines.append(
            f"{r['genes']:>7}{r['conditions']:>7}{r['nodes']:>7}{r['prior_edges']:>13}"
            f"{r['s_per_step']:>9.3f}{r['refresh_s']:>11.2f}{r['peak_mib']:>10.0f}"
        )
    for f in failed:
        lines.append(f"{f['genes']:>7}{f['conditions']:>7}  not measured: {f['why']}")
    for k, v in fits.items():
        lines.append(
            f"growth exponent {k}: "
            + (", ".join(f"{a}: {b:.2f}" for a, b in v.items()) or "needs two sizes")
        )
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".txt").write_text(text + "\n")
    args.out.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "rows": rows, "failed": failed, "fits": fits}, indent=1)
    )


if __name__ == "__main__":
    main()
