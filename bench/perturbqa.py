"""PerturbQA benchmark: which downstream genes does an unseen CRISPRi knock-down move (``de``),
and which way (``direction``), per cell line; every label baseline beside the published rows.

    python bench/perturbqa.py --data DIR [--cell-lines k562,rpe1,hepg2] [--seeds 1..5]
        [--out bench/results/perturbqa] [--sources go,string] [--models ...] [--val-fraction 0.1]

Reads ``DIR/<cell>-de.csv`` and ``DIR/<cell>-dir.csv`` (PerturbQA's ``pert,gene,label,split``;
Wu et al., ICLR 2025; Genentech Non-Commercial licence: the files are read from DIR, never
copied). The file's split is used unchanged; per seed a validation part (``--val-fraction`` of
the training perturbations, :func:`grapekg.perturb.labels.carve_validation`) selects the
retrieval settings (top-k, weight power) by validation AUC, then the model is refitted on all
training pairs and scored on the test pairs (AUC per gene as PerturbQA defines it, AUPRC per
gene and pooled: :mod:`grapekg.evaluation.label_metrics`).

Needs a running server with the KG built (``grape db start && grape kg build``): symbols
resolve through the KG's identity routes, GO annotations and STRING neighbourhoods are read
from it (:mod:`grapekg.kg.export.gene_sets`; a source that is not loaded is reported and its
rows left out), text vectors come from the offline encoder on the KG's gene texts.

Models: ``gene-rate``, ``kg-retrieval`` (every loaded source) and its one-source ablations
``kg-retrieval[go]`` / ``kg-retrieval[string]``, ``logistic-kg``, ``text-knn``, and ``grape``:
GRAPE's label model (:class:`grapekg.app.label_train.GrapeLabels`) over GO, STRING and
CollecTRI (signed relations, when loaded), its epoch chosen on the same seeded validation
perturbations; the table adds its paired difference with ``kg-retrieval`` per seed and its
margin over SUMMER in seed sds. :data:`EXTRA_MODELS` is the hook for further models.

Writes ``OUT/perturbqa.txt`` (tables per task beside the published rows, CPU seconds per seed
and cell line), ``OUT/perturbqa.json`` (``{cell: {task: {model: {auc_mean, auc_sd,
auprc_mean, auprc_pooled_mean, seconds}}}}``; seconds = mean CPU seconds of one seed) and
``OUT/perturbqa.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from grapekg.app.db import open_store
from grapekg.app.workspace import Workspace
from grapekg.cli.common import parse_seeds
from grapekg.evaluation.label_baselines import GeneRate, KGRetrieval, LogisticKG, TextKNN
from grapekg.evaluation.label_metrics import score_labels
from grapekg.kg import features as kg_features
from grapekg.kg.export.gene_sets import KNOWLEDGE, knowledge_sets
from grapekg.kg.identity import GeneResolver
from grapekg.kg.loader import gene_index_from_store
from grapekg.perturb.labels import carve_validation, read_label_table
from grapekg.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TASKS = {"de": "de", "direction": "dir"}  # task key -> file suffix

#: Table 1 of Wu et al. (ICLR 2025), AUC per gene, as quoted in the PerturbQA data README of
#: ../shared/data/perturbqa: model -> cell line -> (DE, direction)
PUBLISHED = {
    "MLP": {"k562": (0.48, 0.53), "rpe1": (0.51, 0.51), "hepg2": (0.51, 0.49)},
    "GAT": {"k562": (0.53, 0.59), "rpe1": (0.55, 0.60), "hepg2": (0.58, 0.63)},
    "GEARS": {"k562": (0.55, 0.67), "rpe1": (0.49, 0.61), "hepg2": (0.48, 0.52)},
    "GenePT-Gene": {"k562": (0.57, 0.49), "rpe1": (0.55, 0.61), "hepg2": (0.56, 0.61)},
    "GenePT-Protein": {"k562": (0.59, 0.55), "rpe1": (0.56, 0.61), "hepg2": (0.54, 0.55)},
    "retrieval (no LLM)": {"k562": (0.58, 0.69), "rpe1": (0.59, 0.63), "hepg2": (0.56, 0.64)},
    "SUMMER": {"k562": (0.62, 0.64), "rpe1": (0.59, 0.64), "hepg2": (0.62, 0.66)},
}
#: the retrieval settings chosen on validation: top-k (None = every labelled training
#: perturbation of the gene) x weight power
RETRIEVAL_GRID = [(None, 1.0), (None, 2.0), (20, 2.0)]
#: hook for trained models (e.g. ``"grape": factory(seed, knowledge) -> fit/predict object``)
EXTRA_MODELS: dict[str, Callable] = {}


def grape_factory(store, keys: set[str]) -> Callable:
    """``(seed, sets) -> GrapeLabels`` with CollecTRI's signed edges among ``keys`` when the
    graph holds a complete CollecTRI load."""
    from grapekg.app.label_runs import collectri_relations
    from grapekg.app.label_train import GrapeLabels

    signed = collectri_relations(store, keys)
    log(f"grape: CollecTRI edges among the table's genes: {sum(map(len, signed.values())):,}")
    return lambda seed, sets: GrapeLabels(sets, signed=signed, seed=seed)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def text_vectors(store, settings: Settings, ids: list[str]) -> dict[str, np.ndarray]:
    """Embedding of each gene's KG text (description + GO BP term and Reactome pathway names)
    with the offline encoder (cached on disk)."""
    from grapekg.model.features.text import TextEncoder

    texts = kg_features.gene_texts(store, ids, enrich=True)
    keys = [i for i in ids if i in texts]
    enc = TextEncoder(cache_dir=Workspace(settings).cache_dir / "embeddings", normalize=True)
    vec = enc.encode([texts[k] for k in keys])
    return {k: vec[i] for i, k in enumerate(keys)}


def select_retrieval(make, fit, val) -> tuple[int | None, float]:
    """The (top_k, power) of :data:`RETRIEVAL_GRID` with the best validation AUC."""
    best, arg = -1.0, RETRIEVAL_GRID[0]
    for k, pw in RETRIEVAL_GRID:
        m = make(k, pw).fit(*fit)
        auc = score_labels(val[1], val[2], m.predict(val[0], val[1])).auc
        if auc > best:
            best, arg = auc, (k, pw)
    return arg


def run_task(pairs, ids, know, vectors, models, seeds, val_fraction):
    """Per model: per-seed scores and CPU seconds on one (cell line, task)."""
    p = pairs["pert"].map(ids).to_numpy(object)
    g = pairs["gene"].map(ids).to_numpy(object)
    y = pairs["label"].to_numpy().astype(int)
    tr = (pairs["split"] == "train").to_numpy()
    te = ~tr
    train, test = (p[tr], g[tr], y[tr]), (p[te], g[te], y[te])
    out: dict[str, list[dict]] = {m: [] for m in models}
    for seed in seeds:
        val = carve_validation(pairs, val_fraction, seed)
        fit = (p[tr & ~val], g[tr & ~val], y[tr & ~val])
        vpart = (p[val], g[val], y[val])
        for name in models:
            t0 = time.process_time()
            params: dict = {}
            if name == "gene-rate":
                model = GeneRate()
            elif name.startswith("kg-retrieval"):
                srcs = know if name == "kg-retrieval" else {name[13:-1]: know[name[13:-1]]}

                def make(k, pw, srcs=srcs, seed=seed):
                    return KGRetrieval(srcs, top_k=k, power=pw, seed=seed)

                k, pw = select_retrieval(make, fit, vpart)
                params = {"top_k": k, "power": pw}
                model = make(k, pw)
            elif name == "text-knn":

                def make(k, pw, seed=seed):
                    return TextKNN(vectors, top_k=k, power=pw, seed=seed)

                k, pw = select_retrieval(make, fit, vpart)
                params = {"top_k": k, "power": pw}
                model = make(k, pw)
            elif name == "logistic-kg":
                model = LogisticKG(know, n_components=32, seed=seed)
            else:
                model = EXTRA_MODELS[name](seed, know)
            if name in EXTRA_MODELS:  # the same validation perturbations pick its epoch
                model.fit(*train, val_perts=sorted(set(p[tr & val])))
            else:
                model.fit(*train)
            if hasattr(model, "learned"):
                params = model.learned()
            res = score_labels(test[1], test[2], model.predict(test[0], test[1]))
            out[name].append(
                {
                    "seed": seed,
                    "auc": res.auc,
                    "auprc": res.auprc,
                    "auprc_pooled": res.auprc_pooled,
                    "n_genes": res.n_genes,
                    "seconds": time.process_time() - t0,
                    **params,
                }
            )
        log(f"  seed {seed}: " + ", ".join(f"{m} {out[m][-1]['auc']:.3f}" for m in models))
    return out


def summarise(runs: list[dict]) -> dict:
    auc = np.array([r["auc"] for r in runs])
    return {
        "auc_mean": float(auc.mean()),
        "auc_sd": float(auc.std(ddof=1)) if len(auc) > 1 else 0.0,
        "auprc_mean": float(np.mean([r["auprc"] for r in runs])),
        "auprc_pooled_mean": float(np.mean([r["auprc_pooled"] for r in runs])),
        "seconds": float(np.mean([r["seconds"] for r in runs])),
        "auc_seeds": [float(x) for x in auc],
    }


def render(result, cells, seeds, meta) -> str:
    lines = [
        "PerturbQA (Wu et al., ICLR 2025): AUC per gene on unseen CRISPRi knock-downs; "
        f"seeds {seeds[0]}..{seeds[-1]} (mean ± sd over seeds; the seed moves the validation "
        "carve, kNN tie-breaks and the logistic fit)",
        "",
        *meta,
        "",
    ]
    for task in TASKS:
        ti = 0 if task == "de" else 1
        lines.append(f"== task {task}: AUC per gene (AUPRC per gene)")
        head = f"{'model':<26}" + "".join(f"{c:>22}" for c in cells)
        lines += [head, "-" * len(head)]
        models = list(dict.fromkeys(m for c in cells for m in result[c][task]))
        for m in models:
            row = f"{m:<26}"
            for c in cells:
                r = result[c][task].get(m)
                row += (
                    f"{r['auc_mean']:>8.3f} ± {r['auc_sd']:.3f} ({r['auprc_mean']:.3f})"
                    if r
                    else f"{'-':>22}"
                )
            lines.append(row)
        lines.append("published (Table 1 of the paper):")
        for m, vals in PUBLISHED.items():
            lines.append(
                f"  {m:<24}"
                + "".join(f"{vals[c][ti]:>22.2f}" if c in vals else f"{'-':>22}" for c in cells)
            )
        lines.append("")
    lines += grape_targets(result, cells)
    lines.append("")
    lines.append("CPU seconds per seed (fit + validation selection + predict, both tasks):")
    for c in cells:
        per_seed = [
            sum(
                r["seconds"]
                for t in TASKS
                for m in result[c][t]
                for r in result[c][t][m]["runs"]
                if r["seed"] == s
            )
            for s in seeds
        ]
        lines.append(
            f"  {c}: "
            + ", ".join(f"seed {s}: {v:.1f}" for s, v in zip(seeds, per_seed, strict=True))
        )
    return "\n".join(lines) + "\n"


def grape_targets(result, cells) -> list[str]:
    """GRAPE against kg-retrieval (paired per seed) and against SUMMER (in seed sds)."""
    lines = ["GRAPE targets (paired: grape - kg-retrieval on the same seed's validation carve):"]
    have = False
    for c in cells:
        for task, ti in (("de", 0), ("direction", 1)):
            g, r = result[c][task].get("grape"), result[c][task].get("kg-retrieval")
            if not g:
                continue
            have = True
            line = f"  {c} {task}: grape {g['auc_mean']:.3f} ± {g['auc_sd']:.3f}"
            if r:
                gs = {x["seed"]: x["auc"] for x in g["runs"]}
                d = np.array([gs[x["seed"]] - x["auc"] for x in r["runs"] if x["seed"] in gs])
                sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
                line += (
                    f"; vs kg-retrieval {d.mean():+.3f} ± {sd:.3f} "
                    f"({int((d > 0).sum())}/{len(d)} seeds)"
                )
            summer = PUBLISHED["SUMMER"].get(c)
            if summer:
                margin = g["auc_mean"] - summer[ti]
                line += f"; vs SUMMER {margin:+.3f} (> 2 seed sd: {margin > 2 * g['auc_sd']})"
            lines.append(line)
    return lines if have else ["grape: not run (--models without grape)"]


def plot(result, cells, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 4.5), sharey=True)
    for ax, (task, ti) in zip(axes, (("de", 0), ("direction", 1)), strict=True):
        models = list(dict.fromkeys(m for c in cells for m in result[c][task]))
        w = 0.8 / max(len(models), 1)
        for j, m in enumerate(models):
            xs = np.arange(len(cells)) + j * w
            ys = [result[c][task].get(m, {}).get("auc_mean", np.nan) for c in cells]
            es = [result[c][task].get(m, {}).get("auc_sd", 0.0) for c in cells]
            ax.bar(xs, ys, w, yerr=es, label=m)
        for name, style in (("SUMMER", "k--"), ("GEARS", "k:")):
            for i, c in enumerate(cells):
                if c in PUBLISHED[name]:
                    ax.plot(
                        [i - w / 2, i + 0.8 - w / 2],
                        [PUBLISHED[name][c][ti]] * 2,
                        style,
                        label=f"{name} (published)" if i == 0 else None,
                    )
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.set_xticks(np.arange(len(cells)) + 0.4 - w / 2, cells)
        ax.set_title(f"PerturbQA {task}: AUC per gene (test perturbations unseen)")
        ax.set_ylim(0.45, 0.85)
    axes[0].set_ylabel("AUC per gene")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--cell-lines", default="k562,rpe1,hepg2")
    ap.add_argument("--seeds", default="1..5")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "perturbqa")
    ap.add_argument("--sources", default=",".join(KNOWLEDGE))
    ap.add_argument(
        "--models", default="gene-rate,kg-retrieval,kg-retrieval[*],logistic-kg,text-knn,grape"
    )
    ap.add_argument("--val-fraction", type=float, default=0.1)
    a = ap.parse_args(argv)
    seeds = parse_seeds(a.seeds)
    cells = [c.strip() for c in a.cell_lines.split(",") if c.strip()]
    for c in cells:
        for suffix in TASKS.values():
            f = a.data / f"{c}-{suffix}.csv"
            if not f.is_file():
                sys.exit(f"--data: no file {f}")
    settings = Settings.load()
    result: dict = {}
    meta: list[str] = []
    with open_store(settings) as store:
        t0 = time.process_time()
        resolver = GeneResolver.from_store(store, gene_index_from_store(store))
        meta.append(f"symbol resolver loaded in {time.process_time() - t0:.1f} CPU s")
        for cell in cells:
            t0 = time.process_time()
            tables = {t: read_label_table(a.data / f"{cell}-{s}.csv") for t, s in TASKS.items()}
            names = sorted({n for t in tables.values() for n in (*t.perturbations, *t.genes)})
            res = {n: resolver.resolve(n) for n in names}
            ids = {n: (r.ensembl_id or n) for n, r in res.items()}
            unmapped = sum(not r.resolved for r in res.values())
            perts = sorted({ids[p] for t in tables.values() for p in t.perturbations})
            know = knowledge_sets(store, sorted(set(ids.values())), a.sources.split(","))
            sets = {k: v for k, v in know.sets.items() if v}
            models = []
            for m in a.models.split(","):
                if m == "kg-retrieval[*]":
                    models += [f"kg-retrieval[{k}]" for k in sets] if len(sets) > 1 else []
                elif m.startswith("kg-retrieval") or m == "logistic-kg":
                    models += [m] if sets else []
                else:
                    models.append(m)
            vectors = text_vectors(store, settings, perts) if "text-knn" in models else {}
            if "grape" in models:
                EXTRA_MODELS["grape"] = grape_factory(store, set(ids.values()))
            setup = time.process_time() - t0
            meta.append(
                f"{cell}: {len(names):,} names, {unmapped} not resolved to KG genes; knowledge "
                f"used: {know.line(perts)} (perturbations); {len(vectors):,} text vectors; "
                f"setup {setup:.1f} CPU s"
            )
            log(meta[-1])
            result[cell] = {}
            for task, table in tables.items():
                runs = run_task(table.pairs, ids, sets, vectors, models, seeds, a.val_fraction)
                result[cell][task] = {m: {**summarise(r), "runs": r} for m, r in runs.items()}
                for m, r in result[cell][task].items():
                    log(f"{cell} {task} {m}: AUC {r['auc_mean']:.3f} ± {r['auc_sd']:.3f}")
            write(a.out, result, seeds, meta)
    print((a.out / "perturbqa.txt").read_text())
    print(f"wrote {a.out}/perturbqa.{{txt,json,png}}", file=sys.stderr)


def write(out: Path, result: dict, seeds: list[int], meta: list[str]) -> None:
    """The three files, for the cell lines done so far (rewritten after each one)."""
    cells = list(result)
    out.mkdir(parents=True, exist_ok=True)
    (out / "perturbqa.txt").write_text(render(result, cells, seeds, meta))
    slim = {
        c: {
            t: {m: {k: v for k, v in r.items() if k != "runs"} for m, r in tr.items()}
            for t, tr in cr.items()
        }
        for c, cr in result.items()
    }
    (out / "perturbqa.json").write_text(json.dumps(slim, indent=1))
    plot(result, cells, out / "perturbqa.png")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
