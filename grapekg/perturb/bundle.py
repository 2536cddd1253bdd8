"""A dataset's condition-level bundle on disk, next to the data folder.

``<data_dir>/datasets/<name>/``:
- ``summary.npz``: conditions, gene ids / names, n_cells, mean, var, frac_nonzero;
- ``de.json``: per condition the first 200 genes of its DE ranking (gene indices) and the
  GEARS top-20 non-dropout / non-zero lists;
- ``genes.parquet``: var order with Ensembl id (resolved through the KG), symbol, in_kg;
- ``meta.json``: source file, columns used, counts, ``synthetic`` flag, creation time.
Expression itself stays in these files; Neo4j holds only the Dataset/Condition graph.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg.parquet import read_parquet
from grapekg.perturb.de import DEGenes
from grapekg.perturb.errors import DataError
from grapekg.perturb.summaries import ConditionSummary

#: genes kept of each condition's DE ranking (DE20 / DE40 / top-200 metrics need no more)
TOP_RANKED = 200


@dataclass
class Bundle:
    path: Path
    summary: ConditionSummary
    de_rank: dict[str, np.ndarray]
    non_dropout_20: dict[str, np.ndarray]
    genes: pd.DataFrame
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    def truth(self) -> dict[str, np.ndarray]:
        """Condition -> mean profile (ctrl included)."""
        return {c: self.summary.mean[i] for i, c in enumerate(self.summary.conditions)}


def dataset_dir(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / "datasets" / name


def save(
    path: Path, summary: ConditionSummary, de: DEGenes, genes: pd.DataFrame, meta: dict[str, Any]
) -> Path:
    """Write the bundle atomically (a temporary folder renamed into place)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.savez_compressed(
        tmp / "summary.npz",
        conditions=np.array(summary.conditions, dtype=object).astype(str),
        gene_ids=summary.gene_ids.astype(str),
        gene_names=summary.gene_names.astype(str),
        n_cells=summary.n_cells,
        mean=summary.mean.astype(np.float32),
        var=np.nan_to_num(summary.var).astype(np.float32),
        frac_nonzero=summary.frac_nonzero.astype(np.float32),
    )
    de_json = {
        c: {
            "rank": de.top(c, TOP_RANKED).tolist(),
            "non_dropout_20": de.top_non_dropout_20[c].tolist(),
            "non_zero_20": de.top_non_zero_20[c].tolist(),
        }
        for c in summary.conditions
        if c != "ctrl"
    }
    (tmp / "de.json").write_text(json.dumps(de_json))
    genes.to_parquet(tmp / "genes.parquet", index=False)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def load(path: Path) -> Bundle:
    path = Path(path)
    if not (path / "meta.json").exists():
        raise DataError("no dataset bundle here (run 'grape data import' first)", path=path)
    z = np.load(path / "summary.npz", allow_pickle=False)
    summary = ConditionSummary(
        conditions=[str(c) for c in z["conditions"]],
        gene_ids=z["gene_ids"].astype(object),
        gene_names=z["gene_names"].astype(object),
        n_cells=z["n_cells"],
        mean=z["mean"].astype(np.float64),
        var=z["var"].astype(np.float64),
        frac_nonzero=z["frac_nonzero"].astype(np.float64),
        source=str(path),
    )
    de = json.loads((path / "de.json").read_text())
    return Bundle(
        path=path,
        summary=summary,
        de_rank={c: np.asarray(v["rank"], dtype=np.int64) for c, v in de.items()},
        non_dropout_20={c: np.asarray(v["non_dropout_20"], dtype=np.int64) for c, v in de.items()},
        genes=read_parquet(path / "genes.parquet"),
        meta=json.loads((path / "meta.json").read_text()),
    )
