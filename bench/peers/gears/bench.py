"""GEARS side by side with GRAPE and the four baselines: one table per dataset.

Runs in grape-kg's environment; GEARS runs as its own process in the GEARS environment
(``setup.sh``). Normally started by ``run.sh``, which builds both environments first:

    bench/peers/gears/run.sh                  # all datasets (see DATASETS)
    bench/peers/gears/run.sh --datasets sim600 --gears-seeds 1..2

For each dataset: create or import it (``grape data simulate`` / ``prepare_real.py`` +
``grape data import``), ``prepare.py`` (GO inputs from the KG, cells, grape's split per seed),
``run_gears.py`` (GEARS, same seeds, same training / validation conditions), GRAPE with
``grape train`` where it runs, then ``grape evaluate --predictions gears=... grape=...`` scores
everything on the same test conditions with the same metrics. Writes
``bench/results/peers_<dataset>.{txt,json}`` (metrics, seconds per run, data description,
versions) and, for the first dataset's first seed, ``bench/results/peers_faithfulness.*``.

A step whose outputs and timing record exist is reused (its measured seconds are reported
again); ``--force`` redoes everything. Work files: ``$GRAPE_DATA_DIR/peers/gears/<dataset>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from grapekg.perturb import bundle as bundle_mod
from grapekg.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RESULTS = ROOT / "bench" / "results"
GRAPE = str(Path(sys.executable).with_name("grape"))
PY = sys.executable

GRAPE_N_A_REAL = "n/a (grape train fails on real data: issue 9)"
BIODSNN_N_A = "n/a (BioDSNN is not in grape-kg yet)"

#: dataset -> how it is made, seeds, epochs. Sizes fit 2 shared CPU cores.
DATASETS: dict[str, dict] = {
    "sim600": {
        "make": [
            GRAPE,
            "data",
            "simulate",
            "--genes",
            "600",
            "--conditions",
            "60",
            "--cells-per-condition",
            "30",
            "--combos",
            "0.4",
            "--seed",
            "0",
            "--name",
            "sim600",
        ],
        "describe": "SYNTHETIC (grape data simulate --genes 600 --conditions 60 "
        "--cells-per-condition 30 --combos 0.4 --seed 0): 600 real KG genes, "
        "36 singles + 24 doubles, 30 cells each + control",
        "seeds": "1..5",
        "gears_epochs": 10,
        "grape": True,
        "grape_epochs": 10,
    },
    "papalexi_sub": {
        "make": "papalexi",
        "describe": "REAL, Papalexi 2021 THP-1 ECCITE-seq (sceptredata): all 299 measured "
        "genes, 25 single knock-outs + non-targeting, at most 80 cells per "
        "condition (seeded), normalize_total + log1p",
        "seeds": "1..5",
        "gears_epochs": 10,
        "grape": False,
    },
    "datlinger_sub": {
        "make": "datlinger",
        "describe": "REAL, Datlinger 2021 Jurkat scifi-RNA-seq (scPerturb subset): stimulated "
        "cells only, guides pooled per target (20 single knock-outs + control), "
        "at most 80 cells per condition (seeded), normalize_total + log1p on "
        "2,000 genes, then the 500 most variable genes + the 4 more measured "
        "targets (504 genes)",
        "seeds": "1..3",
        "gears_epochs": 5,
        "grape": False,
    },
}
METRIC_ROWS = [
    "pearson_delta",
    "mse",
    "mse_de",
    "pcc_delta_de20",
    "rmse",
    "rmse_de20",
    "dac",
    "dac_nonzero",
    "dac_de20",
    "frac_opposite_direction_top20_non_dropout",
]
BASELINES = ["no-change", "mean", "additive", "linear"]


def log(msg: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], logfile: Path, env: dict | None = None) -> float:
    """Run a command (niced when NICE is set), output to logfile; returns seconds."""
    nice = os.environ.get("PEERS_NICE", "15")
    full = (["nice", "-n", nice] if nice and nice != "0" else []) + [str(c) for c in cmd]
    t0 = time.perf_counter()
    with open(logfile, "w") as f:
        r = subprocess.run(
            full,
            stdout=f,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )
    dt = time.perf_counter() - t0
    if r.returncode:
        tail = logfile.read_text(errors="replace")[-3000:]
        raise SystemExit(f"failed ({r.returncode}): {' '.join(full)}\n--- {logfile} ---\n{tail}")
    return dt


class Steps:
    """Timing record of a dataset's steps; a step recorded as done is not redone."""

    def __init__(self, work: Path, force: bool) -> None:
        self.path = work / "steps.json"
        self.data = {} if force or not self.path.exists() else json.loads(self.path.read_text())

    def done(self, key: str, *outputs: Path) -> bool:
        return key in self.data and all(p.exists() for p in outputs)

    def record(self, key: str, seconds: float, **extra) -> None:
        self.data[key] = {"seconds": round(seconds, 1), **extra}
        self.path.write_text(json.dumps(self.data, indent=1))


