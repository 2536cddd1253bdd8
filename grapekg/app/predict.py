"""``grape predict``: a trained run's predicted mean expression after knocking down genes
(singles, doubles, genes never perturbed in training), as a table of the largest changes or
written as .h5ad, .csv or .parquet."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError
from grapekg.model.grape.train import load_model, perturbed_indices, predict_with
from grapekg.perturb.conditions import normalise_condition

__all__ = ["Change", "Prediction", "predict_run", "top_changes", "write_predictions"]


@dataclass
class Prediction:
    """Predicted profiles of one run: ``values[c]`` is ``[G]`` in the order of ``gene_ids``."""

    run_dir: Path
    conditions: list[str]
    gene_ids: list[str]
    symbols: dict[str, str]
    ctrl: np.ndarray
    values: dict[str, np.ndarray]

    def matrix(self) -> np.ndarray:
        return np.stack([self.values[c] for c in self.conditions])


@dataclass
class Change:
    gene: str
    symbol: str
    control: float
    predicted: float
    delta: float


def predict_run(ws: Workspace, run: str, perturb: Sequence[str]) -> Prediction:
    """Load the run (an id or a folder), check that every perturbed gene (``A`` or ``A+B``,
    symbols or ids) is in its graph, and predict each condition."""
    run_dir = ws.find_run(run)
    if not (run_dir / "config.json").exists():
        raise ConfigError(f"--run '{run}': no run folder at {run_dir}")
    meta = json.loads((run_dir / "meta.json").read_text())
    model, graph = load_model(run_dir)
    conds = [normalise_condition(p if "+" in p else f"{p}+ctrl") for p in perturb]
    unknown = sorted(
        {x for c in conds for x in c.split("+") if x != "ctrl" and x not in graph.symbols}
    )
    if unknown:
        raise ConfigError(f"--perturb: gene(s) not in the run's graph: {', '.join(unknown)}")
    pred = predict_with(model, perturbed_indices(graph, conds))
    return Prediction(
        run_dir,
        conds,
        [str(g) for g in meta["gene_ids"]],
        dict(zip(graph.gene_ids, graph.symbols, strict=True)),
        np.load(run_dir / "ctrl.npy"),
        {c: pred[i] for i, c in enumerate(conds)},
    )


def top_changes(pred: Prediction, condition: str, top: int) -> list[Change]:
    """The ``top`` genes with the largest predicted |change| from control."""
    p = pred.values[condition]
    d = p - pred.ctrl
    ids = pred.gene_ids
    return [
        Change(ids[i], pred.symbols.get(ids[i], ""), float(pred.ctrl[i]), float(p[i]), float(d[i]))
        for i in np.argsort(-np.abs(d))[:top]
    ]


def write_predictions(pred: Prediction, out: Path) -> None:
    """``.h5ad`` (conditions x genes, ``var['gene_name']``), else a wide table with a
    ``condition`` column: ``.parquet``, or CSV for any other suffix."""
    mat = pred.matrix()
    ids, conds = pred.gene_ids, pred.conditions
    if out.suffix == ".h5ad":
        import anndata as ad

        a = ad.AnnData(
            X=mat.astype(np.float32),
            obs=pd.DataFrame({"condition": conds}, index=conds),
            var=pd.DataFrame({"gene_name": [pred.symbols.get(i, "") for i in ids]}, index=ids),
        )
        a.uns["grapekg"] = {"run": pred.run_dir.name, "kind": "predicted condition means"}
        a.write_h5ad(out)
        return
    wide = pd.DataFrame(mat, columns=ids)
    wide.insert(0, "condition", conds)
    if out.suffix == ".parquet":
        wide.to_parquet(out, index=False)
    else:
        wide.to_csv(out, index=False)
