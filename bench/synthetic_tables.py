"""SYNTHETIC accuracy tables with ceilings: both simulator signals, the baselines,
the ceilings, GRAPE as the paper has it, its named variants, and BioDSNN, over seeds on the
GEARS ``simulation`` split (held-out conditions only), per test subgroup.

    python bench/synthetic_tables.py [--genes 1000] [--conditions 100] [--seeds 1..5]
        [--signals learnable,random-sign] [--models grape,grape-shock,biodsnn,grape-vote,
        grape-anchor,grape-anchor-h2,grape-lp,biodsnn-sign]
        [--epochs 20] [--reuse]

Each model is a run label of :data:`variants.VARIANTS`, trained with ``grape train --variant``
(``grape-plus`` is accepted for ``grape-shock``, the variant ``shock``).

Needs a running server with the KG (``grape db start``; ``grape kg build`` when the graph has
no genes). Everything goes through the ``grape`` command. Writes
``bench/results/synthetic_<signal>.{txt,json}`` and ``synthetic_<signal>.png``: per model and
subgroup (unseen_single, combo_seen0/1/2) the mean ± sd over seeds of pcc_delta_de20 with the
perturbed genes excluded and the fraction of the mean -> oracle gap closed, plus the planted-edge
recovery (AUPRC) of the GRAPE runs, the paired comparison of every GRAPE row with the row it
must beat (mean on unseen singles, additive on doubles with both singles seen), the
time per run and the commands. Every number is on SYNTHETIC data.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from real_data import OUT, ROOT, eval_folder, keep_summaries, run, seeds_of
from variants import ALIASES, VARIANTS, labels, small

METRIC = "pcc_delta_de20_excl_pert"
#: the targets: (subgroup, the row a model must beat)
TARGETS = [("unseen_single", "mean"), ("combo_seen2", "additive")]


def subgroup_scores(folder: Path) -> dict[str, dict[str, list[float]]]:
    """model -> subgroup -> per-seed mean of :data:`METRIC` over that subgroup's conditions
    (``all`` = every test condition), from ``per_condition.csv``."""
    import pandas as pd

    pc = pd.read_csv(folder / "per_condition.csv")
    pc = pc[pc["metric"] == METRIC]
    out: dict[str, dict[str, list[float]]] = {}
    for key, frame in (
        ("all", pc),
        *((g, pc[pc["subgroup"] == g]) for g in pc["subgroup"].unique()),
    ):
        agg = frame.groupby(["model", "seed"])["value"].mean().reset_index()
        for model, g in agg.groupby("model"):
            out.setdefault(str(model), {})[str(key)] = [
                float(v) for v in g.sort_values("seed")["value"]
            ]
    return out


def with_gaps(scores: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, dict]]:
    """mean ± sd over seeds of the score and of gap = (s - mean) / (oracle - mean) per seed."""
    import numpy as np

    base, top = scores.get("mean", {}), scores.get("ceiling:oracle", {})
    out: dict[str, dict[str, dict]] = {}
    for model, groups in scores.items():
        for group, vals in groups.items():
            v = np.array(vals)
            row = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0}
            b, t = np.array(base.get(group, [])), np.array(top.get(group, []))
            if b.size == v.size and t.size == v.size and v.size:
                gap = (v - b) / np.where(np.abs(t - b) > 1e-9, t - b, np.nan)
                row["gap"] = float(np.nanmean(gap))
                row["gap_sd"] = float(np.nanstd(gap, ddof=1)) if v.size > 1 else 0.0
            out.setdefault(model, {})[group] = row
    return out


def paired_targets(scores: dict[str, dict[str, list[float]]]) -> list[dict]:
    """Per GRAPE-family model and target of :data:`TARGETS`: the per-seed paired difference
    (model − row to beat), its mean and sd over seeds, seeds won, and whether the mean
    difference exceeds twice the sd of the paired difference and twice the model's seed sd."""
    import numpy as np

    out = []
    for model, groups in scores.items():
        if not model.startswith("grape"):
            continue
        for group, rival in TARGETS:
            a, b = groups.get(group), scores.get(rival, {}).get(group)
            if not a or not b or len(a) != len(b):
                continue
            d = np.array(a) - np.array(b)
            sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
            model_sd = float(np.std(a, ddof=1)) if len(a) > 1 else 0.0
            out.append(
                {
                    "model": model,
                    "subgroup": group,
                    "versus": rival,
                    "diff_mean": float(d.mean()),
                    "diff_sd": sd,
                    "seeds_won": int((d > 0).sum()),
                    "seeds": int(d.size),
                    "beyond_2sd_paired": bool(d.mean() > 2 * sd),
                    "beyond_2sd_model": bool(d.mean() > 2 * model_sd),
                }
            )
    return out


