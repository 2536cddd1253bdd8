"""Import label datasets ((perturbation, gene, 0/1 label, split) tables such as PerturbQA's)
and read them back.

Import: parse and check the table (:mod:`grapekg.perturb.labels`: one-line errors with the
line number), resolve the perturbations and downstream genes to KG genes through the identity
routes (:mod:`grapekg.kg.identity`: mapped / unmapped / ambiguous counts), carve a seeded
validation part from the training perturbations (a column ``val``; the file's split is kept
unchanged), write the bundle ``<data dir>/datasets/<name>/`` (``pairs.parquet`` +
``labels.json``) into a per-process staging folder, register the dataset in the KG in one
transaction (:mod:`grapekg.kg.label_datasets`), and only then swap the staged bundle into
place. Any failure leaves the previous bundle and registration exactly as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg.app.workspace import Workspace
from grapekg.errors import GrapeError, show
from grapekg.kg import label_datasets as kg_labels
from grapekg.kg.identity import GeneResolver, ResolutionReport
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.store import Store
from grapekg.parquet import read_parquet
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.errors import DataError
from grapekg.perturb.labels import MODALITIES, TASKS, carve_validation, read_label_table
from grapekg.settings import Settings

__all__ = ["LabelDataset", "LabelImportReport", "import_labels", "list_labels", "load_labels"]

PAIRS = "pairs.parquet"
META = "labels.json"
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class LabelImportReport:
    name: str
    bundle: Path
    task: str
    cell_line: str
    modality: str
    n_pairs: int
    n_positive: int
    perturbations: dict[str, int]  # split -> perturbations ('train', 'val', 'test')
    pairs: dict[str, int]  # split -> pairs
    n_genes: int
    pert_line: str
    gene_line: str
    perts_unmapped: list[str] = field(default_factory=list)
    genes_unmapped: list[str] = field(default_factory=list)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    synthetic: bool = False


@dataclass
class LabelDataset:
    """A label dataset read back: ``meta`` (labels.json) and ``pairs`` (pert, gene, pert_id,
    gene_id, label, split, val, line)."""

    meta: dict[str, Any]
    pairs: pd.DataFrame

    def part(self, which: str) -> pd.DataFrame:
        """``train`` (all training rows), ``fit`` (training rows outside validation),
        ``val`` or ``test``."""
        p = self.pairs
        if which == "train":
            return p[p["split"] == "train"]
        if which == "fit":
            return p[(p["split"] == "train") & ~p["val"]]
        if which == "val":
            return p[p["val"]]
        if which == "test":
            return p[p["split"] == "test"]
        raise ValueError(f"part {which!r}: choose train, fit, val or test")


def _check(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise DataError(f"{show(value)}: choose from {', '.join(choices)}", parameter=option)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve(resolver: GeneResolver, names: list[str]) -> tuple[dict[str, str], ResolutionReport]:
    results = resolver.resolve_all(names)
    return {r.name: r.ensembl_id or "" for r in results}, ResolutionReport(results)


def import_labels(
    store: Store,
    settings: Settings,
    path: Path,
    *,
    name: str,
    task: str,
    cell_line: str,
    modality: str = "knockdown",
    pert_col: str = "pert",
    gene_col: str = "gene",
    label_col: str = "label",
    split_col: str = "split",
    positive: str | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    synthetic: bool = False,
) -> LabelImportReport:
    """Parse, resolve, carve, stage, register, publish (module docstring)."""
    path = Path(path)
    if not _NAME.match(name):
        raise DataError(f"{show(name)} must be letters, digits, - or _", parameter="--name")
    _check("--task", task, TASKS)
    _check("--modality", modality, MODALITIES)
    if not cell_line.strip():
        raise DataError("must not be empty", parameter="--cell-line")
    table = read_label_table(
        path,
        pert_col=pert_col,
        gene_col=gene_col,
        label_col=label_col,
        split_col=split_col,
        positive=positive,
    )
    val = carve_validation(table.pairs, val_fraction, seed)
    kind = kg_labels.dataset_kind(store, name)
    if kind not in ("labels", kg_labels.ABSENT):
        raise DataError(
            f"{name} is an expression dataset in the KG; choose another name", parameter="--name"
        )
    ws = Workspace(settings)
    target = ws.dataset_dir(name)
    if (target / "meta.json").exists():
        raise DataError(
            f"{target} holds an expression dataset bundle; choose another name", parameter="--name"
        )
    index = gene_index_from_store(store)
    if not len(index):
        raise DataError("the knowledge graph has no genes: run 'grape kg build' first")
    resolver = GeneResolver.from_store(store, index)
    perts, genes = table.perturbations, table.genes
    pert_ids, pert_report = _resolve(resolver, perts)
    gene_ids, gene_report = _resolve(resolver, genes)

    pairs = table.pairs.assign(
        pert_id=table.pairs["pert"].map(pert_ids),
        gene_id=table.pairs["gene"].map(gene_ids),
        val=val,
    )[["pert", "gene", "pert_id", "gene_id", "label", "split", "val", "line"]]
    split_of = dict(zip(pairs["pert"], pairs["split"], strict=False))
    val_perts = set(pairs.loc[pairs["val"], "pert"])
    n_perts = {
        "train": sum(s == "train" for s in split_of.values()),
        "val": len(val_perts),
        "test": sum(s == "test" for s in split_of.values()),
    }
    n_pairs = {
        "train": int((pairs["split"] == "train").sum()),
        "val": int(pairs["val"].sum()),
        "test": int((pairs["split"] == "test").sum()),
    }
    meta = {
        "name": name,
        "kind": "labels",
        "task": task,
        "cell_line": cell_line,
        "modality": modality,
        "source_file": str(path.resolve()),
        "sha256": _sha256(path),
        "pert_col": pert_col,
        "gene_col": gene_col,
        "label_col": label_col,
        "split_col": split_col,
        "positive": positive,
        "val_fraction": val_fraction,
        "seed": seed,
        "synthetic": synthetic,
        "n_pairs": len(pairs),
        "n_positive": int(pairs["label"].sum()),
        "n_perturbations": len(perts),
        "n_genes": len(genes),
        "genes_in_kg": gene_report.n_resolved,
        "perturbations": n_perts,
        "pairs": n_pairs,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "pert_resolution": pert_report.as_dict(),
        "gene_resolution": gene_report.as_dict(),
    }
    conditions = [
        {
            "id": f"{name}/{p}",
            "name": p,
            "kind": "single",
            "n_cells": None,
            "n_targets": 1,
            "targets": [pert_ids[p]] if pert_ids[p] else [],
        }
        for p in perts
    ]
    measured = [{"id": gene_ids[g], "pos": i} for i, g in enumerate(genes) if gene_ids[g]]

    tmp = target.parent / f".{name}.staging-{os.getpid()}"
    bundle_mod.discard(tmp)
    try:
        tmp.mkdir(parents=True)
        pairs.to_parquet(tmp / PAIRS, index=False)
        (tmp / META).write_text(json.dumps(meta, indent=1))
        try:
            kg_labels.register(store, meta, target, conditions, measured)
        except GrapeError as err:
            raise DataError(
                f"registering {name} in the KG failed, nothing was changed (the previous "
                f"dataset, if any, is kept): {err}",
                path=path,
            ) from None
    except BaseException:
        bundle_mod.discard(tmp)
        raise
    bundle_mod.publish(tmp, target)
    return LabelImportReport(
        name=name,
        bundle=target,
        task=task,
        cell_line=cell_line,
        modality=modality,
        n_pairs=len(pairs),
        n_positive=meta["n_positive"],
        perturbations=n_perts,
        pairs=n_pairs,
        n_genes=len(genes),
        pert_line=pert_report.line("perturbations"),
        gene_line=gene_report.line("downstream genes"),
        perts_unmapped=[p for p in perts if not pert_ids[p]],
        genes_unmapped=[g for g in genes if not gene_ids[g]],
        ambiguous={**pert_report.ambiguous(), **gene_report.ambiguous()},
        synthetic=synthetic,
    )


def load_labels(settings: Settings | Workspace, name: str) -> LabelDataset:
    """The bundle of label dataset ``name`` (DataError when there is none)."""
    ws = settings if isinstance(settings, Workspace) else Workspace(settings)
    folder = ws.dataset_dir(name)
    if not (folder / META).exists():
        raise DataError(
            f"no label dataset {name!r} here ('grape labels import' first)", path=folder
        )
    meta = json.loads((folder / META).read_text())
    pairs = read_parquet(folder / PAIRS)
    pairs["val"] = pairs["val"].astype(bool)
    pairs["label"] = pairs["label"].astype(np.int8)
    return LabelDataset(meta, pairs)


def list_labels(settings: Settings | Workspace) -> list[dict[str, Any]]:
    """The label datasets in the data folder (from their ``labels.json``), by name."""
    ws = settings if isinstance(settings, Workspace) else Workspace(settings)
    out = []
    for meta in sorted((ws.data_dir / "datasets").glob(f"*/{META}")):
        try:
            m = json.loads(meta.read_text())
        except (OSError, ValueError):
            continue
        out.append(
            {k: m.get(k) for k in ("name", "task", "cell_line", "modality", "n_pairs", "synthetic")}
            | {"perturbations": m.get("perturbations", {}), "n_genes": m.get("n_genes")}
        )
    return out
