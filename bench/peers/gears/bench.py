"""GEARS side by side with GRAPE, BioDSNN and the baselines: one table per dataset.

Runs in grape-kg's environment; GEARS runs as its own process in the GEARS environment
(``setup.sh``). Normally started by ``run.sh``, which builds both environments first:

    bench/peers/gears/run.sh                  # all datasets (see DATASETS)
    bench/peers/gears/run.sh --datasets sim600 --seeds 1..2 --models gears,grape

For each dataset: create or import it (``grape data simulate --signal ...`` /
``prepare_real.py`` + ``grape data import``), ``prepare.py`` (GO inputs from the KG, cells,
grape's split per seed), ``run_gears.py`` (GEARS, same seeds, same training / validation
conditions), GRAPE and BioDSNN with ``grape train --model M --label M`` once per seed, then
``grape evaluate --predictions gears=... grape=... biodsnn=...`` scores everything (with the
baselines and, on SYNTHETIC data, the simulator's ceilings and the ``gap`` row) on the same
test conditions with the same metrics. Writes ``bench/results/peers_<dataset>.{txt,json}``
(metrics, seconds per run, data description, versions) and, for every dataset's first seed,
the faithfulness check ``bench/results/peers_faithfulness_<dataset>.{txt,json}``.

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


def _simulate(name: str, signal: str) -> list[str]:
    return [
        GRAPE, "data", "simulate", "--genes", "600", "--conditions", "60",
        "--cells-per-condition", "30", "--combos", "0.4", "--seed", "0",
        "--signal", signal, "--name", name,
    ]  # fmt: skip


_SIM = (
    "600 real KG genes, 36 singles + 24 doubles, 30 cells each + control (grape data simulate "
    "--genes 600 --conditions 60 --cells-per-condition 30 --combos 0.4 --seed 0 --signal {s})"
)

#: dataset -> how it is made, seeds, GEARS epochs. Sizes fit 2 shared CPU cores. Listed in
#: the order the default run takes (real screens first).
DATASETS: dict[str, dict] = {
    "datlinger_sub": {
        "make": "datlinger",
        "describe": "REAL, Datlinger 2021 Jurkat scifi-RNA-seq (scPerturb subset): stimulated "
        "cells only, guides pooled per target (20 single knock-outs + control), "
        "at most 80 cells per condition (seeded), normalize_total + log1p on "
        "2,000 genes, then the 500 most variable genes + the 4 more measured "
        "targets (504 genes)",
        "seeds": "1..5",
        "gears_epochs": 10,
    },
    "papalexi_sub": {
        "make": "papalexi",
        "describe": "REAL, Papalexi 2021 THP-1 ECCITE-seq (sceptredata): all 299 measured "
        "genes, 25 single knock-outs + non-targeting, at most 80 cells per "
        "condition (seeded), normalize_total + log1p",
        "seeds": "1..5",
        "gears_epochs": 10,
    },
    "sim600_learnable": {
        "make": _simulate("sim600_learnable", "learnable"),
        "describe": "SYNTHETIC, learnable signal (the positive control: modes and edges "
        "follow the KG annotations): " + _SIM.format(s="learnable"),
        "seeds": "1..5",
        "gears_epochs": 10,
    },
    "sim600": {
        "make": _simulate("sim600", "random-sign"),
        "describe": "SYNTHETIC, random-sign signal (the negative control: coin-flip edge "
        "signs, nothing in the KG predicts them): " + _SIM.format(s="random-sign"),
        "seeds": "1..5",
        "gears_epochs": 10,
    },
}

#: grape-kg's models, each trained per seed with ``grape train`` (the flags of
#: bench/real_data.py: hidden 32, 2 heads, 10 epochs, CPU, no write-back).
GRAPE_MODELS: dict[str, list[str]] = {
    "grape": ["--model", "grape", "--align-epochs", "3", "--top-k", "2"],
    "biodsnn": ["--model", "biodsnn"],
}
GRAPE_MODEL_FLAGS = ["--hidden", "32", "--heads", "2", "--no-write-back", "--no-evaluate"]
GRAPE_EPOCHS = 10
METRIC_ROWS = [
    "pearson_delta",
    "pcc_delta_excl_pert",
    "pcc_delta_de20",
    "pcc_delta_de20_excl_pert",
    "pcc_delta_train_mean",
    "mse",
    "mse_de",
    "rmse",
    "rmse_de20",
    "dac",
    "dac_nonzero",
    "dac_de20",
    "frac_opposite_direction_top20_non_dropout",
]
BASELINES = ["no-change", "mean", "additive", "linear", "linear-kg"]
PEERS = ["gears", "grape", "biodsnn"]
#: scored by ``grape evaluate`` on a SYNTHETIC dataset with saved truth (see ceilings.py)
CEILINGS = ["ceiling:mean+self", "ceiling:true-graph-avg-sign", "ceiling:oracle"]
LABEL = {
    "gears": "GEARS",
    "grape": "GRAPE",
    "biodsnn": "BioDSNN",
    "ceiling:mean+self": "ceiling: mean+self",
    "ceiling:true-graph-avg-sign": "ceiling: true graph, avg sign",
    "ceiling:oracle": "ceiling: oracle",
}


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
    """Timing record of a dataset's steps; a step recorded as done is not redone. The file is
    read again on every call, so two runs on different models of one dataset can share it."""

    def __init__(self, work: Path, force: bool) -> None:
        self.path = work / "steps.json"
        if force:
            self.path.unlink(missing_ok=True)

    @property
    def data(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def done(self, key: str, *outputs: Path) -> bool:
        return key in self.data and all(p.exists() for p in outputs)

    def record(self, key: str, seconds: float, **extra) -> None:
        data = self.data
        data[key] = {"seconds": round(seconds, 1), **extra}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)


def seeds_of(text: str) -> list[int]:
    a, _, b = text.partition("..")
    return list(range(int(a), int(b) + 1)) if b else [int(x) for x in text.split(",")]


def code_state() -> dict:
    """grape-kg's commit and the files changed in the working tree when a dataset is run
    (results are only as reproducible as that state)."""

    def git(*a: str) -> str:
        r = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False)
        return r.stdout.rstrip("\n")

    dirty = [ln[3:] for ln in git("status", "--porcelain").splitlines() if ln.strip()]
    return {"commit": git("rev-parse", "HEAD"), "changed_files": dirty}


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


def grape_env(args: argparse.Namespace) -> dict[str, str]:
    """Thread limits for grape-kg's own steps (``--grape-threads``; GEARS keeps its own)."""
    n = args.grape_threads
    return {"OMP_NUM_THREADS": str(n), "MKL_NUM_THREADS": str(n)} if n else {}


