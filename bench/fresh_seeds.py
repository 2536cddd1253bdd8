"""GRAPE rows of the SYNTHETIC tables on seeds the tables never used (does a gain
designed while looking at seeds 1-5 hold on splits nobody looked at?).

    python bench/fresh_seeds.py --seeds 16..20 --models grape-anchor,grape-anchor-h2
        [--train | --train=grape-anchor-h2] [--dataset bench-learnable-1000-doubles --tag=-doubles]
        [--label-suffix -fresh16]

Needs the dataset that ``bench/synthetic_tables.py`` made and a running server. With
``--train`` it first runs ``grape train`` for each model with the switches of
``synthetic_tables.MODELS`` and the label ``<model><suffix>``; then it scores those labels
with ``grape evaluate`` beside the baselines and ceilings and writes
``bench/results/synthetic_<signal><tag>_fresh.{txt,json}`` (one file per design, replaced by
a re-run): per seed, for unseen singles,
doubles with both singles seen and all test conditions, the mean baseline, additive, the
models, the voted-sign ceiling and the oracle; the paired difference of every model with the
row it must beat; the fraction of the mean -> oracle gap closed. Every number is SYNTHETIC.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from real_data import OUT, ROOT, eval_folder, keep_summaries, run, seeds_of
from synthetic_tables import MODELS, SMALL, TARGETS, paired_targets, subgroup_scores

ROWS = ("mean", "additive", "ceiling:true-graph-vote-sign", "ceiling:oracle")
GROUPS = ("unseen_single", "combo_seen2", "all")


def seed_table(scores: dict, models: list[str], seeds: list[int]) -> str:
    """Per-seed lines of each subgroup, mean ± sd, the models' gap and paired differences."""
    lines = []
    for group in GROUPS:
        lines.append(f"\n{group:<32}" + "".join(f"{s:>8}" for s in seeds) + "   mean ± sd   gap")
        mean, oracle = scores["mean"][group], scores["ceiling:oracle"][group]
        for row in (*ROWS[:2], *models, *ROWS[2:]):
            v = scores.get(row, {}).get(group)
            if not v:
                continue
            m = sum(v) / len(v)
            sd = (sum((x - m) ** 2 for x in v) / max(len(v) - 1, 1)) ** 0.5
            gap = (m - sum(mean) / len(mean)) / (sum(oracle) / len(oracle) - sum(mean) / len(mean))
            cells = "".join(f"{x:8.3f}" for x in v)
            lines.append(f"  {row:<30}{cells}   {m:.3f} ± {sd:.3f}  {gap:+.2f}")
    lines.append("\npaired (model - rival, same seed):")
    for t in paired_targets({k: v for k, v in scores.items() if k in models or k in ROWS}):
        ratio = t["diff_mean"] / t["diff_sd"] if t["diff_sd"] > 0 else float("inf")
        lines.append(
            f"  {t['model']} vs {t['versus']} on {t['subgroup']}: {t['diff_mean']:+.3f} ± "
            f"{t['diff_sd']:.3f}, {t['seeds_won']}/{t['seeds']} seeds ({ratio:.1f} paired sd)"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="bench-learnable-1000")
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--label-suffix", default=None, help="default: -seeds<a>-<b>")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument(
        "--train",
        nargs="?",
        const="all",
        default=None,
        help="train the models first (all of --models, or the comma-separated ones given)",
    )
    ap.add_argument("--tag", default="", help="design tag in the file names, e.g. -doubles")
    args = ap.parse_args()
    seeds = seeds_of(args.seeds)
    tag = f"seeds{seeds[0]}-{seeds[-1]}"
    suffix = args.label_suffix if args.label_suffix is not None else f"-{tag}"
    models = args.models.split(",")
    data_dir = Path(os.environ.get("GRAPE_DATA_DIR") or ROOT / ".grape")
    folder = data_dir / "results" / args.dataset / "simulation"
    log: list[dict] = []
    times = {}
    to_train = [] if args.train is None else args.train.split(",")
    to_train = models if to_train == ["all"] else to_train
    for model in to_train:
        t = time.perf_counter()
        run(
            [
                "train", "--dataset", args.dataset, "--split", "simulation", "--seeds", args.seeds,
                "--epochs", str(args.epochs), *SMALL, *MODELS[model], "--label", model + suffix,
                "--no-evaluate", "--no-write-back",
            ],
            log,
        )  # fmt: skip
        times[model] = round((time.perf_counter() - t) / len(seeds), 1)
    signal = "learnable" if "learnable" in args.dataset else "random-sign"
    # one file per design: a re-run with other seeds replaces it, nothing is appended
    name = f"synthetic_{signal}{args.tag}_fresh"
    out = eval_folder(name)
    preds = [
        arg
        for model in models
        for arg in ("--predictions", f"{model}={folder / f'{model}{suffix}.parquet'}")
    ]
    run(
        [
            "evaluate", "--dataset", args.dataset, "--split", "simulation", "--seeds", args.seeds,
            *preds, "--out", str(out), "--format", "json",
        ],
        log,
    )  # fmt: skip
    scores = subgroup_scores(out)
    keep_summaries(out, name)
    text = (
        f"SYNTHETIC {signal} simulator ({args.dataset}), simulation split, seeds {args.seeds} "
        "(not used by the main tables); pcc_delta_de20_excl_pert, per seed the mean over the "
        "subgroup's test conditions; gap = (model - mean) / (oracle - mean) of the seed means"
        + seed_table(scores, models, seeds)
    )
    print(text, flush=True)
    (OUT / f"{name}.txt").write_text(text + "\n")
    (OUT / f"{name}.json").write_text(
        json.dumps(
            {
                "synthetic": True,
                "dataset": args.dataset,
                "seeds": seeds,
                "scores": scores,
                "targets": [t for t in paired_targets(scores) if t["model"] in models],
                "rivals": TARGETS,
                "seconds_per_seed": times,
                "commands": log,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
