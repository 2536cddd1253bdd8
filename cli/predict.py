"""``grape predict`` and ``grape report``: what a trained run predicts, and its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grapekg.cli.common import open_store, workspace
from grapekg.cli.console import console, table


def predict_cmd(
    run: Annotated[
        str, typer.Option(help="Run id (grape runs list), run folder, @latest or a pattern.")
    ],
    perturb: Annotated[
        list[str],
        typer.Option(
            help="A or A+B, repeatable: any KG gene (symbol, previous symbol, alias or Ensembl "
            "id), measured or not"
        ),
    ],
    out: Annotated[
        Path | None, typer.Option(help=".h5ad, .csv or .parquet (default: print top changes)")
    ] = None,
    top: Annotated[int, typer.Option(help="Genes shown per perturbation when printing.")] = 10,
) -> None:
    """Predict mean expression after knocking down genes (singles, doubles, unseen genes)."""
    from grapekg.app import predict as prediction

    ws = workspace()
    pred = prediction.predict_run(ws, run, perturb, open_store=lambda: open_store(ws.settings))
    if out is None:
        for c in pred.conditions:
            console.print(
                table(
                    f"{c}: largest predicted changes (run {pred.run_dir.name})",
                    ["gene", "symbol", "control", "predicted", "delta"],
                    [
                        [
                            x.gene,
                            x.symbol,
                            f"{x.control:.3f}",
                            f"{x.predicted:.3f}",
                            f"{x.delta:+.3f}",
                        ]
                        for x in prediction.top_changes(pred, c, top)
                    ],
                )
            )
        return
    prediction.write_predictions(pred, out)
    console.print(f"wrote {len(pred.conditions)} predicted profiles to {out}")


def report(
    run: Annotated[str, typer.Argument(help="Run id or folder.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: the run folder/report)")
    ] = None,
) -> None:
    """Figures of a run: UMAP of gene representations before/after training by biotype
    (GRAPE Fig. 3), per-condition violins (Fig. 4), ablation bars (Fig. 5). For a BioDSNN run:
    its training summary and where its evaluation tables are (the figures are GRAPE's)."""
    from grapekg.app.predict import biodsnn_summary
    from grapekg.app.report import report as make_report

    ws = workspace()
    summary = biodsnn_summary(ws, run)
    if summary is not None:
        console.print(
            table(
                f"BioDSNN run {summary['run']}",
                ["item", "value"],
                [[k, str(v)] for k, v in summary.items() if k != "run"],
            )
        )
        console.print(
            "grape report draws GRAPE's figures (UMAP of its HGAT representations, ablation "
            "bars); for a BioDSNN run it shows the run's summary above; the per-condition tables "
            "and violins are in the results folder (grape evaluate)"
        )
        return
    files = make_report(ws, run, out)
    for k, p in files.items():
        console.print(f"{k:<10} {p}")
