"""Train GEARS on a dataset prepared by ``prepare.py`` and write its test predictions.

Runs ONLY in the GEARS environment built by ``setup.sh`` (``cell-gears`` 0.1.2, Debian torch);
grape-kg never imports this file or GEARS. Uses GEARS's public API as its README shows:
``PertData(data_path)`` (reads our ``gene2go_all.pkl``; nothing is downloaded because every
file it would fetch is already there), ``new_data_process`` (GEARS's own DE genes and cell
graphs), ``prepare_split('custom', split_dict_path=...)`` with grape's split of each seed,
``GEARS.model_initialize`` / ``train`` (best epoch by validation DE MSE, as GEARS), then
``gears.inference.evaluate`` on the test conditions.

    GEARS_PY bench/peers/gears/run_gears.py --work DIR --seeds 1..3 --epochs 2

Writes to DIR:
* ``gears_predictions.csv``: wide table ``condition, seed, <gene id>...``: per test condition
  the mean over its test cells of GEARS's prediction (each cell predicted from one random
  control cell, as GEARS evaluates), which ``grape evaluate --predictions gears=FILE`` scores;
* ``gears_own_metrics.json``: GEARS's own metrics of the same predictions (``compute_metrics``,
  ``deeper_analysis``, ``non_dropout_analysis``), per condition and averaged, per seed; plus
  GEARS's DE-20 gene ids per condition;
* ``gears_times.json``: seconds for data processing and for each seed (train, evaluate).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np


def parse_seeds(text: str) -> list[int]:
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",") if x]


def seed_all(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="train GEARS on a prepared dataset")
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--seeds", default="1..3")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--test-batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=int(os.environ.get("GEARS_THREADS", "2")))
    a = p.parse_args(argv)

    import anndata as ad
    import torch

    torch.set_num_threads(a.threads)
    from gears import GEARS, PertData
    from gears.inference import compute_metrics, deeper_analysis, evaluate, non_dropout_analysis

    work = a.work.resolve()
    data_path = work / "gears_data"
    for f in (
        "gene2go_all.pkl",
        "essential_all_data_pert_genes.pkl",
        "go_essential_all/go_essential_all.csv",
    ):
        if not (data_path / f).exists():  # GEARS would try Dataverse: never here
            raise SystemExit(f"{data_path / f} missing: run prepare.py first")
    times: dict = {"device": a.device, "threads": a.threads, "epochs": a.epochs, "seeds": {}}
    t0 = time.perf_counter()
    adata = ad.read_h5ad(work / "adata.h5ad")
    seed_all(0)  # GEARS pairs each perturbed cell with a random control cell here
    pert_data = PertData(str(data_path))
    pert_data.new_data_process(dataset_name="grape_dataset", adata=adata)
    times["process_s"] = round(time.perf_counter() - t0, 1)
    gene_ids = [str(g) for g in pert_data.adata.var_names]
    cn = dict(pert_data.adata.obs[["condition", "condition_name"]].astype(str).values)
    de20 = {
        c: [str(g) for g in pert_data.adata.uns["rank_genes_groups_cov_all"][cn[c]][:20]]
        for c in cn
        if c != "ctrl"
    }

    rows, own = [], {"gears_de20": de20, "seeds": {}}
    for seed in parse_seeds(a.seeds):
        t1 = time.perf_counter()
        pert_data.prepare_split(
            split="custom", seed=seed, split_dict_path=str(work / "splits" / f"seed{seed}.pkl")
        )
        seed_all(seed)
        pert_data.get_dataloader(batch_size=a.batch_size, test_batch_size=a.test_batch_size)
        # test conditions are evaluated below, once, with GEARS's own functions
        test_loader = pert_data.dataloader.pop("test_loader")
        model = GEARS(pert_data, device=a.device)
        model.model_initialize(hidden_size=a.hidden)
        model.train(epochs=a.epochs, lr=a.lr)
        t2 = time.perf_counter()
        res = evaluate(test_loader, model.best_model, False, a.device)
        metrics, per_pert = compute_metrics(res)
        deeper = deeper_analysis(pert_data.adata, res)
        non_drop = non_dropout_analysis(pert_data.adata, res)
        t3 = time.perf_counter()
        conds = sorted(set(res["pert_cat"].tolist()))
        for c in conds:
            idx = np.flatnonzero(res["pert_cat"] == c)
            mean = res["pred"][idx].mean(axis=0, dtype=np.float64)
            rows.append([c, seed, *mean.tolist()])
        per_cond = {}
        for c in conds:
            d = {k: _float(v) for k, v in per_pert[c].items()}
            d.update({k: _float(v) for k, v in deeper[c].items()})
            d.update({k: _float(v) for k, v in non_drop[c].items()})
            per_cond[c] = d
        keys = sorted({k for d in per_cond.values() for k in d})
        means = {
            k: _float(np.nanmean([d[k] for d in per_cond.values() if d.get(k) is not None]))
            for k in keys
        }
        means.update({f"compute_metrics_{k}": _float(v) for k, v in metrics.items()})
        own["seeds"][str(seed)] = {
            "mean": means,
            "per_condition": per_cond,
            "n_test_conditions": len(conds),
        }
        times["seeds"][str(seed)] = {"train_s": round(t2 - t1, 1), "evaluate_s": round(t3 - t2, 1)}
        print(
            f"[run_gears] seed {seed}: train {t2 - t1:.1f} s, evaluate {t3 - t2:.1f} s, "
            f"GEARS pearson_delta {means.get('pearson_delta', float('nan')):.4f}, "
            f"mse_de {means.get('mse_de', float('nan')):.4f}",
            flush=True,
        )
        import pandas as pd

        pd.DataFrame(rows, columns=["condition", "seed", *gene_ids]).to_csv(
            work / "gears_predictions.csv", index=False
        )
        (work / "gears_own_metrics.json").write_text(json.dumps(own))
        (work / "gears_times.json").write_text(json.dumps(times, indent=1))
    times["total_s"] = round(time.perf_counter() - t0, 1)
    (work / "gears_times.json").write_text(json.dumps(times, indent=1))
    import importlib.metadata as md

    import scipy
    import torch_geometric

    (work / "gears_versions.json").write_text(
        json.dumps(
            {
                "torch": torch.__version__,
                "cell-gears": md.version("cell-gears"),
                "torch-geometric": torch_geometric.__version__,
                "scipy": scipy.__version__,
                "numpy": np.__version__,
                "anndata": ad.__version__,
                "scanpy": md.version("scanpy"),
                "python": sys.version.split()[0],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
