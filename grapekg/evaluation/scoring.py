"""`grape evaluate`: every baseline (and any prediction file) on a dataset, over seeds.

For seed s the split's test conditions are predicted by each model fitted on the split's
training conditions; :func:`grapekg.evaluation.metrics.evaluate` scores each condition. A model's
score for a seed is the mean over test conditions; the table reports mean ± sd over seeds.
Predictions of other tools are read from AnnData (cells averaged per condition) or from a
table (long: condition, gene, value; or wide: a condition column plus one column per gene;
an optional ``seed`` column restricts rows to that seed's evaluation).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.evaluation import metrics as M
from grapekg.evaluation.baselines import BASELINES
from grapekg.parquet import read_parquet
from grapekg.perturb.bundle import Bundle
from grapekg.perturb.conditions import CONTROL, normalise_condition, parse_condition
from grapekg.perturb.errors import DataError
from grapekg.perturb.splits import Split, make_split

log = logging.getLogger(__name__)

HEADLINE = [
    "rmse",
    "dac",
    "dac_nonzero",
    "pcc_delta",
    "rmse_de20",
    "dac_de20",
    "pcc_delta_de20",
    "pcc_delta_de40",
    "mse_de",
    "frac_opposite_direction_top20_non_dropout",
    "frac_within_5pct_de",
    "gi_magnitude_pearson",
]
#: table label -> baseline registry key (REFERENCES 5: no-change, mean, additive, linear)
BASELINE_LABELS = {
    "no-change": "no_change",
    "mean": "train_mean",
    "additive": "additive",
    "linear": "linear_pca",
}

#: per seed: condition -> predicted mean profile (bundle gene order)
Predictions = Callable[[Split], dict[str, np.ndarray]]


@dataclass
class EvalResult:
    dataset: str
    split: str
    seeds: list[int]
    per_condition: pd.DataFrame  # model, seed, condition, subgroup, metric, value
    per_seed: pd.DataFrame  # model, seed, metric, value (mean over test conditions)
    summary: pd.DataFrame  # model x (metric_mean, metric_sd)
    synthetic: bool

    def table(self, metrics: Sequence[str] = HEADLINE) -> pd.DataFrame:
        cols = [m for m in metrics if f"{m}_mean" in self.summary.columns]
        out = pd.DataFrame(index=self.summary.index)
        for m in cols:
            out[m] = [
                (
                    "-"
                    if not np.isfinite(a)
                    else f"{a:.4f} ± {b:.4f}"
                    if np.isfinite(b)
                    else f"{a:.4f}"
                )  # one seed: no sd
                for a, b in zip(self.summary[f"{m}_mean"], self.summary[f"{m}_sd"], strict=True)
            ]
        return out


def baseline_predictor(key: str, bundle: Bundle) -> Predictions:
    """Fit baseline ``key`` on the split's training conditions, predict its test set."""
    truth = bundle.truth()
    ctrl = truth[CONTROL]
    names = list(bundle.summary.gene_names)

    def run(split: Split) -> dict[str, np.ndarray]:
        train = {c: truth[c] for c in split.train if c != CONTROL and c in truth}
        model = BASELINES[key]()
        model.fit(train, ctrl, names)
        return model.predict([c for c in split.test])

    return run


def _subgroups(split: Split) -> dict[str, str]:
    out = {c: g for g, cs in split.test_subgroup.items() for c in cs}
    for c in split.test:
        out.setdefault(c, "double" if len(parse_condition(c)) == 2 else "single")
    return out


def evaluate_models(
    bundle: Bundle,
    split_name: str,
    seeds: Sequence[int],
    models: Mapping[str, Predictions],
    *,
    gi: bool = True,
    advance: Callable[[int], None] | None = None,
) -> EvalResult:
    truth = bundle.truth()
    ctrl = truth[CONTROL]
    perts = [c for c in bundle.summary.conditions]
    frames = []
    for seed in seeds:
        split = make_split(split_name, perts, seed=seed)
        groups = _subgroups(split)
        for name, predict in models.items():
            pred = predict(split)
            conds = [c for c in split.test if c in pred]
            if not conds:
                log.warning("%s has no prediction for the test conditions of seed %d", name, seed)
                continue
            t = M.evaluate(
                pred,
                truth,
                ctrl,
                bundle.de_rank,
                bundle.non_dropout_20,
                conditions=conds,
                gi=gi,
                seed=seed,
            )
            t.insert(0, "seed", seed)
            t.insert(0, "model", name)
            t["subgroup"] = t["condition"].map(groups).fillna("all")
            frames.append(t)
            if advance:
                advance(1)
    per_condition = pd.concat(frames, ignore_index=True)
    per_seed = (
        per_condition.groupby(["model", "seed", "metric"], sort=False)["value"].mean().reset_index()
    )
    agg = (
        per_seed.groupby(["model", "metric"], sort=False)["value"]
        .agg(["mean", "std"])
        .reset_index()
    )
    summary = agg.pivot(index="model", columns="metric", values=["mean", "std"])
    summary.columns = [f"{m}_{'sd' if s == 'std' else 'mean'}" for s, m in summary.columns]
    summary = summary.reindex(list(dict.fromkeys(per_seed["model"])))
    return EvalResult(
        bundle.name, split_name, list(seeds), per_condition, per_seed, summary, bundle.synthetic
    )


