"""Cross-check of our pearson_delta and mse against cell-eval (PyPI) on SYNTHETIC data.

For each seed: a real AnnData (control + 12 perturbations, 500 genes, noisy cells with
dropout) and a predicted AnnData whose cells equal a noisy version of each condition mean
(control cells equal the real control mean, so cell-eval's per-AnnData control mean is the
same mu we use). Prints the max |ours - cell-eval| over all conditions and seeds.
"""

from __future__ import annotations

import argparse
import logging
import tempfile

import anndata as ad
import numpy as np
import pandas as pd

from grapekg.evaluation import metrics as m


def pair(seed: int, genes: int = 500, n_pert: int = 12):
    rng = np.random.default_rng(seed)
    conds = ["ctrl"] + [f"G{i}+ctrl" for i in range(n_pert)]
    cells = {c: (60 if c == "ctrl" else int(rng.integers(8, 30))) for c in conds}
    base = rng.gamma(2.0, 0.6, genes)
    blocks, labels = [], []
    for c in conds:
        shift = 0 if c == "ctrl" else rng.normal(0, 0.5, genes) * (rng.random(genes) < 0.2)
        x = np.clip(base + shift + rng.normal(0, 0.4, (cells[c], genes)), 0, None)
        x[rng.random(x.shape) < 0.3] = 0
        blocks.append(x)
        labels += [c] * cells[c]
    x_real, lab = np.vstack(blocks), np.array(labels)
    truth = {c: x_real[lab == c].mean(0) for c in conds}
    pred = {c: np.clip(truth[c] + rng.normal(0, 0.2, genes), 0, None) for c in conds[1:]}
    x_pred = np.vstack(
        [np.tile(truth["ctrl"] if c == "ctrl" else pred[c], (cells[c], 1)) for c in conds]
    )
    var = pd.DataFrame(index=[f"gene{i}" for i in range(genes)])
    obs = pd.DataFrame({"condition": pd.Categorical(lab)}, index=[f"c{i}" for i in range(len(lab))])
    return (
        ad.AnnData(X=x_pred, obs=obs, var=var),
        ad.AnnData(X=x_real, obs=obs.copy(), var=var.copy()),
        pred,
        truth,
    )


def main() -> None:
    from cell_eval import MetricsEvaluator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    logging.getLogger("cell_eval").setLevel(logging.WARNING)
    worst = {"pearson_delta": 0.0, "mse": 0.0}
    n = 0
    for seed in range(args.seeds):
        a_pred, a_real, pred, truth = pair(seed)
        with tempfile.TemporaryDirectory() as tmp:
            ev = MetricsEvaluator(
                adata_pred=a_pred,
                adata_real=a_real,
                control_pert="ctrl",
                pert_col="condition",
                num_threads=1,
                outdir=tmp,
                skip_de=True,
            )
            res, _ = ev.compute(
                profile="anndata",
                write_csv=False,
                skip_metrics=[
                    "discrimination_score_l1",
                    "discrimination_score_l2",
                    "discrimination_score_cosine",
                    "pearson_edistance",
                    "clustering_agreement",
                    "mae",
                    "mae_delta",
                    "mse_delta",
                ],
            )
        ce = res.to_pandas().set_index("perturbation")
        for c in ce.index:
            worst["pearson_delta"] = max(
                worst["pearson_delta"],
                abs(m.pcc_delta(pred[c], truth[c], truth["ctrl"]) - ce.loc[c, "pearson_delta"]),
            )
            worst["mse"] = max(worst["mse"], abs(m.mse(pred[c], truth[c]) - ce.loc[c, "mse"]))
            n += 1
    print(f"SYNTHETIC pairs: {args.seeds} seeds x 12 conditions = {n} comparisons, 500 genes")
    for k, v in worst.items():
        print(f"max |ours - cell-eval| {k:<14} {v:.3e}  ({'OK' if v < 1e-6 else 'ABOVE 1e-6'})")


if __name__ == "__main__":
    main()
