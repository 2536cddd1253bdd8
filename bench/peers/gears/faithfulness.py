"""Is the conversion faithful? GEARS's own metrics of its predictions vs ``grape evaluate``'s.

For one run (dataset, seed) prepared by ``prepare.py`` and trained by ``run_gears.py``:
GEARS's own evaluation (``gears.inference.compute_metrics`` for ``mse_de``,
``deeper_analysis`` for ``pearson_delta``, computed inside the GEARS environment on GEARS's
per-cell test predictions and its own DE genes) against grape-kg's (``grape evaluate
--predictions gears=gears_predictions.csv``: the per-condition mean predictions scored against
grape's condition means and grape's DE genes). Prints, per metric, the largest absolute
difference over test conditions and the difference of the means; also how many conditions'
DE-20 gene sets differ between GEARS (scanpy) and grape.

    python bench/peers/gears/faithfulness.py --dataset D --work DIR --seed 1 \
        --out bench/results/peers_faithfulness
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.perturb import bundle as bundle_mod
from grapekg.settings import Settings

METRICS = {"pearson_delta": "pearson_delta", "mse_de": "mse_de"}  # GEARS name -> grape name
TOL = 1e-6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--split", default="simulation")
    p.add_argument("--out", type=Path, required=True, help="writes OUT.txt and OUT.json")
    p.add_argument("--grape", default=str(Path(sys.executable).with_name("grape")))
    a = p.parse_args(argv)
    ev_dir = a.work / f"eval_faithfulness_seed{a.seed}"
    subprocess.run(
        [
            a.grape,
            "evaluate",
            "--dataset",
            a.dataset,
            "--split",
            a.split,
            "--seeds",
            str(a.seed),
            "--predictions",
            f"gears={a.work / 'gears_predictions.csv'}",
            "--out",
            str(ev_dir),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )
    ours = pd.read_csv(ev_dir / "per_condition.csv")
    ours = ours[(ours.model == "gears") & (ours.seed == a.seed)]
    own = json.loads((a.work / "gears_own_metrics.json").read_text())
    theirs = own["seeds"][str(a.seed)]["per_condition"]
    rows, summary = [], {}
    for g_name, our_name in METRICS.items():
        o = ours[ours.metric == our_name].set_index("condition")["value"]
        t = pd.Series({c: d[g_name] for c, d in theirs.items()}, dtype=float)
        common = sorted(set(o.index) & set(t.index))
        diff = (o[common] - t[common]).abs()
        summary[g_name] = {
            "conditions": len(common),
            "only_grape": sorted(set(o.index) - set(t.index)),
            "only_gears": sorted(set(t.index) - set(o.index)),
            "max_abs_diff": float(diff.max()),
            "worst_condition": str(diff.idxmax()),
            "mean_grape": float(o[common].mean()),
            "mean_gears": float(t[common].mean()),
            "abs_diff_of_means": float(abs(o[common].mean() - t[common].mean())),
            "pass": bool(diff.max() <= TOL),
        }
        for c in common:
            rows.append(
                {
                    "metric": g_name,
                    "condition": c,
                    "grape": float(o[c]),
                    "gears": float(t[c]),
                    "abs_diff": float(abs(o[c] - t[c])),
                }
            )
    # DE-20 sets: GEARS's (scanpy t-test inside GEARS) vs grape's (streaming Welch t-test)
    b = bundle_mod.load(bundle_mod.dataset_dir(Settings.load().data_dir, a.dataset))
    ids = np.array([str(g) for g in b.summary.gene_ids])
    de_diff = {
        c: len(set(g) ^ set(ids[b.de_rank[c][:20]].tolist())) // 2
        for c, g in own["gears_de20"].items()
        if c in b.de_rank
    }
    summary["de20_sets"] = {
        "conditions": len(de_diff),
        "conditions_differing": sum(v > 0 for v in de_diff.values()),
        "max_genes_swapped": max(de_diff.values()) if de_diff else 0,
    }
    summary.update(
        {
            "dataset": a.dataset,
            "synthetic": b.synthetic,
            "seed": a.seed,
            "split": a.split,
            "tolerance": TOL,
            "pass": all(summary[m]["pass"] for m in METRICS),
        }
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(
        json.dumps({"summary": summary, "per_condition": rows}, indent=1)
    )
    tag = " (SYNTHETIC data)" if b.synthetic else ""
    lines = [
        f"GEARS conversion faithfulness: {a.dataset}{tag}, {a.split} split, seed {a.seed}",
        "GEARS's own evaluation (inside the GEARS env) vs grape evaluate, per test condition",
        "",
        f"{'metric':<15}{'conditions':>11}{'max |diff|':>14}{'mean GEARS':>13}"
        f"{'mean grape':>13}{'|diff| means':>14}  within 1e-6",
    ]
    for m in METRICS:
        s = summary[m]
        lines.append(
            f"{m:<15}{s['conditions']:>11}{s['max_abs_diff']:>14.2e}{s['mean_gears']:>13.6f}"
            f"{s['mean_grape']:>13.6f}{s['abs_diff_of_means']:>14.2e}  "
            f"{'yes' if s['pass'] else 'NO'}"
        )
    d = summary["de20_sets"]
    lines += [
        "",
        f"DE-20 gene sets (GEARS/scanpy vs grape): {d['conditions_differing']} of "
        f"{d['conditions']} conditions differ (at most {d['max_genes_swapped']} genes "
        "swapped)",
    ]
    text = "\n".join(lines) + "\n"
    a.out.with_suffix(".txt").write_text(text)
    print(text, end="")
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