def train_model(
    model: str, name: str, seeds: str, work: Path, st: Steps, data_dir: Path, env: dict
) -> dict[str, float]:
    """``grape train --model MODEL --label MODEL`` once per seed (so each seed is timed on its
    own); the seeds' predictions joined in ``<model>_predictions.parquet``. Returns seconds
    per seed."""
    times: dict[str, float] = {}
    frames = []
    for s in seeds_of(seeds):
        key, out = f"{model}:{s}:{GRAPE_EPOCHS}", work / f"{model}_seed{s}.parquet"
        if not st.done(key, out):
            log(f"{name}: {LABEL[model]} seed {s}, {GRAPE_EPOCHS} epochs")
            dt = run(
                [
                    GRAPE, "train", *GRAPE_MODELS[model], "--label", model,
                    "--dataset", name, "--split", "simulation", "--seeds", str(s),
                    "--epochs", str(GRAPE_EPOCHS), *GRAPE_MODEL_FLAGS,
                ],
                work / f"{model}_seed{s}.log",
                env,
            )  # fmt: skip
            shutil.copy(data_dir / "results" / name / "simulation" / f"{model}.parquet", out)
            st.record(key, dt)
        times[str(s)] = st.data[key]["seconds"]
        frames.append(pd.read_parquet(out))
    pd.concat(frames, ignore_index=True).to_parquet(
        work / f"{model}_predictions.parquet", index=False
    )
    return times


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
    models = [m for m in args.models.split(",") if m]
    env = grape_env(args)
    log(f"{name}: dataset")
    code = code_state()
    ensure_dataset(name, spec, work, st, data_dir)
    key = f"prepare:{seeds}"
    if not st.done(key, work / "prepare.json"):
        log(f"{name}: GEARS inputs (GO from the KG, cells, splits)")
        st.record(
            key,
            run(
                [
                    PY, HERE / "prepare.py", "--dataset", name, "--split", "simulation",
                    "--seeds", seeds, "--out", work,
                ],
                work / "prepare.log",
            ),
        )  # fmt: skip
    preds: list[str] = []
    gears_times = None
    if "gears" in models:
        key = f"gears:{seeds}:{epochs}"
        if not st.done(key, work / "gears_predictions.csv", work / "gears_times.json"):
            log(f"{name}: GEARS, seeds {seeds}, {epochs} epochs (own process, own environment)")
            shutil.rmtree(work / "gears_data" / "grape_dataset", ignore_errors=True)
            dt = run(
                [
                    gears_py, HERE / "run_gears.py", "--work", work, "--seeds", seeds,
                    "--epochs", str(epochs),
                ],
                work / "gears.log",
            )  # fmt: skip
            st.record(key, dt)
        preds.append(f"gears={work / 'gears_predictions.csv'}")
        gt = json.loads((work / "gears_times.json").read_text())
        gears_times = {
            "process_total": st.data[key]["seconds"],
            "data_processing": gt["process_s"],
            "per_seed": gt["seeds"],
        }
    model_times: dict[str, dict[str, float]] = {}
    if "grape" in models and not st.done("grape_features"):
        log(f"{name}: GRAPE text features")
        st.record(
            "grape_features",
            run(
                [GRAPE, "features", "compute", "--modality", "text", "--genes", f"dataset:{name}"],
                work / "features.log",
                env,
            ),
        )
    for model in (m for m in GRAPE_MODELS if m in models):
        model_times[model] = train_model(model, name, seeds, work, st, data_dir, env)
        preds.append(f"{model}={work / f'{model}_predictions.parquet'}")
    log(f"{name}: grape evaluate (baselines + {', '.join(LABEL[m] for m in models)})")
    cmd = [GRAPE, "evaluate", "--dataset", name, "--split", "simulation", "--seeds", seeds]
    cmd += ["--out", work / "eval"]
    for p in preds:
        cmd += ["--predictions", p]
    eval_s = run(cmd, work / "evaluate.log", env)
    summary = json.loads((work / "eval" / "summary.json").read_text())
    prep = json.loads((work / "prepare.json").read_text())
    return {
        "dataset": name,
        "describe": spec["describe"],
        "synthetic": summary["synthetic"],
        "split": "simulation (GEARS procedure, grape-kg's make_split)",
        "seeds": seeds_of(seeds),
        "gears_epochs": epochs if "gears" in models else None,
        "grape_epochs": GRAPE_EPOCHS,
        "grape_flags": {m: [*GRAPE_MODELS[m], *GRAPE_MODEL_FLAGS] for m in model_times},
        "grape_threads": args.grape_threads,
        "models": summary["models"],
        "notes": summary.get("notes", []),
        "split_sizes": prep["splits"],
        "go_inputs": prep["go"],
        "cells": prep["cells"],
        "times_s": {
            "dataset": st.data.get("dataset", {}).get("seconds"),
            "dataset_reused": st.data.get("dataset", {}).get("reused", False),
            "prepare": st.data[f"prepare:{seeds}"]["seconds"],
            "gears": gears_times,
            "grape_features": st.data.get("grape_features", {}).get("seconds"),
            "per_seed": model_times,
            "evaluate": round(eval_s, 1),
        },
        "grape_kg_code": code,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "work": str(work),
    }


