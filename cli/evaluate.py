"""``grape evaluate``: baselines (and prediction files) on a dataset, mean ± sd over seeds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from grapekg.cli.common import open_store, parse_seeds, workspace
from grapekg.cli.console import check_format, console, progress_counter, table
from grapekg.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from grapekg.app.evaluate import Evaluation, GroupEvaluation


def parse_predictions(items: list[str]) -> list[tuple[str, Path]]:
    """``NAME=FILE`` options as (label, file) pairs."""
    out = []
    for item in items:
        label, sep, file = item.partition("=")
        if not sep:
            raise ConfigError(f"--predictions '{item}': expected NAME=FILE")
        out.append((label, Path(file)))
    return out


def header(model: str) -> str:
    """A model's column header: a ceiling's label on two lines (``ceiling:`` / its name)."""
    head, sep, rest = str(model).partition(":")
    return f"{head}:\n{rest}" if sep and head == "ceiling" else str(model)


def model_chunks(tab: pd.DataFrame, width: int) -> list[list[str]]:
    """Models (rows of ``tab``) in groups whose metrics-by-model table fits ``width``
    columns (a rich table column is its widest line + 3: padding and border)."""
    left = max([len("metric"), *(len(m) for m in tab.columns)]) + 4
    chunks: list[list[str]] = [[]]
    used = left
    for model in tab.index:
        lines = header(str(model)).split("\n")
        w = max([*(len(x) for x in lines), *(len(str(v)) for v in tab.loc[model])]) + 3
        if chunks[-1] and used + w > width:
            chunks.append([])
            used = left
        chunks[-1].append(str(model))
        used += w
    return chunks


#: fewer test conditions than this per seed and the table warns that its means are noise
MIN_TEST_CONDITIONS = 5


def scored_conditions(per_condition: pd.DataFrame) -> tuple[int, int]:
    """(fewest, most) test conditions scored in one seed (a group's conditions counted per
    context)."""
    if per_condition is None or per_condition.empty or "condition" not in per_condition:
        return 0, 0
    keys = ["seed", *(["context"] if "context" in per_condition.columns else []), "condition"]
    per_seed = per_condition.drop_duplicates(keys).groupby("seed").size()
    return int(per_seed.min()), int(per_seed.max())


def scored_line(per_condition: pd.DataFrame) -> str:
    """``scored on N test conditions`` (``N-M ... per seed`` when the seeds differ)."""
    lo, hi = scored_conditions(per_condition)
    n = str(lo) if lo == hi else f"{lo}-{hi}"
    return f"scored on {n} test condition{'' if hi == 1 else 's'}" + (
        " per seed" if lo != hi else ""
    )


def print_evaluation(evaluation: Evaluation, title: str) -> None:
    """The metrics-by-model table (metrics as rows, models as columns), split into several
    tables of fewer models when they would not fit the terminal, then the notes (what the
    models were fitted on, n/a conditions, targets without a KG embedding). Every title says
    on how many test conditions it was scored, and fewer than :data:`MIN_TEST_CONDITIONS`
    per seed is warned about."""
    from grapekg.app.evaluate import DISPLAY_NAMES

    tab = evaluation.result.table(digits=3).rename(columns=DISPLAY_NAMES)
    per_condition = evaluation.result.per_condition
    title = f"{title}; {scored_line(per_condition)}"
    chunks = model_chunks(tab, console.width)
    for i, models in enumerate(chunks):
        part = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        rows = [[m, *tab.loc[models, m]] for m in tab.columns]
        console.print(table(title + part, ["metric", *map(header, models)], rows))
    for note in evaluation.result.notes:
        console.print(f"note: {note}", overflow="fold")
    fewest = scored_conditions(per_condition)[0]
    if fewest < MIN_TEST_CONDITIONS:
        console.print(
            f"[yellow]warning:[/] only {fewest} test condition{'' if fewest == 1 else 's'} in a "
            f"seed (fewer than {MIN_TEST_CONDITIONS}): a mean over so few is mostly noise; use a "
            "split with more test conditions",
            highlight=False,
        )


def print_group(group: GroupEvaluation, title: str) -> None:
    """One table per context, then the pooled "overall" one."""
    for member, e in group.members.items():
        print_evaluation(e, f"{member}: {title}")
    print_evaluation(group.overall, f"{group.name} overall (pooled over contexts): {title}")


def evaluate(
    dataset: Annotated[
        str,
        typer.Option(
            help="Dataset name (grape data list), or a group NAME (datasets NAME@<context>): "
            "each context and overall."
        ),
    ],
    split: Annotated[
        str,
        typer.Option(
            help="random (GRAPE 70/30), simulation (GEARS), combo (Norman: singles + half "
            "the doubles train) or FILE.json (train/val/test lists)."
        ),
    ] = "simulation",
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 1..5.")] = "1..5",
    predictions: Annotated[
        list[str], typer.Option(help="NAME=FILE (.h5ad, .csv, .tsv, .parquet), repeatable.")
    ] = [],  # noqa: B006
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: <data dir>/results/DATASET/SPLIT).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="table, or json / csv: print summary.json / summary.csv (for a group, the "
            "pooled one) on stdout instead of the table",
        ),
    ] = "table",
) -> None:
    """Score the six baselines (no-change, mean, additive, linear, linear-kg, kg-retrieval) and any
    predictions; a dataset group (NAME of datasets NAME@<context>) per context and overall.
    A simulated (SYNTHETIC) dataset also gets its ceilings (mean+self, true graph with
    average sign, oracle) and the gap row: the fraction of the mean -> oracle gap closed."""
    from grapekg.app import evaluate as evaluation

    check_format(fmt)
    ws = workspace()
    seed_list = parse_seeds(seeds)
    pairs = parse_predictions(predictions)
    with open_store(ws.settings) as store:
        members = evaluation.group_members(store, ws, dataset)
        if members:
            group = evaluation.evaluate_group(
                store,
                ws,
                dataset,
                members,
                split,
                seed_list,
                pairs,
                out=out,
                progress=progress_counter if fmt == "table" else None,
            )
        else:
            bundle = evaluation.load_bundle(store, ws, dataset)
            res = evaluation.evaluate(
                ws,
                bundle,
                dataset,
                split,
                seed_list,
                pairs,
                out=out,
                progress=progress_counter if fmt == "table" else None,
                store=store,
            )
    if fmt != "table":
        files = group.overall.files if members else res.files
        key = next(k for k in files if k.startswith("summary") and k.endswith(fmt))
        sys.stdout.write(Path(files[key]).read_text())
        return
    if members:
        tag = " — SYNTHETIC data" if group.overall.result.synthetic else ""
        print_group(group, f"{split} split, seeds {seeds}: mean ± sd over seeds{tag}")
        files = {f"{m}/{k}": p for m, e in group.members.items() for k, p in e.files.items()}
        files |= {f"overall/{k}": p for k, p in group.overall.files.items()}
    else:
        tag = " — SYNTHETIC data" if res.result.synthetic else ""
        print_evaluation(res, f"{dataset}, {split} split, seeds {seeds}: mean ± sd over seeds{tag}")
        files = res.files
    for k, p in files.items():
        console.print(f"{k:<14} {p}", overflow="fold")
