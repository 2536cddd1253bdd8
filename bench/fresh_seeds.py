"""GRAPE rows of the SYNTHETIC tables on seeds the tables never used (does a gain
designed while looking at the tables' seeds hold on splits nobody looked at?).

    python bench/fresh_seeds.py --seeds 6..25 --models grape-anchor,grape-lp
        [--train | --train=grape-lp] [--dataset bench-learnable-1000-doubles --tag=-doubles]
        [--label-suffix -fresh]
    python bench/fresh_seeds.py --from-summaries OLD.json [OLD.json ...] [--tag=-doubles]

Needs the dataset that ``bench/synthetic_tables.py`` made and a running server. With
``--train`` it first runs ``grape train`` for each model (a run label of ``bench/variants.py``:
its ``--variant``) with the label ``<model><suffix>``; then it scores those labels with
``grape evaluate`` beside the baselines and ceilings and writes
``bench/results/synthetic_<signal><tag>_fresh.{txt,json}`` (one file per design, replaced by
a re-run, so a re-run names every fresh seed it reports): per seed, for unseen singles,
doubles with both singles seen and all test conditions, the mean baseline, additive, the
models, the voted-sign ceiling and the oracle; the paired difference of every model with the
row it must beat; the fraction of the mean -> oracle gap closed. Every number is SYNTHETIC.

``--from-summaries`` trains and scores nothing: it merges the per-seed scores of earlier
result files of this script (one design, disjoint seeds) into the same one file per design,
each source kept with its seeds, commands, notes, planted-edge recovery and evaluation summary,
so results measured on separate seed ranges are read as one table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from real_data import OUT, ROOT, eval_folder, keep_summaries, portable, run, seeds_of
from synthetic_tables import METRIC, TARGETS, paired_targets
from variants import labels, small

ROWS = ("mean", "additive", "ceiling:true-graph-vote-sign", "ceiling:oracle")
GROUPS = ("unseen_single", "combo_seen2", "all")
#: model -> subgroup -> seed -> score
BySeed = dict[str, dict[str, dict[int, float]]]


def by_seed(
    scores: dict[str, dict[str, list]], seeds: list[int], dropped: list[dict] | None = None
) -> BySeed:
    """Lists aligned with ``seeds`` (None where a model was not run) -> seed-keyed scores. A
    list shorter than ``seeds`` (a subgroup with no test condition on some seed, in files that
    did not mark which) cannot be placed: it is left out and named in ``dropped``."""
    out: BySeed = {}
    for model, groups in scores.items():
        for group, vals in groups.items():
            if len(vals) != len(seeds):
                if dropped is not None:
                    dropped.append({"row": model, "subgroup": group, "values": vals})
                continue
            out.setdefault(model, {})[group] = {
                s: float(v) for s, v in zip(seeds, vals, strict=True) if v is not None
            }
    return out


def seed_scores(folder: Path) -> BySeed:
    """model -> subgroup -> seed -> mean of :data:`METRIC` over that subgroup's test conditions
    (``all`` = every test condition), from the ``per_condition.csv`` of ``grape evaluate``."""
    import pandas as pd

    pc = pd.read_csv(folder / "per_condition.csv")
    pc = pc[pc["metric"] == METRIC]
    out: BySeed = {}
    for key, frame in (("all", pc), *pc.groupby("subgroup")):
        for (model, seed), value in frame.groupby(["model", "seed"])["value"].mean().items():
            out.setdefault(str(model), {}).setdefault(str(key), {})[int(seed)] = float(value)
    return out


def aligned(scores: BySeed, seeds: list[int]) -> dict[str, dict[str, list]]:
    """Seed-keyed scores -> lists aligned with ``seeds``, None where a model was not run."""
    return {
        model: {group: [vals.get(s) for s in seeds] for group, vals in groups.items()}
        for model, groups in scores.items()
    }


def paired(scores: BySeed, models: list[str]) -> list[dict]:
    """:func:`synthetic_tables.paired_targets` of each model, over the seeds it shares with
    the row it must beat."""
    out = []
    for model in models:
        for group, rival in TARGETS:
            a, b = scores.get(model, {}).get(group, {}), scores.get(rival, {}).get(group, {})
            common = sorted(set(a) & set(b))
            if common:
                sub = {
                    model: {group: [a[s] for s in common]},
                    rival: {group: [b[s] for s in common]},
                }
                out += [{**t, "seed_list": common} for t in paired_targets(sub)]
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def seed_table(scores: BySeed, models: list[str], seeds: list[int]) -> str:
    """Per subgroup one line per seed and row (blank where a row was not run on that seed),
    then mean ± sd and the gap of each row over its own seeds, and the paired differences."""
    lines = []
    rows = [r for r in (*ROWS[:2], *models, *ROWS[2:]) if r in scores]
    widths = {r: max(13, len(r) + 2) for r in rows}
    for group in GROUPS:
        present = [r for r in rows if scores[r].get(group)]
        if not present:
            continue
        lines.append(f"\n{group}\n  {'seed':<6}" + "".join(f"{r:>{widths[r]}}" for r in present))
        for s in seeds:
            cells = [scores[r][group].get(s) for r in present]
            if any(c is not None for c in cells):
                lines.append(
                    f"  {s:<6}"
                    + "".join(
                        f"{'':>{widths[r]}}" if c is None else f"{c:>{widths[r]}.3f}"
                        for r, c in zip(present, cells, strict=True)
                    )
                )
        stats, gaps = [], []
        base, top = (
            scores.get("mean", {}).get(group, {}),
            scores.get("ceiling:oracle", {}).get(group, {}),
        )
        for r in present:
            v = scores[r][group]
            m = _mean(list(v.values()))
            sd = (sum((x - m) ** 2 for x in v.values()) / max(len(v) - 1, 1)) ** 0.5
            stats.append(f"{m:.3f}±{sd:.3f}".rjust(widths[r]))
            common = [s for s in v if s in base and s in top]
            if common:
                b, t = _mean([base[s] for s in common]), _mean([top[s] for s in common])
                g = (_mean([v[s] for s in common]) - b) / (t - b)
                gaps.append(f"{g:+.2f} ({len(common)})".rjust(widths[r]))
            else:
                gaps.append(f"{'-':>{widths[r]}}")
        lines.append(f"  {'mean':<6}" + "".join(stats))
        lines.append(f"  {'gap':<6}" + "".join(gaps))
    lines.append("\npaired (model - rival, on the seeds both were run):")
    for t in paired(scores, models):
        ratio = t["diff_mean"] / t["diff_sd"] if t["diff_sd"] > 0 else float("inf")
        lines.append(
            f"  {t['model']} vs {t['versus']} on {t['subgroup']}: {t['diff_mean']:+.3f} ± "
            f"{t['diff_sd']:.3f}, {t['seeds_won']}/{t['seeds']} seeds ({ratio:.1f} paired sd), "
            f"seeds {_ranges(t['seed_list'])}"
        )
    return "\n".join(lines)


def _ranges(seeds: list[int]) -> str:
    """[6, 7, 8, 11, 12] -> '6-8, 11-12'."""
    out: list[list[int]] = []
    for s in sorted(seeds):
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in out)


def portable_log(commands: list[dict]) -> list[dict]:
    """The recorded commands with this checkout's paths made portable."""
    return [{**c, "command": portable(c["command"])} for c in commands]


