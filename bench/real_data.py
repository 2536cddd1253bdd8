"""Real-data benchmark: the two real CRISPR screens of ../shared/data/real, the five
baselines, GRAPE and BioDSNN over seeds, on an unseen-perturbation split (GEARS
``simulation``: held-out singles), per context for the Datlinger file (each context its own
control; a perturbation held out in every context).

    python bench/real_data.py [--seeds 1..5] [--epochs 10] [--datasets papalexi,datlingerbock]
        [--models grape,biodsnn] [--biodsnn-set KEY=VALUE ...] [--skip-import]

Needs a running server with the KG (``grape db start``; the script runs ``grape kg build`` when
the graph has no genes). Everything goes through the ``grape`` command, as a user would run it.
Writes ``bench/results/real_data.{txt,json}`` and ``real_data.png``: per dataset (and context)
the median and sd over seeds of the headline metrics for every model, the time per run, the
data versions (file SHA-256, KG sources) and the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from grapekg.kg.defaults import sha256_file

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("GRAPE_SHARED_DIR") or ROOT.parent / "shared") / "data" / "real"
GRAPE = [sys.executable, "-m", "grapekg"]
OUT = ROOT / "bench" / "results"
METRICS = (
    "pcc_delta",
    "pcc_delta_excl_pert",
    "pcc_delta_train_mean",
    "pcc_delta_de20",
    "pcc_delta_de20_excl_pert",
    "rmse",
    "mse_de",
)
DATASETS = {
    "papalexi": {
        "file": "papalexi2021_thp1_eccite.h5ad",
        "import": [
            "--pert-col",
            "target",
            "--guide-col",
            "grna",
            "--control",
            "non-targeting",
            "--normalise",
        ],
        "members": ["papalexi"],
    },
    "datlingerbock": {
        "file": "datlingerbock2021_jurkat_scifi.h5ad",
        "import": [
            "--pert-col",
            "perturbation",
            "--control",
            "control",
            "--guide-pattern",
            r"_\d+$",
            "--context-col",
            "perturbation_2",
            "--normalise",
        ],
        "members": ["datlingerbock@stimulated", "datlingerbock@unstimulated"],
    },
}


def run(args: list[str], log: list[dict], **kw) -> subprocess.CompletedProcess[str]:
    """Run ``grape ARGS``; record the command and its wall time; stop on failure."""
    t = time.perf_counter()
    p = subprocess.run([*GRAPE, *args], capture_output=True, text=True, check=False, **kw)
    dt = time.perf_counter() - t
    log.append(
        {"command": "grape " + shlex.join(args), "seconds": round(dt, 1), "rc": p.returncode}
    )
    print(f"[{dt:7.1f} s] grape {shlex.join(args)}", flush=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit(f"failed: grape {shlex.join(args)}")
    return p


def seeds_of(text: str) -> list[int]:
    a, _, b = text.partition("..")
    return list(range(int(a), int(b) + 1)) if b else [int(x) for x in text.split(",")]


def per_seed_scores(folder: Path) -> dict[str, dict[str, list[float]]]:
    """model -> metric -> one value per seed (mean over the seed's test conditions), from the
    ``per_condition.csv`` that ``grape evaluate`` writes."""
    import pandas as pd

    pc = pd.read_csv(folder / "per_condition.csv")
    pc = pc[pc["metric"].isin(METRICS)]
    agg = pc.groupby(["model", "metric", "seed"])["value"].mean().reset_index()
    out: dict[str, dict[str, list[float]]] = {}
    for (model, metric), g in agg.groupby(["model", "metric"]):
        out.setdefault(str(model), {})[str(metric)] = [float(v) for v in g["value"]]
    return out


def summarise(scores: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, dict]]:
    import numpy as np

    return {
        m: {
            k: {
                "median": float(np.nanmedian(v)),
                "sd": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0,
                "n_seeds": len(v),
            }
            for k, v in ms.items()
        }
        for m, ms in scores.items()
    }


def table_text(title: str, summ: dict[str, dict[str, dict]]) -> str:
    models = list(summ)
    w = max(14, *(len(m) + 2 for m in models))
    lines = [title, f"{'metric':<26}" + "".join(f"{m:>{w + 8}}" for m in models)]
    for metric in METRICS:
        row = f"{metric:<26}"
        for m in models:
            s = summ[m].get(metric)
            row += (
                f"{'n/a':>{w + 8}}"
                if s is None or s["median"] != s["median"]
                else f"{s['median']:>{w}.3f} ± {s['sd']:.3f}"
            )
        lines.append(row)
    return "\n".join(lines)


def figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(d, c) for d, r in results.items() for c in r["contexts"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for ax, (d, c) in zip(axes[0], panels, strict=True):
        summ = results[d]["contexts"][c]["summary"]
        models = list(summ)
        vals = [
            summ[m]["pcc_delta_de20"]["median"] if "pcc_delta_de20" in summ[m] else 0
            for m in models
        ]
        errs = [
            summ[m]["pcc_delta_de20"]["sd"] if "pcc_delta_de20" in summ[m] else 0 for m in models
        ]
        ax.bar(range(len(models)), vals, yerr=errs, color="#4c72b0")
        ax.set_xticks(range(len(models)), models, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{c} (REAL)", fontsize=9)
        ax.set_ylabel("Pearson delta, DE20 (median over seeds)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1..5")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--datasets", default="papalexi,datlingerbock")
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--models", default="grape,biodsnn")
    ap.add_argument(
        "--biodsnn-set",
        action="append",
        default=[],
        help="a BioDSNN setting for every dataset of this call (grape train --set)",
    )
    args = ap.parse_args()
    seeds = seeds_of(args.seeds)
    log: list[dict] = []
    status = json.loads(run(["kg", "status", "--format", "json"], log).stdout)
    labels = status.get("labels", {}) if isinstance(status, dict) else {}
    if not labels.get("Gene"):
        run(["kg", "build"], log)
        status = json.loads(run(["kg", "status", "--format", "json"], log).stdout)
    earlier_file = OUT / "real_data.json"
    # with --skip-import (same data) the datasets not run now keep their earlier results
    results: dict = (
        json.loads(earlier_file.read_text())["results"]
        if args.skip_import and earlier_file.exists()
        else {}
    )
    data_dir = Path(os.environ.get("GRAPE_DATA_DIR") or ROOT / ".grape")
    for name in args.datasets.split(","):
        spec = DATASETS[name]
        f = REAL / spec["file"]
        if not args.skip_import:
            run(["data", "import", str(f), "--name", name, *spec["import"]], log)
        for member in spec["members"]:
            run(["features", "compute", "--modality", "text", "--genes", f"dataset:{member}"], log)
        earlier = OUT / "real_data.json"
        seconds: dict[str, float] = (
            json.loads(earlier.read_text())["results"].get(name, {}).get("seconds_per_run", {})
            if args.skip_import and earlier.exists()
            else {}
        )
        runs = len(seeds) * len(spec["members"])
        for model in args.models.split(","):
            t = time.perf_counter()
            run(
                [
                    "train", "--model", model, "--label", model, "--dataset", name,
                    "--split", "simulation", "--seeds", args.seeds, "--epochs", str(args.epochs),
                    *(["--align-epochs", "3", "--top-k", "2"] if model == "grape" else []),
                    "--hidden", "32", "--heads", "2", "--no-write-back", "--no-evaluate",
                    *(
                        arg
                        for kv in (args.biodsnn_set if model == "biodsnn" else [])
                        for arg in ("--set", kv)
                    ),
                ],
                log,
            )  # fmt: skip
            seconds[model] = round((time.perf_counter() - t) / runs, 1)
        contexts = {}
        for member in spec["members"]:
            folder = data_dir / "results" / member / "simulation"
            # every model with a prediction file: those trained now and, with --skip-import
            # (same data), those of an earlier run
            preds = [
                arg
                for model in ("grape", "biodsnn")
                if (model in args.models.split(",") or args.skip_import)
                and (folder / f"{model}.parquet").exists()
                for arg in ("--predictions", f"{model}={folder / f'{model}.parquet'}")
            ]
            out = OUT / "real_data" / member
            run(
                [
                    "evaluate",
                    "--dataset",
                    member,
                    "--split",
                    "simulation",
                    "--seeds",
                    args.seeds,
                    *preds,
                    "--out",
                    str(out),
                    "--format",
                    "json",
                ],
                log,
            )
            summ = summarise(per_seed_scores(out))
            contexts[member] = {
                "summary": summ,
                "notes": json.loads((out / "summary.json").read_text()).get("notes", []),
            }
        results[name] = {
            "file": spec["file"],
            "sha256": sha256_file(f),
            "contexts": contexts,
            "seconds_per_run": seconds,
            "runs": runs,
            "biodsnn_set": list(args.biodsnn_set) if "biodsnn" in args.models else None,
        }
    OUT.mkdir(parents=True, exist_ok=True)
    text = []
    for r in results.values():
        for member, c in r["contexts"].items():
            text.append(
                table_text(
                    f"{member} (REAL, {r['file']}), simulation split (unseen singles), seeds "
                    f"{args.seeds}: median ± sd over seeds; seconds per run "
                    f"{r['seconds_per_run']} (hidden 32, 2 heads, GRAPE top-k 2, "
                    f"{args.epochs} epochs, CPU"
                    + (
                        f"; BioDSNN --set {' '.join(r['biodsnn_set'])}"
                        if r.get("biodsnn_set")
                        else ""
                    )
                    + ")",
                    c["summary"],
                )
            )
            text += [f"note: {n}" for n in c["notes"]]
            text.append("")
    (OUT / "real_data.txt").write_text("\n".join(text))
    (OUT / "real_data.json").write_text(
        json.dumps(
            {
                "seeds": seeds,
                "epochs": args.epochs,
                "results": results,
                "commands": log,
                "kg_sources": status.get("sources") if isinstance(status, dict) else None,
            },
            indent=1,
        )
    )
    figure(results, OUT / "real_data.png")
    print("\n".join(text))
    print(f"wrote {OUT / 'real_data.txt'}, real_data.json, real_data.png")


if __name__ == "__main__":
    main()
