"""Import and simulate perturbation datasets: the flow joining the data layer
(:mod:`grapekg.perturb`) with the KG (:mod:`grapekg.kg.datasets`).

Import: stream an AnnData into condition-level summaries and DE genes (bundle files next to
the data folder), resolve its genes and perturbation targets to Ensembl ids through the KG,
and register ``(Dataset)-[:HAS_CONDITION]->(Condition)-[:TARGETS]->(Gene)`` and
``(Gene)-[:MEASURED_IN]->(Dataset)`` in one transaction (all or nothing). Simulation draws its
genes (with their GO BP terms and Reactome pathways) from the KG.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg.app.workspace import Workspace
from grapekg.kg import datasets as kg_datasets
from grapekg.kg.identity import GeneResolver, ResolutionReport
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.schema import load_default
from grapekg.kg.store import Store
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb import download as dl
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.de import compute_de
from grapekg.perturb.errors import DataError
from grapekg.perturb.progress import Progress
from grapekg.perturb.summaries import summarise_h5ad
from grapekg.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "DOWNLOADABLE",
    "ImportReport",
    "SimulationResult",
    "download_dataset",
    "import_h5ad",
    "kg_gene_table",
    "list_datasets",
    "simulate_dataset",
]

#: public GEARS-format datasets ``grape data download`` knows
DOWNLOADABLE = tuple(dl.DATASETS)


@dataclass
class ImportReport:
    name: str
    bundle: Path
    n_cells: int
    n_genes: int
    n_conditions: int
    genes_in_kg: int
    genes_not_in_kg: list[str] = field(default_factory=list)
    genes_ambiguous: dict[str, list[str]] = field(default_factory=dict)
    targets_not_in_kg: list[str] = field(default_factory=list)
    synthetic: bool = False
    gene_line: str = ""  # ResolutionReport.line of the measured genes
    target_line: str = ""
    renamed: dict[str, str] = field(default_factory=dict)  # name -> Ensembl id, via a synonym
    external: dict[str, str] = field(default_factory=dict)  # name -> gene outside the release


def import_h5ad(
    store: Store,
    settings: Settings,
    path: Path,
    *,
    name: str | None = None,
    pert_col: str = "condition",
    control: Sequence[str] = (CONTROL,),
    sep: str = "+",
    gene_name_col: str = "gene_name",
    min_cells: int = 2,
    normalise: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Summarise, resolve and register one AnnData file (see module docstring)."""
    import h5py

    path = Path(path)
    name = name or path.stem.replace("perturb_processed", path.parent.name)
    if not name.replace("_", "").replace("-", "").isalnum():
        raise DataError(
            f"dataset name {name!r} must be letters, digits, - or _", parameter="--name"
        )
    summary = summarise_h5ad(
        path,
        pert_col=pert_col,
        control_labels=list(control),
        sep=sep,
        gene_name_col=gene_name_col,
        min_cells=min_cells,
        normalise=normalise,
        progress=progress,
    )
    de = compute_de(summary)
    synthetic = False
    with h5py.File(path, "r") as f:
        if "uns" in f and "synthetic" in f["uns"]:
            synthetic = bool(np.asarray(f["uns"]["synthetic"][()]))
    index = gene_index_from_store(store)
    if not len(index):
        raise DataError("the knowledge graph has no genes: run 'grape kg build' first")
    resolver = GeneResolver.from_store(store, index)
    genes, gene_report = kg_datasets.resolve_genes(resolver, summary.gene_ids, summary.gene_names)
    measured = {
        s: e
        for s, e, ok in genes[["symbol", "ensembl_id", "in_kg"]].itertuples(index=False, name=None)
        if ok
    }
    cond_rows, target_results = [], {}
    for i, cond in enumerate(summary.conditions):
        targets = parse_condition(cond)
        resolved = []
        for t in targets:
            r = target_results.setdefault(t, kg_datasets.resolve_target(resolver, t, measured))
            if r.resolved:
                resolved.append(r.ensembl_id)
        kind = "control" if not targets else ("single" if len(targets) == 1 else "combo")
        cond_rows.append(
            {
                "id": f"{name}/{cond}",
                "name": cond,
                "kind": kind,
                "n_cells": int(summary.n_cells[i]),
                "n_targets": len(targets),
                "targets": resolved,
            }
        )
    target_report = ResolutionReport(list(target_results.values()))
    missing_targets = {r.name for r in target_results.values() if not r.resolved}
    ambiguous = gene_report.ambiguous()
    meta = {
        "name": name,
        "source_file": str(path.resolve()),
        "pert_col": pert_col,
        "control": list(control),
        "sep": sep,
        "normalised_on_import": normalise,
        "n_cells": int(summary.n_cells.sum()),
        "n_genes": len(summary.gene_ids),
        "n_conditions": len(summary.conditions) - 1,
        "genes_in_kg": int(genes["in_kg"].sum()),
        "synthetic": synthetic,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets_not_in_kg": sorted(missing_targets),
        "ambiguous_symbols": ambiguous,
        "gene_resolution": gene_report.as_dict(),
        "target_resolution": target_report.as_dict(),
    }
    target = Workspace(settings).dataset_dir(name)
    bundle_mod.save(target, summary, de, genes, meta)
    try:
        kg_datasets.register(store, meta, target, cond_rows, genes)
    except Exception:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return ImportReport(
        name=name,
        bundle=target,
        n_cells=meta["n_cells"],
        n_genes=meta["n_genes"],
        n_conditions=meta["n_conditions"],
        genes_in_kg=meta["genes_in_kg"],
        genes_not_in_kg=[
            s for s, ok in zip(genes["symbol"], genes["in_kg"], strict=True) if not ok
        ],
        genes_ambiguous=ambiguous,
        targets_not_in_kg=sorted(missing_targets),
        synthetic=synthetic,
        gene_line=gene_report.line("measured genes"),
        target_line=target_report.line("targets"),
        renamed={**gene_report.renamed(), **target_report.renamed()},
        external={**gene_report.external(), **target_report.external()},
    )