# ---------------------------------------------------------------------- prediction files
def load_predictions(path: Path, bundle: Bundle, pert_col: str = "condition") -> Predictions:
    """A prediction file as a predictor (see module docstring for the formats)."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path, parameter="--predictions")
    ids = [str(g) for g in bundle.summary.gene_ids]
    syms = [str(s) for s in bundle.summary.gene_names]
    if path.suffix == ".h5ad":
        import anndata as ad

        a = ad.read_h5ad(path)
        if pert_col not in a.obs:
            raise DataError(f"obs has no column {pert_col!r}", path=path, parameter="--predictions")
        cols = [str(v) for v in a.var_names]
        X = a.X.toarray() if hasattr(a.X, "toarray") else np.asarray(a.X)
        wide = pd.DataFrame(X, columns=cols)
        wide.insert(0, "condition", a.obs[pert_col].astype(str).to_numpy())
        wide = wide.groupby("condition", sort=False).mean().reset_index()
    elif path.suffix in (".csv", ".tsv", ".parquet"):
        df = (
            read_parquet(path)
            if path.suffix == ".parquet"
            else pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
        )
        if "condition" not in df.columns:
            raise DataError("table has no 'condition' column", path=path, parameter="--predictions")
        if {"gene", "value"} <= set(df.columns):
            keys = ["condition"] + (["seed"] if "seed" in df.columns else [])
            wide = df.pivot_table(index=keys, columns="gene", values="value").reset_index()
        else:
            wide = df
    else:
        raise DataError("use .h5ad, .csv, .tsv or .parquet", path=path, parameter="--predictions")
    gene_cols = [c for c in wide.columns if c not in ("condition", "seed")]
    use = ids if set(ids) <= set(gene_cols) else syms if set(syms) <= set(gene_cols) else None
    if use is None:
        missing = len(set(ids) - set(gene_cols))
        raise DataError(
            f"lacks {missing} of the dataset's {len(ids)} genes (columns must be "
            "Ensembl ids or symbols)",
            path=path,
            parameter="--predictions",
        )
    wide["condition"] = [normalise_condition(str(c)) for c in wide["condition"]]
    values = wide[use].to_numpy(dtype=np.float64)
    seeds = wide["seed"].to_numpy() if "seed" in wide.columns else None

    def run(split: Split) -> dict[str, np.ndarray]:
        keep = np.ones(len(wide), bool) if seeds is None else seeds == split.seed
        return {c: values[i] for i, c in enumerate(wide["condition"]) if keep[i]}

    return run


# ---------------------------------------------------------------------- outputs
def write_outputs(res: EvalResult, out: Path) -> dict[str, Path]:
    """CSV / JSON tables and PNG figures (violins as GRAPE Fig. 4; GI as BioDSNN Fig. 6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    tag = " (SYNTHETIC data)" if res.synthetic else ""
    files = {
        "summary_csv": out / "summary.csv",
        "summary_json": out / "summary.json",
        "per_condition": out / "per_condition.csv",
    }
    res.summary.to_csv(files["summary_csv"])
    files["summary_json"].write_text(
        json.dumps(
            {
                "dataset": res.dataset,
                "split": res.split,
                "seeds": res.seeds,
                "synthetic": res.synthetic,
                "models": {
                    m: {k: (None if not np.isfinite(v) else float(v)) for k, v in row.items()}
                    for m, row in res.summary.iterrows()
                },
            },
            indent=1,
        )
    )
    res.per_condition.to_csv(files["per_condition"], index=False)
    pc = res.per_condition
    models = list(res.summary.index)
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.6 * len(models), 4.2))
    for ax, metric, label in (
        (axes[0], "dac", "direction accuracy (DAC)"),
        (axes[1], "pcc_delta", "Pearson delta"),
    ):
        data = [
            pc[(pc.model == m) & (pc.metric == metric)]["value"].dropna().to_numpy() for m in models
        ]
        ax.violinplot([d if len(d) else [np.nan] for d in data], showmedians=True)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
        ax.set_title(label)
    fig.suptitle(
        f"{res.dataset}, {res.split} split, seeds {res.seeds[0]}..{res.seeds[-1]}: "
        f"per test condition{tag}",
        fontsize=9,
    )
    fig.tight_layout()
    files["violins"] = out / "violins_dac_pcc_delta.png"
    fig.savefig(files["violins"], dpi=120)
    plt.close(fig)
    gi = pc[pc.metric.isin(["gi_magnitude_true", "gi_magnitude_pred"])]
    if len(gi):
        wide = gi.pivot_table(
            index=["model", "seed", "condition"], columns="metric", values="value"
        ).reset_index()
        fig, ax = plt.subplots(figsize=(5, 4.5))
        for m in models:
            sub = wide[wide.model == m]
            if len(sub):
                ax.scatter(
                    sub["gi_magnitude_true"], sub["gi_magnitude_pred"], s=14, alpha=0.7, label=m
                )
        lim = float(np.nanmax(wide[["gi_magnitude_true", "gi_magnitude_pred"]].to_numpy())) * 1.05
        ax.plot([0, lim], [0, lim], "k--", lw=0.8)
        ax.set_xlabel("true GI magnitude")
        ax.set_ylabel("predicted GI magnitude")
        ax.set_title(f"doubles: genetic-interaction magnitude{tag}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        files["gi"] = out / "gi_magnitude.png"
        fig.savefig(files["gi"], dpi=120)
        plt.close(fig)
    return files
