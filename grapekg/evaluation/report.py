"""Figures of a GRAPE run (PNG): gene representations before/after training (GRAPE Fig. 3),
per-condition accuracy (Fig. 4) and ablations beside the baselines (Fig. 5).

The representations are computed by the caller (:mod:`grapekg.app.report`) and passed in as
arrays; the other figures read the evaluation tables of the run's dataset and split (on a SYNTHETIC
dataset with saved truth these include the ``ceiling:*`` rows, drawn in their own colour).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def make_report(
    run_name: str,
    info: Mapping[str, Any],
    before: np.ndarray,
    after: np.ndarray,
    bio: Sequence[str],
    results_dir: Path,
    out: Path,
) -> dict[str, Path]:
    """Write the figures into ``out``; returns name -> file of those written.

    Args:
        run_name: the run's id (figure titles). info: its ``run.json`` ({} if none).
        before, after: ``[N, d]`` gene representations before training (input features)
            and after (the HGAT output of the unperturbed pass). bio: biotype class per gene.
        results_dir: the evaluation folder of the run's dataset and split
            (``per_condition.csv``, ``summary.json``; figures without them are skipped).
    """
    import umap

    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    tag = " (SYNTHETIC data)" if info.get("synthetic") else ""
    files: dict[str, Path] = {}
    colours = np.array(["tab:blue" if b == "c" else "tab:orange" for b in bio])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, mat, title in (
        (axes[0], before, "before training (text features)"),
        (axes[1], after, "after training (HGAT output)"),
    ):
        # a seed makes UMAP single-threaded anyway; saying n_jobs=1 keeps it from warning so
        emb = umap.UMAP(n_neighbors=15, random_state=0, n_jobs=1).fit_transform(mat)
        for cls, col in (("c", "tab:blue"), ("nc", "tab:orange")):
            sel = colours == col
            ax.scatter(
                emb[sel, 0],
                emb[sel, 1],
                s=3,
                c=col,
                alpha=0.6,
                label=f"{'coding' if cls == 'c' else 'non-coding'} ({int(sel.sum())})",
            )
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=8, markerscale=3)
    fig.suptitle(f"UMAP of gene representations, run {run_name}{tag}", fontsize=9)
    fig.tight_layout()
    files["umap"] = out / "umap_biotype.png"
    fig.savefig(files["umap"], dpi=120)
    plt.close(fig)
    res_dir = results_dir
    pc_file = res_dir / "per_condition.csv"
    if pc_file.exists():
        pc = pd.read_csv(pc_file)
        pc = pc[(pc.seed == info.get("seed")) & pc.metric.isin(["dac", "pcc_delta"])]
        models = list(dict.fromkeys(pc.model))
        fig, axes = plt.subplots(1, 2, figsize=(3 + 1.3 * len(models), 4.2))
        for ax, metric in zip(axes, ("dac", "pcc_delta"), strict=True):
            data = [
                pc[(pc.model == m) & (pc.metric == metric)]["value"].dropna().to_numpy()
                for m in models
            ]
            ax.violinplot([d if len(d) else [np.nan] for d in data], showmedians=True)
            ax.set_xticks(range(1, len(models) + 1), models, rotation=35, ha="right", fontsize=8)
            ax.set_title(metric)
        fig.suptitle(f"per test condition, seed {info.get('seed')}{tag}", fontsize=9)
        fig.tight_layout()
        files["violins"] = out / "violins.png"
        fig.savefig(files["violins"], dpi=120)
        plt.close(fig)
    sj = res_dir / "summary.json"
    if sj.exists():
        summ = json.loads(sj.read_text())["models"]
        models = list(summ)
        fig, axes = plt.subplots(1, 2, figsize=(3 + 1.2 * len(models), 4.2))
        for ax, metric in zip(axes, ("pcc_delta", "dac_de20"), strict=True):
            means = [summ[m].get(f"{metric}_mean") or 0.0 for m in models]
            sds = [summ[m].get(f"{metric}_sd") or 0.0 for m in models]
            cols = [
                "tab:green"
                if m.startswith("grape")
                else "tab:purple"
                if m.startswith("ceiling:")  # SYNTHETIC truth, not a model
                else "tab:gray"
                for m in models
            ]
            ax.bar(range(len(models)), means, yerr=sds, color=cols, capsize=3)
            ax.set_xticks(range(len(models)), models, rotation=35, ha="right", fontsize=8)
            ax.set_title(f"{metric} (mean ± sd over seeds)")
        fig.suptitle(f"GRAPE, ablations and baselines{tag}", fontsize=9)
        fig.tight_layout()
        files["ablation"] = out / "ablations.png"
        fig.savefig(files["ablation"], dpi=120)
        plt.close(fig)
    return files