def seeds_of(text: str) -> list[int]:
    a, _, b = text.partition("..")
    return list(range(int(a), int(b) + 1)) if b else [int(x) for x in text.split(",")]


def ensure_dataset(name: str, spec: dict, work: Path, st: Steps, data_dir: Path) -> None:
    bundle_dir = bundle_mod.dataset_dir(data_dir, name)
    if st.done("dataset", bundle_dir / "meta.json"):
        return
    if (bundle_dir / "meta.json").exists():  # made before (same command): reuse it
        st.record("dataset", 0.0, reused=True)
        return
    if isinstance(spec["make"], list):
        dt = run(spec["make"], work / "dataset.log")
    else:
        raw = data_dir / "raw" / name / "perturb_processed.h5ad"
        dt = run([PY, HERE / "prepare_real.py", spec["make"], "--out", raw], work / "dataset.log")
        dt += run([GRAPE, "data", "import", raw, "--name", name], work / "import.log")
    st.record("dataset", dt)


def run_dataset(
    name: str, spec: dict, gears_py: str, args: argparse.Namespace, data_dir: Path
) -> dict:
    work = data_dir / "peers" / "gears" / name
    if args.force:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    st = Steps(work, args.force)
    seeds = args.seeds or spec["seeds"]
    epochs = args.gears_epochs or spec["gears_epochs"]
    log(f"{name}: dataset")
    ensure_dataset(name, spec, work, st, data_dir)
    key = f"prepare:{seeds}"
    if not st.done(key, work / "prepare.json"):
        log(f"{name}: GEARS inputs (GO from the KG, cells, splits)")
        st.record(
            key,
            run(
                [
                    PY,
                    HERE / "prepare.py",
                    "--dataset",
                    name,
                    "--split",
                    "simulation",
                    "--seeds",
                    seeds,
                    "--out",
                    work,
                ],
                work / "prepare.log",
            ),
        )
    key = f"gears:{seeds}:{epochs}"
    if not st.done(key, work / "gears_predictions.csv", work / "gears_times.json"):
        log(f"{name}: GEARS, seeds {seeds}, {epochs} epochs (own process, own environment)")
        shutil.rmtree(work / "gears_data" / "grape_dataset", ignore_errors=True)
        dt = run(
            [
                gears_py,
                HERE / "run_gears.py",
                "--work",
                work,
                "--seeds",
                seeds,
                "--epochs",
                str(epochs),
            ],
            work / "gears.log",
        )
        st.record(key, dt)
    preds = [f"gears={work / 'gears_predictions.csv'}"]
    grape_times: dict[str, float] = {}
    if spec["grape"]:
        g_epochs = args.grape_epochs or spec["grape_epochs"]
        if not st.done("grape_features"):
            log(f"{name}: GRAPE text features")
            st.record(
                "grape_features",
                run(
                    [
                        GRAPE,
                        "features",
                        "compute",
                        "--modality",
                        "text",
                        "--genes",
                        f"dataset:{name}",
                    ],
                    work / "features.log",
                ),
            )
        frames = []
        for s in seeds_of(seeds):
            key, out = f"grape:{s}:{g_epochs}", work / f"grape_seed{s}.parquet"
            if not st.done(key, out):
                log(f"{name}: GRAPE seed {s}, {g_epochs} epochs")
                dt = run(
                    [
                        GRAPE,
                        "train",
                        "--dataset",
                        name,
                        "--split",
                        "simulation",
                        "--seeds",
                        str(s),
                        "--epochs",
                        str(g_epochs),
                        "--align-epochs",
                        "3",
                        "--hidden",
                        "32",
                        "--heads",
                        "2",
                        "--top-k",
                        "2",
                        "--no-write-back",
                        "--no-evaluate",
                    ],
                    work / f"grape_seed{s}.log",
                )
                shutil.copy(data_dir / "results" / name / "simulation" / "grape.parquet", out)
                st.record(key, dt)
            grape_times[str(s)] = st.data[key]["seconds"]
            frames.append(pd.read_parquet(out))
        pd.concat(frames, ignore_index=True).to_parquet(
            work / "grape_predictions.parquet", index=False
        )
        preds.append(f"grape={work / 'grape_predictions.parquet'}")
    log(f"{name}: grape evaluate (baselines + GEARS{' + GRAPE' if spec['grape'] else ''})")
    cmd = [
        GRAPE,
        "evaluate",
        "--dataset",
        name,
        "--split",
        "simulation",
        "--seeds",
        seeds,
        "--out",
        work / "eval",
    ]
    for p in preds:
        cmd += ["--predictions", p]
    eval_s = run(cmd, work / "evaluate.log")
    summary = json.loads((work / "eval" / "summary.json").read_text())
    gt = json.loads((work / "gears_times.json").read_text())
    prep = json.loads((work / "prepare.json").read_text())
    return {
        "dataset": name,
        "describe": spec["describe"],
        "synthetic": summary["synthetic"],
        "split": "simulation (GEARS procedure, grape-kg's make_split)",
        "seeds": seeds_of(seeds),
        "gears_epochs": epochs,
        "grape_epochs": (args.grape_epochs or spec.get("grape_epochs")) if spec["grape"] else None,
        "models": summary["models"],
        "split_sizes": prep["splits"],
        "go_inputs": prep["go"],
        "cells": prep["cells"],
        "times_s": {
            "dataset": st.data.get("dataset", {}).get("seconds"),
            "prepare": st.data[f"prepare:{seeds}"]["seconds"],
            "gears_process_total": st.data[f"gears:{seeds}:{epochs}"]["seconds"],
            "gears_data_processing": gt["process_s"],
            "gears_per_seed": gt["seeds"],
            "grape_features": st.data.get("grape_features", {}).get("seconds"),
            "grape_per_seed": grape_times or None,
            "evaluate": round(eval_s, 1),
        },
        "work": str(work),
    }


