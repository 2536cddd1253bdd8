"""Figures of a GRAPE run (PNG): gene representations before/after training (GRAPE Fig. 3),
per-condition accuracy (Fig. 4) and ablations beside the baselines (Fig. 5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@torch.no_grad()
def representations(run_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(input text features, final HGAT representations of the unperturbed pass, biotypes)."""
    from grapekg.model.grape.train import load_model

    model, graph = load_model(run_dir)
    z = model.encode()
    state = model.graph_state(z)
    after = model.hgat(z["fus"][None], state.relations, model.is_coding)[-1][0].numpy()
    before = (graph.text if graph.text is not None else z["fus"]).numpy()
    return before, after, list(graph.biotype)


def make_report(run_dir: Path, out: Path, data_dir: Path) -> dict[str, Path]:
    import umap

    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    tag = " (SYNTHETIC data)" if info.get("synthetic") else ""
    files: dict[str, Path] = {}
    before, after, bio = representations(run_dir)
    colours = np.array(["tab:blue" if b == "c" else "tab:orange" for b in bio])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, mat, title in ((axes[0], before, "before training (text features)"),
                           (axes[1], after, "after training (HGAT output)")):
        emb = umap.UMAP(n_neighbors=15, random_state=0).fit_transform(mat)
        for cls, col in (("c", "tab:blue"), ("nc", "tab:orange")):
            sel = colours == col
            ax.scatter(emb[sel, 0], emb[sel, 1], s=3, c=col, alpha=0.6,
                       label=f"{'coding' if cls == 'c' else 'non-coding'} ({int(sel.sum())})")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=8, markerscale=3)
    fig.suptitle(f"UMAP of gene representations, run {run_dir.name}{tag}", fontsize=9)
    fig.tight_layout()
    files["umap"] = out / "umap_biotype.png"
    fig.savefig(files["umap"], dpi=120)
    plt.close(fig)
    res_dir = data_dir / "results" / info.get("dataset", "?") / info.get("split", "?")
    pc_file = res_dir / "per_condition.csv"
    if pc_file.exists():
        pc = pd.read_csv(pc_file)
        pc = pc[(pc.seed == info.get("seed")) & pc.metric.isin(["dac", "pcc_delta"])]
        models = list(dict.fromkeys(pc.model))
        fig, axes = plt.subplots(1, 2, figsize=(3 + 1.3 * len(models), 4.2))
        for ax, metric in zip(axes, ("dac", "pcc_delta"), strict=True):
            data = [pc[(pc.model == m) & (pc.metric == metric)]["value"].dropna().to_numpy()
                    for m in models]
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
            cols = ["tab:green" if m.startswith("grape") else "tab:gray" for m in models]
            ax.bar(range(len(models)), means, yerr=sds, color=cols, capsize=3)
            ax.set_xticks(range(len(models)), models, rotation=35, ha="right", fontsize=8)
            ax.set_title(f"{metric} (mean ± sd over seeds)")
        fig.suptitle(f"GRAPE, ablations and baselines{tag}", fontsize=9)
        fig.tight_layout()
        files["ablation"] = out / "ablations.png"
        fig.savefig(files["ablation"], dpi=120)
        plt.close(fig)
    return files