def kg_gene_table(
    store: Store, n_genes: int, *, seed: int = 0, coding_fraction: float = 0.6
) -> pd.DataFrame:
    """``n_genes`` real KG genes for the simulator, seeded: coding genes with a GO or
    Reactome annotation, and non-coding genes (lncRNA / miRNA first), each with the lists of
    its GO biological-process terms and Reactome pathways."""
    df = kg_datasets.simulation_candidates(store).drop_duplicates("symbol", keep=False)
    # symbols that would not survive the GEARS condition syntax ('+' separator, 'ctrl')
    bad = df["symbol"].str.contains(r"[+_\s]", regex=True) | (df["symbol"].str.lower() == CONTROL)
    df = df[~bad]
    rng = np.random.default_rng(seed)
    coding = df[(df.cls == "c") & ((df.n_go > 0) | (df.n_pw > 0))]
    nc = df[df.cls == "nc"]
    nc = pd.concat(
        [nc[nc.biotype.isin(["lncRNA", "miRNA"])], nc[~nc.biotype.isin(["lncRNA", "miRNA"])]]
    )
    n_c = min(len(coding), round(n_genes * coding_fraction))
    n_nc = n_genes - n_c
    if n_nc > len(nc):
        raise DataError(f"the KG has only {len(nc)} usable non-coding genes", parameter="--genes")
    pick_c = coding.iloc[np.sort(rng.choice(len(coding), n_c, replace=False))]
    pool = nc.iloc[: max(n_nc * 3, n_nc)]
    pick_nc = pool.iloc[np.sort(rng.choice(len(pool), n_nc, replace=False))]
    chosen = pd.concat([pick_c, pick_nc]).reset_index(drop=True)
    ann = kg_datasets.bp_terms_and_pathways(store, chosen["ensembl_id"].tolist())
    chosen["go_terms"] = [ann[e]["go"] for e in chosen["ensembl_id"]]
    chosen["pathways"] = [ann[e]["pw"] for e in chosen["ensembl_id"]]
    return chosen.rename(columns={"cls": "biotype_class"})[
        ["ensembl_id", "symbol", "biotype_class", "biotype", "go_terms", "pathways"]
    ]


@dataclass
class SimulationResult:
    """A simulated dataset: where its files are, its planted edges and its import report."""

    h5ad: Path
    planted_edges: Path
    n_planted: int
    report: ImportReport


def simulate_dataset(
    store: Store,
    settings: Settings,
    *,
    genes: int = 5000,
    conditions: int = 150,
    cells_per_condition: int = 50,
    combos: float = 0.4,
    seed: int = 0,
    name: str = "sim5k",
    status: Any = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Choose KG genes, simulate a SYNTHETIC dataset on them (GEARS format, labelled
    synthetic, with its planted edges under ``raw/<name>``) and import it. ``status(text)``,
    when given, is a context manager shown around the slow steps (the CLI's spinner)."""
    from contextlib import nullcontext

    from grapekg.perturb.simulate import simulate as run_sim

    ws = Workspace(settings)
    out = ws.raw_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    step = status or (lambda _text: nullcontext())
    with step("choosing KG genes…"):
        table_ = kg_gene_table(store, genes, seed=seed)
    with step("simulating (SYNTHETIC)…"):
        relations = {r: (s, d) for s, r, d in load_default().gene_relations}
        sim = run_sim(
            table_,
            n_conditions=conditions,
            cells_per_condition=cells_per_condition,
            combo_fraction=combos,
            seed=seed,
            relations=relations,
        )
    h5 = out / "perturb_processed.h5ad"
    sim.adata.write_h5ad(h5)
    planted = ws.planted_edges(name)
    sim.edges.to_parquet(planted, index=False)
    rep = import_h5ad(store, settings, h5, name=name, progress=progress)
    return SimulationResult(h5, planted, len(sim.edges), rep)


def list_datasets(store: Store) -> list[dict[str, Any]]:
    """Datasets registered in the KG."""
    return kg_datasets.list_datasets(store)


def download_dataset(
    settings: Settings,
    dataset: str,
    dest: Path | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download a public GEARS-format dataset into ``dest`` (default ``<data dir>/raw``)."""
    return dl.download(
        dataset, dest or Workspace(settings).raw_dir(), url=url, sha256=sha256, progress=progress
    )