def fmt(models: dict, model: str, metric: str) -> str:
    m = models.get(model)
    if m is None or m.get(f"{metric}_mean") is None:
        return "-"
    mean, sd = m[f"{metric}_mean"], m.get(f"{metric}_sd")
    return f"{mean:.4f} ± {sd:.4f}" if sd is not None else f"{mean:.4f}"


def render(res: dict, versions: dict) -> str:
    models = res["models"]
    cols = [*BASELINES, "gears", "grape", "biodsnn"]
    label = {"gears": "GEARS", "grape": "GRAPE", "biodsnn": "BioDSNN"}
    head = ["metric", *[label.get(c, c) for c in cols]]
    lines = [
        f"## {res['dataset']}{' (SYNTHETIC)' if res['synthetic'] else ''}",
        "",
        res["describe"] + ".",
        "",
        f"Split: {res['split']}, seeds {res['seeds'][0]}..{res['seeds'][-1]}; "
        f"test conditions per seed: "
        f"{', '.join(str(v['test']) for v in res['split_sizes'].values())}. "
        f"GEARS {res['gears_epochs']} epochs (hidden 64, batch 32, lr 1e-3, CPU)"
        + (
            f"; GRAPE {res['grape_epochs']} epochs (hidden 32, 2 heads, top-k 2)"
            if res["grape_epochs"]
            else ""
        )
        + ". Mean ± sd over seeds.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for metric in METRIC_ROWS:
        row = [metric]
        for c in cols:
            if c == "grape" and "grape" not in models:
                row.append("n/a" if res["synthetic"] else "n/a (issue 9)")
            elif c == "biodsnn":
                row.append("n/a")
            else:
                row.append(fmt(models, c, metric))
        lines.append("| " + " | ".join(row) + " |")
    t = res["times_s"]
    lines += [
        "",
        "GRAPE: "
        + (
            "grape train"
            if "grape" in models
            else (GRAPE_N_A_REAL if not res["synthetic"] else "not run")
        )
        + f". BioDSNN: {BIODSNN_N_A}.",
        "",
        "Seconds per run (2 shared CPU cores, niced):",
        "",
        "| run | seconds |",
        "|---|---|",
        f"| GEARS data processing (DE genes, cell graphs; once) | {t['gears_data_processing']} |",
    ]
    for s, v in t["gears_per_seed"].items():
        lines.append(f"| GEARS seed {s}: train / evaluate | {v['train_s']} / {v['evaluate_s']} |")
    lines.append(
        f"| GEARS process in all (start, processing, all seeds) | {t['gears_process_total']} |"
    )
    if t.get("grape_per_seed"):
        lines.append(f"| GRAPE text features (once) | {t['grape_features']} |")
        for s, v in t["grape_per_seed"].items():
            lines.append(f"| GRAPE seed {s}: grape train | {v} |")
    lines += [
        f"| prepare (GO inputs from the KG, cells, splits) | {t['prepare']} |",
        f"| grape evaluate (4 baselines + peers, all seeds) | {t['evaluate']} |",
    ]
    g = res["go_inputs"]
    lines += [
        "",
        f"GEARS GO inputs from the KG: {g['genes']} genes ({g['genes_with_go']} with GO "
        f"terms), {g['go_terms']} GO terms, {g['go_edges']} GO-graph edges (incl. self); "
        f"targets without GO terms kept as isolated GO nodes: "
        f"{', '.join(g['targets_without_go']) or 'none'}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--gears-python", help="python of the GEARS venv (setup.sh); required unless --render-only"
    )
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--seeds", default=None, help="override every dataset's seeds, e.g. 1..2")
    p.add_argument("--gears-epochs", type=int, default=None)
    p.add_argument("--grape-epochs", type=int, default=None)
    p.add_argument("--force", action="store_true")
    p.add_argument("--no-faithfulness", action="store_true")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite peers_<dataset>.txt from the existing .json; run nothing",
    )
    args = p.parse_args(argv)
    if args.render_only:
        for name in [n for n in args.datasets.split(",") if n]:
            res = json.loads((RESULTS / f"peers_{name}.json").read_text())
            (RESULTS / f"peers_{name}.txt").write_text(render(res, res["versions"]))
        return 0
    if not args.gears_python:
        p.error("--gears-python is required (run.sh passes it)")
    data_dir = Settings.load().data_dir
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.datasets.split(",") if n]
    t_all = time.perf_counter()
    for i, name in enumerate(names):
        res = run_dataset(name, DATASETS[name], args.gears_python, args, data_dir)
        versions = json.loads((Path(res["work"]) / "gears_versions.json").read_text())
        res["versions"] = versions
        (RESULTS / f"peers_{name}.json").write_text(json.dumps(res, indent=1))
        text = render(res, versions)
        (RESULTS / f"peers_{name}.txt").write_text(text)
        print(text, flush=True)
        if i == 0 and not args.no_faithfulness:
            log(f"{name}: faithfulness check (seed {res['seeds'][0]})")
            r = subprocess.run(
                [
                    PY,
                    HERE / "faithfulness.py",
                    "--dataset",
                    name,
                    "--work",
                    res["work"],
                    "--seed",
                    str(res["seeds"][0]),
                    "--out",
                    RESULTS / "peers_faithfulness",
                ]
            )
            if r.returncode:
                log("faithfulness check FAILED (see bench/results/peers_faithfulness.txt)")
    log(f"all done in {time.perf_counter() - t_all:.0f} s; tables in {RESULTS}/peers_*.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
