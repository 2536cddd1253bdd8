"""Benchmark: streaming condition summaries + DE versus the naive dense approach.

Writes a SYNTHETIC (simulated) CSR .h5ad of ``--cells`` x ``--genes`` to a temporary folder,
then runs each approach ``--repeats`` times, each in a fresh subprocess, and reports the
median wall time and the median peak resident memory of the child (``ru_maxrss`` from
``os.wait4``), plus the dense / streaming ratios. The dataset is written by a subprocess
too, so the parent stays small: on Linux a child's ``ru_maxrss`` starts from the parent's
resident size at fork time.

* streaming: ``summarise_h5ad`` (h5py row chunks) + ``compute_de``.
* dense: ``anndata.read_h5ad`` (whole file), ``X.toarray()``, per-condition mean and
  variance with numpy, then the same ``compute_de``.

Usage: ``python bench/import_memory.py [--cells 100000] [--genes 5000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child_stream(path: str) -> dict:
    from grapekg.perturb.de import compute_de
    from grapekg.perturb.summaries import summarise_h5ad

    summary = summarise_h5ad(path)
    de = compute_de(summary)
    return {
        "conditions": len(summary.conditions),
        "de": len(de.ranking),
        "mean_checksum": float(summary.mean.sum()),
    }


def _child_dense(path: str) -> dict:
    import anndata as ad
    import numpy as np

    from grapekg.perturb.conditions import CONTROL, normalise_condition
    from grapekg.perturb.de import compute_de
    from grapekg.perturb.summaries import ConditionSummary

    adata = ad.read_h5ad(path)
    x = adata.X.toarray()
    labels = np.array([normalise_condition(c) for c in adata.obs["condition"].astype(str)])
    conditions = sorted(set(labels), key=lambda c: (c != CONTROL, c))
    mean, var, frac, n = [], [], [], []
    for cond in conditions:
        block = x[labels == cond]
        mean.append(block.mean(0, dtype=np.float64))
        var.append(block.var(0, ddof=1, dtype=np.float64))
        frac.append((block != 0).mean(0))
        n.append(block.shape[0])
    summary = ConditionSummary(
        conditions,
        adata.var.index.to_numpy(),
        adata.var["gene_name"].to_numpy(),
        np.array(n),
        np.array(mean),
        np.array(var),
        np.array(frac),
        path,
    )
    de = compute_de(summary)
    return {
        "conditions": len(conditions),
        "de": len(de.ranking),
        "mean_checksum": float(summary.mean.sum()),
    }


def _run_child(mode: str, path: Path, out: Path, extra: list[str] | None = None) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, str(path), str(out), *(extra or [])]
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed with exit code {proc.returncode}")
    result = json.loads(out.read_text())
    result.update(mode=mode, wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024)
    return result


def _write_dataset(path: Path, cells: int, genes: int, seed: int) -> dict:
    from grapekg.kg.schema import load_default
    from grapekg.perturb.simulate import simulate, synthetic_genes

    relations = {r: (a, b) for a, r, b in load_default().gene_relations}
    per_condition = 500
    n_conditions = max(2, cells // per_condition - 1)
    start = time.perf_counter()
    sim = simulate(
        synthetic_genes(genes, seed=seed),
        n_conditions=n_conditions,
        cells_per_condition=per_condition,
        n_control_cells=per_condition,
        seed=seed,
        add_de=False,
        relations=relations,
    )
    sim.adata.write_h5ad(path)
    x = sim.adata.X
    return {
        "cells": x.shape[0],
        "genes": x.shape[1],
        "conditions": n_conditions + 1,
        "density": x.nnz / (x.shape[0] * x.shape[1]),
        "file_mib": path.stat().st_size / 2**20,
        "simulate_and_write_s": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "H5AD", "OUT"))
    args = parser.parse_args()
    if args.child:
        mode, path, out = args.child
        if mode == "write":
            result = _write_dataset(Path(path), args.cells, args.genes, args.seed)
        else:
            result = (_child_stream if mode == "stream" else _child_dense)(path)
        Path(out).write_text(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="grapekg-bench-") as tmp:
        path = Path(tmp) / "synthetic.h5ad"
        info = _run_child(
            "write",
            path,
            Path(tmp) / "write.json",
            ["--cells", str(args.cells), "--genes", str(args.genes), "--seed", str(args.seed)],
        )
        info.pop("mode")
        print(
            "SYNTHETIC dataset:",
            json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in info.items()}),
        )
        runs: dict[str, list[dict]] = {"stream": [], "dense": []}
        for i in range(args.repeats):
            for mode in runs:
                r = _run_child(mode, path, Path(tmp) / f"{mode}{i}.json")
                runs[mode].append(r)
                print(
                    f"run {i + 1} {mode:6s} wall {r['wall_s']:7.2f} s  "
                    f"peak RSS {r['peak_rss_mib']:8.1f} MiB"
                )
        checks = {m: {r["mean_checksum"] for r in rs} for m, rs in runs.items()}
        med = {
            m: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "peak_rss_mib")}
            for m, rs in runs.items()
        }
        for mode, values in med.items():
            print(
                f"median {mode:6s} wall {values['wall_s']:7.2f} s  "
                f"peak RSS {values['peak_rss_mib']:8.1f} MiB"
            )
        print(
            f"ratio dense/stream: wall {med['dense']['wall_s'] / med['stream']['wall_s']:.2f}x"
            f", peak RSS {med['dense']['peak_rss_mib'] / med['stream']['peak_rss_mib']:.2f}x"
        )
        a, b = next(iter(checks["stream"])), next(iter(checks["dense"]))
        print(
            f"sum of condition means: stream {a:.6f} dense {b:.6f} "
            f"(relative difference {abs(a - b) / abs(b):.2e})"
        )


if __name__ == "__main__":
    main()
