"""Benchmark: peak memory of one forward + backward of BioDSNN's masked attention, sparse over
the mask's edges (:class:`grapekg.model.biodsnn.masked_attention.MaskedMultiheadAttention`)
against the same attention with a dense G x G mask (the authors' route: scores of shape
B x h x G x G; :func:`~grapekg.model.biodsnn.masked_attention.dense_masked_attention`).

Each variant runs in a fresh subprocess (``python bench/biodsnn_memory.py --child ...``);
its peak resident memory is ``ru_maxrss`` of the child (``os.wait4``) minus the child's own
resident size measured after imports and inputs were built (reported both). The mask is
SYNTHETIC and Norman-like: genes of ``synthetic_genes`` sharing a pathway (pathways sized so
that a gene has ~16 partners, as the authors' Norman file: 80,956 pairs over 5,045 genes),
plus ``--coexpr`` random co-expression neighbours per gene and self.

Usage: ``python bench/biodsnn_memory.py [--genes 5000] [--batch 8] [--hidden 64] [--heads 2]``;
writes ``bench/results/biodsnn_memory.{txt,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "results"


def _mask(genes: int, coexpr: int, seed: int = 0):
    import numpy as np
    import torch

    from grapekg.model.biodsnn.graphs import attention_mask, pathway_pairs
    from grapekg.perturb.simulate import synthetic_genes

    table = synthetic_genes(genes, n_pathways=max(1, genes // 17), seed=seed)
    by_pw: dict[str, list[int]] = {}
    for i, pws in enumerate(table["pathways"]):
        for p in pws:
            by_pw.setdefault(p, []).append(i)
    pw = pathway_pairs(list(by_pw.values()), genes)
    rng = np.random.default_rng(seed)
    ce = torch.from_numpy(
        np.stack([rng.integers(0, genes, genes * coexpr), np.repeat(np.arange(genes), coexpr)])
    )
    return attention_mask(pw, ce, genes), int(pw.shape[1])


def child(args: argparse.Namespace) -> None:
    import torch

    from grapekg.model.biodsnn.masked_attention import (
        MaskedMultiheadAttention,
        dense_masked_attention,
    )

    torch.manual_seed(0)
    torch.set_num_threads(1)
    ei, pw_pairs = _mask(args.genes, args.coexpr)
    att = MaskedMultiheadAttention(args.hidden, args.heads)
    x = torch.randn(args.batch, args.genes, args.hidden, requires_grad=True)
    if args.child == "dense":
        allowed = torch.zeros(args.genes, args.genes, dtype=torch.bool)
        allowed[ei[1], ei[0]] = True
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if args.child == "sparse":
        y = att(x, ei)
    else:
        q, k, v = att.project(x)
        y = att.out(dense_masked_attention(q, k, v, allowed).reshape(x.shape))
    y.square().mean().backward()
    sec = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "edges": int(ei.shape[1]),
                "pathway_pairs": pw_pairs,
                "baseline_kib": base,
                "seconds": sec,
            }
        )
    )


def run(kind: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--genes",
        str(args.genes),
        "--batch",
        str(args.batch),
        "--hidden",
        str(args.hidden),
        "--heads",
        str(args.heads),
        "--coexpr",
        str(args.coexpr),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    out = p.stdout.read().decode() if p.stdout else ""
    if status != 0:
        raise SystemExit(f"{kind} child failed (status {status})")
    info = json.loads(out.strip().splitlines()[-1])
    info["peak_kib"] = usage.ru_maxrss
    info["peak_over_baseline_mib"] = (usage.ru_maxrss - info["baseline_kib"]) / 1024
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--coexpr", type=int, default=20)
    ap.add_argument("--child", choices=("sparse", "dense"))
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    res = {k: run(k, args) for k in ("sparse", "dense")}
    ratio = res["dense"]["peak_over_baseline_mib"] / res["sparse"]["peak_over_baseline_mib"]
    total = res["dense"]["peak_kib"] / res["sparse"]["peak_kib"]
    summary = {
        "params": vars(args) | {"child": None},
        "results": res,
        "ratio_dense_over_sparse": ratio,
        "ratio_total_rss": total,
        "synthetic_mask": True,
    }
    lines = [
        f"BioDSNN masked attention, one forward + backward, {args.genes} genes, batch "
        f"{args.batch}, hidden {args.hidden}, {args.heads} heads, CPU, 1 thread; SYNTHETIC "
        f"Norman-like mask: {res['sparse']['edges']:,} allowed pairs "
        f"({res['sparse']['edges'] / args.genes**2:.2%} of G^2; "
        f"{res['sparse']['pathway_pairs']:,} pathway pairs + {args.coexpr} co-expression "
        f"neighbours + self per gene)",
    ]
    for k in ("sparse", "dense"):
        r = res[k]
        lines.append(
            f"{k:<6} peak RSS {r['peak_kib'] / 1024:8.0f} MiB, over its baseline "
            f"{r['peak_over_baseline_mib']:8.0f} MiB, {r['seconds']:.2f} s"
        )
    lines.append(f"dense / sparse: {ratio:.1f}x (over baseline), {total:.1f}x (total peak RSS)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "biodsnn_memory.txt").write_text("\n".join(lines) + "\n")
    (OUT / "biodsnn_memory.json").write_text(json.dumps(summary, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
