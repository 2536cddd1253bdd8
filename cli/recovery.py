"""``grape recovery``: how well GRAPE runs recover the planted edges of a SYNTHETIC dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, settings
from grapekg.cli.console import console, table


def recovery(
    runs: Annotated[list[str], typer.Argument(help="Run ids, folders, '@latest' or glob patterns, e.g. 'sim5k-simulation-grape-s*'.")],
    all_regulators: Annotated[bool, typer.Option("--all-regulators", help="Score every perturbed gene, not only those unseen in training.")] = False,
    out: Annotated[Path | None, typer.Option(help="Folder for recovery.csv and pr_curves.png (default: <data dir>/results/recovery)")] = None,
) -> None:
    """AUPRC of learned edges (in-silico knock-down |delta|, K-hop graph) against the planted
    edges, beside GO-Jaccard and random rankings; mean ± sd over runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from grapekg.app import recover as er

    s = settings()
    dirs = er.resolve_runs(s, runs)
    results = []
    terms: dict[str, dict[str, list[str]]] = {}  # GO terms per dataset, read once each
    with open_store(s) as store:
        for d in dirs:
            dataset = json.loads((d / "run.json").read_text())["dataset"]
            if dataset not in terms:
                genes = json.loads((d / "meta.json").read_text())["gene_ids"]
                terms[dataset] = er.go_terms(store, [str(g) for g in genes])
            r = er.recover_run(store, s, d, unseen_only=not all_regulators, terms=terms[dataset])
            console.print(f"[green]✓[/] {r.run_id}: {int(r.table.positives.iloc[0]):,} planted "
                          f"of {int(r.table.pairs.iloc[0]):,} pairs")
            results.append(r)
    frame = pd.concat([r.table.assign(run=r.run_id, label=r.label, seed=r.seed) for r in results],
                      ignore_index=True)
    folder = out or s.data_dir / "results" / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "recovery.csv", index=False)
    agg = frame.groupby(["label", "ranking"], sort=False).agg(
        auprc=("auprc", "mean"), sd=("auprc", "std"), x_random=("x_random", "mean"),
        rate=("positive_rate", "mean"), runs=("run", "nunique")).reset_index()
    which = "all perturbed genes" if all_regulators else "regulators unseen in training"
    console.print(table(f"Planted-edge recovery (SYNTHETIC data), {which}: AUPRC mean ± sd",
                        ["model", "ranking", "AUPRC", "x positive rate", "positive rate", "runs"],
                        [[a.label, a.ranking, f"{a.auprc:.4f}"
                          + ("" if pd.isna(a.sd) else f" ± {a.sd:.4f}"), f"{a.x_random:.2f}",
                          f"{a.rate:.4f}", a.runs] for a in agg.itertuples()]))
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, (rec, prec) in results[0].curves.items():
        ax.plot(rec, prec, label=name)
    ax.axhline(results[0].table.positive_rate.iloc[0], color="grey", ls="--", label="random")
    ax.set(xlabel="recall", ylabel="precision", yscale="log")
    ax.set_title(f"Planted-edge recovery, {results[0].run_id}\n(SYNTHETIC data)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "pr_curves.png", dpi=120)
    plt.close(fig)
    console.print(f"wrote {folder / 'recovery.csv'} and {folder / 'pr_curves.png'}")
