"""A dataset's condition-level bundle on disk, next to the data folder.

``<data_dir>/datasets/<name>/``:
- ``summary.npz``: conditions, gene ids / names, n_cells, mean, var, frac_nonzero;
- ``de.json``: per condition the first 200 genes of its DE ranking (gene indices) and the
  GEARS top-20 non-dropout / non-zero lists;
- ``genes.parquet``: var order with Ensembl id (resolved through the KG), symbol, in_kg;
- ``meta.json``: source file, columns used, counts, ``synthetic`` flag, creation time; with
  guide-level labels ``"guides": {condition: {guide: n_cells}}``; with a context column
  ``"group"`` (the import's name) and ``"context"`` (this member's context value);
- ``guides.npz`` (guide-level labels only): ``condition``, ``guide``, ``n_cells`` and ``mean``
  (guides x genes) of every guide, for guide agreement.
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
    def group(self) -> str | None:
        """The import this dataset is one context of (``--context-col``), else None."""
        return self.meta.get("group")

    @property
    def context(self) -> str | None:
        return self.meta.get("context")

    def guide_table(self) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray] | None:
        """``((condition, guide) rows, n_cells, mean profiles)`` of ``guides.npz``, or None
        when the labels were not guide-level."""
        f = self.path / "guides.npz"
        if not f.exists():
            return None
        z = np.load(f, allow_pickle=False)
        keys = [(str(c), str(g)) for c, g in zip(z["condition"], z["guide"], strict=True)]
        return keys, z["n_cells"], z["mean"].astype(np.float64)

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
    """Write the bundle atomically: :func:`stage` then :func:`publish`."""
    return publish(stage(path, summary, de, genes, meta), path)


def stage(
    path: Path, summary: ConditionSummary, de: DEGenes, genes: pd.DataFrame, meta: dict[str, Any]
) -> Path:
    """Write the bundle of ``path`` into a folder beside it (``<name>.tmp``), leaving any
    bundle already at ``path`` untouched; returns that folder (:func:`publish` or
    :func:`discard` it)."""
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
    if summary.guide_keys:
        meta = {**meta, "guides": summary.guides}
        np.savez_compressed(
            tmp / "guides.npz",
            condition=np.array([c for c, _ in summary.guide_keys], dtype=object).astype(str),
            guide=np.array([g for _, g in summary.guide_keys], dtype=object).astype(str),
            n_cells=np.asarray(summary.guide_n),
            mean=np.asarray(summary.guide_mean).astype(np.float32),
        )
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    return tmp


def discard(staged: Path) -> None:
    """Remove a staged bundle (the import failed; the published one stays as it was)."""
    shutil.rmtree(staged, ignore_errors=True)


def publish(staged: Path, path: Path) -> Path:
    """Swap a staged bundle into ``path`` (the old one is removed only once replaced)."""
    path, tmp = Path(path), Path(staged)
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