def fmt(models: dict, model: str, metric: str) -> str:
    m = models.get(model)
    if m is None or m.get(f"{metric}_mean") is None:
        return "n/a"
    mean, sd = m[f"{metric}_mean"], m.get(f"{metric}_sd")
    return f"{mean:.4f} ± {sd:.4f}" if sd is not None else f"{mean:.4f}"


def columns(res: dict) -> list[str]:
    """Baselines, the models that ran, and (SYNTHETIC) the ceilings, in table order."""
    models = res["models"]
    return [c for c in [*BASELINES, *PEERS, *CEILINGS] if c in models]


def render(res: dict, versions: dict) -> str:
    models = res["models"]
    cols = columns(res)
    head = ["metric", *[LABEL.get(c, c) for c in cols]]
    rows = [*METRIC_ROWS, *(["gap"] if any("gap_mean" in models[c] for c in cols) else [])]
    flags = res.get("grape_flags", {})
    trained = [
        f"{LABEL[m]} {res['grape_epochs']} epochs (grape train {' '.join(f)})"
        for m, f in flags.items()
    ]
    gears = (
        [f"GEARS {res['gears_epochs']} epochs (hidden 64, batch 32, lr 1e-3, CPU)"]
        if res.get("gears_epochs")
        else []
    )
    threads = res.get("grape_threads")
    lines = [
        f"## {res['dataset']}{' (SYNTHETIC)' if res['synthetic'] else ''}",
        "",
        res["describe"] + ".",
        "",
        f"Split: {res['split']}, seeds {res['seeds'][0]}..{res['seeds'][-1]}; "
        f"test conditions per seed: "
        f"{', '.join(str(v['test']) for v in res['split_sizes'].values())}. "
        + "; ".join(gears + trained)
        + ". Mean ± sd over seeds (each seed: the mean over its test conditions).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for metric in rows:
        lines.append("| " + " | ".join([metric, *(fmt(models, c, metric) for c in cols)]) + " |")
    if "gears" not in models:
        lines += [
            "",
            "GEARS: not in this table (not run for it; `bench.py --datasets "
            f"{res['dataset']} --seeds {res['seeds'][0]}..{res['seeds'][-1]}` adds it, "
            "reusing every recorded step).",
        ]
    if res["synthetic"] and any(c in models for c in CEILINGS):
        lines += [
            "",
            "Ceilings (SYNTHETIC only, from the simulator's saved truth): mean+self = the mean "
            "baseline that also knows the perturbed genes' own true knock-down; true graph, avg "
            "sign = the true edges with each relation's average sign propagated; oracle = the "
            "noise-free truth. gap = fraction of the mean -> oracle gap closed on "
            "pcc_delta_de20_excl_pert (mean 0, oracle 1).",
        ]
    for note in res.get("notes", []):
        lines += ["", f"Note (grape evaluate): {note}"]
    t = res["times_s"]
    where = f"grape-kg steps with {threads} thread(s), " if threads else ""
    lines += [
        "",
        f"Seconds per run (2 shared CPU cores, niced; {where}load average at the end "
        f"{', '.join(str(x) for x in res.get('load_average_at_end', []))}):",
        "",
        "| run | seconds |",
        "|---|---|",
    ]
    if t.get("dataset") is not None:
        made = "reused, made before" if t.get("dataset_reused") else "made now"
        lines.append(f"| dataset ({made}) | {t['dataset']} |")
    lines.append(f"| prepare (GO inputs from the KG, cells, splits) | {t['prepare']} |")
    g = t.get("gears")
    if g:
        lines.append(
            f"| GEARS data processing (DE genes, cell graphs; once) | {g['data_processing']} |"
        )
        for s, v in g["per_seed"].items():
            lines.append(
                f"| GEARS seed {s}: train / evaluate | {v['train_s']} / {v['evaluate_s']} |"
            )
        lines.append(
            f"| GEARS process in all (start, processing, all seeds) | {g['process_total']} |"
        )
    if t.get("grape_features") is not None:
        lines.append(f"| GRAPE text features (once) | {t['grape_features']} |")
    for model, per in (t.get("per_seed") or {}).items():
        for s, v in per.items():
            lines.append(f"| {LABEL[model]} seed {s}: grape train (whole process) | {v} |")
    lines.append(f"| grape evaluate (baselines, ceilings, models, all seeds) | {t['evaluate']} |")
    go = res["go_inputs"]
    lines += [
        "",
        f"GEARS GO inputs from the KG: {go['genes']} genes ({go['genes_with_go']} with GO "
        f"terms), {go['go_terms']} GO terms, {go['go_edges']} GO-graph edges (incl. self); "
        f"targets without GO terms kept as isolated GO nodes: "
        f"{', '.join(go['targets_without_go']) or 'none'}.",
        "Versions (GEARS env): " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
    ]
    code = res.get("grape_kg_code")
    if code:
        src = [f for f in code["changed_files"] if f.split("/")[0] in SOURCE_DIRS]
        lines.append(
            f"grape-kg: commit {code['commit'][:10]}"
            + (f", with uncommitted changes to {', '.join(src)}" if src else "")
            + "."
            + (f" {code['note']}" if code.get("note") else "")
        )
    if res.get("faithfulness"):
        f = res["faithfulness"]
        lines.append(
            f"Faithfulness (GEARS's own metrics vs grape evaluate, seed {f['seed']}): "
            f"max |diff| pearson_delta {f['pearson_delta']:.2e}, mse_de {f['mse_de']:.2e}: "
            f"{'pass' if f['pass'] else 'FAIL'} (tolerance 1e-6; "
            f"peers_faithfulness_{res['dataset']}.txt)."
        )
    return "\n".join(lines) + "\n"


#: top-level folders of grape-kg's code (uncommitted changes there are named in the tables)
SOURCE_DIRS = {"grapekg", "model", "kg", "cli", "cypher"}
COMPACT = ["no-change", "mean", "additive", "linear", "gears", "grape", "biodsnn"]


def render_summary() -> str:
    """One compact table over every dataset with results: pcc_delta_de20 / mse_de, mean ±
    sd over seeds (README's "GEARS side by side")."""
    head = ["dataset", "metric", *[LABEL.get(c, c) for c in COMPACT], "oracle (SYNTHETIC)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in DATASETS:
        f = RESULTS / f"peers_{name}.json"
        if not f.exists():
            continue
        res = json.loads(f.read_text())
        tag = "SYNTHETIC" if res["synthetic"] else "REAL"
        title = f"{name} ({tag}), {len(res['seeds'])} seeds"
        for i, metric in enumerate(["pcc_delta_de20", "mse_de"]):
            cells = [
                "0" if v == "0.0000 ± 0.0000" else ("not run" if v == "n/a" else v)
                for v in (fmt(res["models"], c, metric) for c in [*COMPACT, "ceiling:oracle"])
            ]
            if not res["synthetic"]:
                cells[-1] = "-"
            lines.append("| " + " | ".join([title if i == 0 else "", metric, *cells]) + " |")
    return "\n".join(lines) + "\n"


def faithfulness(res: dict) -> dict | None:
    """``faithfulness.py`` on the dataset's first seed; its summary, or None when it fails."""
    name, seed = res["dataset"], res["seeds"][0]
    out = RESULTS / f"peers_faithfulness_{name}"
    log(f"{name}: faithfulness check (seed {seed})")
    cmd = [PY, HERE / "faithfulness.py", "--dataset", name, "--work", res["work"]]
    r = subprocess.run([*map(str, cmd), "--seed", str(seed), "--out", str(out)])
    if not out.with_suffix(".json").exists():
        log(f"faithfulness check did not run ({r.returncode})")
        return None
    s = json.loads(out.with_suffix(".json").read_text())["summary"]
    if r.returncode:
        log(f"faithfulness check FAILED (see {out}.txt)")
    return {
        "seed": seed,
        "pass": s["pass"],
        "pearson_delta": s["pearson_delta"]["max_abs_diff"],
        "mse_de": s["mse_de"]["max_abs_diff"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--gears-python", help="python of the GEARS venv (setup.sh); required unless --render-only"
    )
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--models", default=",".join(PEERS), help="of gears,grape,biodsnn")
    p.add_argument("--seeds", default=None, help="override every dataset's seeds, e.g. 1..2")
    p.add_argument("--gears-epochs", type=int, default=None)
    p.add_argument(
        "--grape-threads",
        type=int,
        default=None,
        help="OMP/MKL threads of grape-kg's steps (train, features, evaluate); GEARS unchanged",
    )
    p.add_argument("--force", action="store_true")
    p.add_argument("--no-faithfulness", action="store_true")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite peers_<dataset>.txt from the existing .json; run nothing",
    )
    args = p.parse_args(argv)
    names = [n for n in args.datasets.split(",") if n]
    unknown = sorted(set(names) - set(DATASETS)) + sorted(
        set(args.models.split(",")) - set(PEERS) - {""}
    )
    if unknown:
        p.error(f"--datasets / --models: unknown {', '.join(unknown)}")
    if args.render_only:
        for name in names:
            res = json.loads((RESULTS / f"peers_{name}.json").read_text())
            (RESULTS / f"peers_{name}.txt").write_text(render(res, res["versions"]))
        (RESULTS / "peers_summary.txt").write_text(render_summary())
        return 0
    if not args.gears_python and "gears" in args.models.split(","):
        p.error("--gears-python is required (run.sh passes it)")
    data_dir = Settings.load().data_dir
    RESULTS.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        res = run_dataset(name, DATASETS[name], args.gears_python, args, data_dir)
        vfile = Path(res["work"]) / "gears_versions.json"
        res["versions"] = json.loads(vfile.read_text()) if vfile.exists() else {}
        if not args.no_faithfulness and "gears" in args.models.split(","):
            res["faithfulness"] = faithfulness(res)
        res["times_s"]["bench_wall"] = round(time.perf_counter() - t0, 1)
        # the record names the work folder as anyone can find it, not this checkout's path
        record = {**res, "work": res["work"].replace(str(data_dir), "$GRAPE_DATA_DIR")}
        (RESULTS / f"peers_{name}.json").write_text(json.dumps(record, indent=1))
        text = render(res, res["versions"])
        (RESULTS / f"peers_{name}.txt").write_text(text)
        print(text, flush=True)
    (RESULTS / "peers_summary.txt").write_text(render_summary())
    log(f"all done in {time.perf_counter() - t_all:.0f} s; tables in {RESULTS}/peers_*.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