def write_design(name: str, header: str, payload: dict, scores: BySeed, models: list[str]) -> None:
    """``bench/results/<name>.{txt,json}``, replacing what was there."""
    seeds = sorted({s for groups in scores.values() for v in groups.values() for s in v})
    text = header + seed_table(scores, models, seeds)
    print(text, flush=True)
    (OUT / f"{name}.txt").write_text(text + "\n")
    payload = {
        "synthetic": True,
        **payload,
        "seeds": seeds,
        "models": models,
        "scores": aligned(scores, seeds),
        "targets": paired(scores, models),
        "rivals": TARGETS,
    }
    (OUT / f"{name}.json").write_text(json.dumps(payload, indent=1) + "\n")


def from_summaries(paths: list[Path], tag: str) -> None:
    """Merge earlier result files of this script (one dataset, disjoint seeds) into one file
    per design."""
    scores: BySeed = {}
    models: list[str] = []
    sources = []
    datasets = set()
    for path in paths:
        d = json.loads(path.read_text())
        datasets.add(d["dataset"])
        seeds = d["seeds"]
        seen = {s for src in sources for s in src["seeds"]}
        if seen & set(seeds):
            raise SystemExit(f"{path}: seeds {sorted(seen & set(seeds))} are in an earlier file")
        dropped: list[dict] = []
        part = by_seed(d["scores"], seeds, dropped)
        for model, groups in part.items():
            for group, vals in groups.items():
                scores.setdefault(model, {}).setdefault(group, {}).update(vals)
        models += [m for m in d.get("models", part) if m.startswith("grape") and m not in models]
        summary = path.with_suffix("") / "summary.json"
        recovery = {}
        rec_root = path.parent / f"{path.stem}_recovery"
        if rec_root.is_dir():
            from synthetic_tables import recovery_summary

            recovery = {
                p.name: recovery_summary(p / "recovery.csv")
                for p in sorted(rec_root.iterdir())
                if (p / "recovery.csv").exists()
            }
        sources.append(
            {
                "file": path.name,
                "seeds": seeds,
                "models": [m for m in part if m.startswith("grape")],
                "note": d.get("note", ""),
                "left_out": dropped,
                "seconds_per_seed": d.get("seconds_per_seed", {}),
                "commands": portable_log(d.get("commands", [])),
                "recovery": recovery,
                "evaluate_summary": json.loads(summary.read_text()) if summary.exists() else None,
            }
        )
    if len(datasets) != 1:
        raise SystemExit(f"--from-summaries: one design at a time, got datasets {sorted(datasets)}")
    dataset = datasets.pop()
    signal = "learnable" if "learnable" in dataset else "random-sign"
    merge = "python bench/fresh_seeds.py --from-summaries " + " ".join(p.name for p in paths)
    merge += f" --tag={tag}" if tag else ""
    lines = [
        f"SYNTHETIC {signal} simulator ({dataset}), simulation split, seeds the main tables "
        "never used; pcc_delta_de20_excl_pert, per seed the mean over the subgroup's test "
        "conditions; gap = (row - mean) / (oracle - mean) of the seed means over the row's "
        "seeds (their number in brackets). Merged from earlier runs of bench/fresh_seeds.py by "
        f"`{merge}`; each run's commands are in the json:"
    ]
    for s in sources:
        rec = "; ".join(
            f"{m} planted-edge AUPRC "
            + ", ".join(f"{k} {v['mean']:.3f}±{v['sd']:.3f}" for k, v in r.items())
            for m, r in s["recovery"].items()
        )
        lines.append(
            f"  seeds {_ranges(s['seeds'])}: {', '.join(s['models'])}"
            + (f" ({s['note']})" if s["note"] else "")
            + (f"\n    {rec}" if rec else "")
        )
    write_design(
        f"synthetic_{signal}{tag}_fresh",
        "\n".join(lines),
        {"dataset": dataset, "merge_command": merge, "merged_from": sources},
        scores,
        models,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="bench-learnable-1000")
    ap.add_argument("--seeds")
    ap.add_argument("--models")
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
    ap.add_argument(
        "--from-summaries",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="merge earlier result files of this script instead of training and scoring",
    )
    args = ap.parse_args()
    if args.from_summaries:
        if args.seeds or args.models or args.train:
            ap.error("--from-summaries trains and scores nothing: no --seeds, --models, --train")
        missing = [str(p) for p in args.from_summaries if not p.is_file()]
        if missing:
            ap.error(f"--from-summaries: no such file: {', '.join(missing)}")
        from_summaries(args.from_summaries, args.tag)
        return
    if not args.seeds or not args.models:
        ap.error("--seeds and --models are required (or --from-summaries)")
    seeds = seeds_of(args.seeds)
    tag = f"seeds{seeds[0]}-{seeds[-1]}"
    suffix = args.label_suffix if args.label_suffix is not None else f"-{tag}"
    models = labels(args.models, ap)
    data_dir = Path(os.environ.get("GRAPE_DATA_DIR") or ROOT / ".grape")
    folder = data_dir / "results" / args.dataset / "simulation"
    log: list[dict] = []
    times = {}
    to_train = (
        []
        if args.train is None
        else models
        if args.train == "all"
        else labels(args.train, ap, "--train")
    )
    for model in to_train:
        t = time.perf_counter()
        run(
            [
                "train", "--dataset", args.dataset, "--split", "simulation", "--seeds", args.seeds,
                "--epochs", str(args.epochs), *small(model), "--label", model + suffix,
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
    keep_summaries(out, name)
    header = (
        f"SYNTHETIC {signal} simulator ({args.dataset}), simulation split, seeds {args.seeds} "
        "(not used by the main tables); pcc_delta_de20_excl_pert, per seed the mean over the "
        "subgroup's test conditions; gap = (row - mean) / (oracle - mean) of the seed means"
    )
    write_design(
        name,
        header,
        {"dataset": args.dataset, "seconds_per_seed": times, "commands": log},
        seed_scores(out),
        models,
    )


if __name__ == "__main__":
    main()