def recovery_summary(path: Path) -> dict[str, dict[str, float]]:
    """ranking -> mean and sd over runs of the planted-edge AUPRC (``grape recovery``)."""
    import pandas as pd

    g = pd.read_csv(path).groupby("ranking")["auprc"]
    mean, sd = g.mean(), g.std().fillna(0.0)
    return {str(k): {"mean": float(mean[k]), "sd": float(sd[k])} for k in mean.index}


def table_text(title: str, summ: dict[str, dict[str, dict]], groups: list[str]) -> str:
    lines = [title, f"{'model':<30}" + "".join(f"{g:>30}" for g in groups)]
    for model, row in summ.items():
        cells = []
        for g in groups:
            s = row.get(g)
            cells.append(
                f"{'-':>30}"
                if s is None
                else f"{s['mean']:.3f}±{s['sd']:.3f} gap {s.get('gap', float('nan')):+.2f}".rjust(
                    30
                )
            )
        lines.append(f"{model:<30}" + "".join(cells))
    return "\n".join(lines)


def figure(summ: dict[str, dict[str, dict]], groups: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(summ)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(models), 3.8))
    width = 0.8 / max(len(groups), 1)
    for i, g in enumerate(groups):
        vals = [summ[m].get(g, {}).get("mean", np.nan) for m in models]
        errs = [summ[m].get(g, {}).get("sd", 0.0) for m in models]
        ax.bar(np.arange(len(models)) + i * width, vals, width, yerr=errs, label=g)
    ax.set_xticks(
        np.arange(len(models)) + 0.4 - width / 2, models, rotation=40, ha="right", fontsize=8
    )
    ax.set_ylabel(f"{METRIC} (mean over seeds)", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genes", type=int, default=1000)
    ap.add_argument("--conditions", type=int, default=100)
    ap.add_argument("--combos", type=float, default=0.4, help="fraction of doubles")
    ap.add_argument(
        "--tag",
        default="",
        help="suffix of the dataset and result names (a second design beside the main one)",
    )
    ap.add_argument("--seeds", default="1..5")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--signals", default="learnable,random-sign")
    ap.add_argument(
        "--models",
        default=",".join(VARIANTS),
        help="run labels to train now (bench/variants.py), or none",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the simulated dataset and score every model of an earlier run beside "
        "those trained now (their prediction files and recovery figures)",
    )
    args = ap.parse_args()
    seeds = seeds_of(args.seeds)
    trained = [] if args.models == "none" else labels(args.models, ap)
    log: list[dict] = []
    status = json.loads(run(["kg", "status", "--format", "json"], log).stdout)
    if not (status.get("labels", {}) if isinstance(status, dict) else {}).get("Gene"):
        run(["kg", "build"], log)
    data_dir = Path(os.environ.get("GRAPE_DATA_DIR") or ROOT / ".grape")
    for signal in args.signals.split(","):
        name = f"bench-{signal}-{args.genes}{args.tag}"
        stem = f"synthetic_{signal}{args.tag}"
        folder = data_dir / "results" / name / "simulation"
        earlier = OUT / f"{stem}.json"
        recovery = (
            json.loads(earlier.read_text()).get("recovery", {})
            if args.reuse and earlier.exists()
            else {}
        )
        times = (
            json.loads(earlier.read_text()).get("seconds_per_seed", {})
            if args.reuse and earlier.exists()
            else {}
        )
        #: with --reuse the earlier run's commands stay on record before this run's
        commands = (
            json.loads(earlier.read_text()).get("commands", [])
            if args.reuse and earlier.exists()
            else []
        )
        if not args.reuse:
            run(
                [
                    "data", "simulate", "--genes", str(args.genes), "--conditions",
                    str(args.conditions), "--combos", str(args.combos),
                    "--cells-per-condition", "50", "--seed", "0",
                    "--signal", signal, "--name", name,
                ],
                log,
            )  # fmt: skip
        run(["features", "compute", "--modality", "text", "--genes", f"dataset:{name}"], log)
        for model in trained:
            t = time.perf_counter()
            p = run(
                [
                    "train", "--dataset", name, "--split", "simulation", "--seeds", args.seeds,
                    "--epochs", str(args.epochs), *small(model), "--label", model,
                    "--no-evaluate", *(["--no-write-back"] if model != "grape" else []),
                ],
                log,
            )  # fmt: skip
            times[model] = round((time.perf_counter() - t) / len(seeds), 1)
            if model.startswith("grape"):
                ids = [
                    ln.split()[1].rstrip(":") for ln in p.stdout.splitlines() if ln.startswith("✓ ")
                ]
                rec_dir = OUT / f"{stem}_recovery" / model
                run(["recovery", *ids, "--out", str(rec_dir)], log)
                recovery[model] = recovery_summary(rec_dir / "recovery.csv")
        preds = [
            arg
            # with --reuse also the predictions an earlier run saved under an old label
            for model in (*VARIANTS, *ALIASES)
            if (model in trained or args.reuse) and (folder / f"{model}.parquet").exists()
            for arg in ("--predictions", f"{model}={folder / f'{model}.parquet'}")
        ]
        out = eval_folder(stem)
        run(
            [
                "evaluate", "--dataset", name, "--split", "simulation", "--seeds", args.seeds,
                *preds, "--out", str(out), "--format", "json",
            ],
            log,
        )  # fmt: skip
        keep_summaries(out, stem)
        summ = with_gaps(subgroup_scores(out))
        groups = ["all"] + sorted({g for r in summ.values() for g in r} - {"all"})
        title = (
            f"SYNTHETIC {signal} simulator, {args.genes} genes, {args.conditions} conditions "
            f"({args.combos:.0%} doubles), simulation split, seeds {args.seeds}: {METRIC} "
            "mean±sd, gap = fraction of the mean->oracle gap closed"
        )
        text = table_text(title, summ, groups)
        targets = paired_targets(subgroup_scores(out))
        text += "\n\ntargets (paired over seeds: model - rival on the same seed):"
        for t in targets:
            text += (
                f"\n  {t['model']} vs {t['versus']} on {t['subgroup']}: "
                f"{t['diff_mean']:+.3f} ± {t['diff_sd']:.3f}, {t['seeds_won']}/{t['seeds']} "
                f"seeds; > 2 sd (paired) {t['beyond_2sd_paired']}, "
                f"> 2 model seed sd {t['beyond_2sd_model']}"
            )
        text += "\n\nseconds per seed (train): " + json.dumps(times)
        for model, rec in recovery.items():
            text += f"\nplanted-edge AUPRC, {model} runs: " + ", ".join(
                f"{k} {v['mean']:.4f}±{v['sd']:.4f}" for k, v in rec.items()
            )
        print(text, flush=True)
        (OUT / f"{stem}.txt").write_text(text + "\n")
        (OUT / f"{stem}.json").write_text(
            json.dumps(
                {
                    "synthetic": True,
                    "signal": signal,
                    "genes": args.genes,
                    "conditions": args.conditions,
                    "combos": args.combos,
                    "seeds": seeds,
                    "metric": METRIC,
                    "summary": summ,
                    "seconds_per_seed": times,
                    "recovery": recovery,
                    "targets": targets,
                    "commands": [*commands, *log],
                },
                indent=1,
            )
        )
        figure(summ, groups, f"SYNTHETIC {signal}", OUT / f"{stem}.png")


if __name__ == "__main__":
    main()
