"""``grape recovery``: how well GRAPE runs recover the planted edges of a SYNTHETIC dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, workspace
from grapekg.cli.console import console, table


def recovery(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="Run ids, folders, '@latest' or glob patterns over the complete runs in the graph "
            "(newest first), e.g. 'sim5k-simulation-grape-s*'."
        ),
    ],
    all_regulators: Annotated[
        bool,
        typer.Option(
            "--all-regulators",
            help="Score every perturbed gene, not only those unseen in training.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for recovery.csv and pr_curves.png (default: <data dir>/results/recovery)"
        ),
    ] = None,
) -> None:
    """AUPRC of learned edges (in-silico knock-down |delta|, K-hop graph) against the planted
    edges, beside GO-Jaccard and random rankings; mean ± sd over runs."""
    import pandas as pd

    from grapekg.app import recover as er

    def done(r: er.RunRecovery) -> None:
        console.print(
            f"[green]✓[/] {r.run_id}: {int(r.table.positives.iloc[0]):,} planted "
            f"of {int(r.table.pairs.iloc[0]):,} pairs"
        )

    ws = workspace()
    with open_store(ws.settings) as store:
        rec = er.recover(store, ws, runs, unseen_only=not all_regulators, out=out, on_run=done)
    which = "all perturbed genes" if all_regulators else "regulators unseen in training"
    console.print(
        table(
            f"Planted-edge recovery (SYNTHETIC data), {which}: AUPRC mean ± sd",
            ["model", "ranking", "AUPRC", "x positive rate", "positive rate", "runs"],
            [
                [
                    a.label,
                    a.ranking,
                    f"{a.auprc:.4f}" + ("" if pd.isna(a.sd) else f" ± {a.sd:.4f}"),
                    f"{a.x_random:.2f}",
                    f"{a.rate:.4f}",
                    a.runs,
                ]
                for a in rec.summary.itertuples()
            ],
        )
    )
    console.print(f"wrote {rec.table_file} and {rec.figure_file}")
