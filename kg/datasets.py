"""Perturbation datasets in the knowledge graph.

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

from grapekg.kg.genes import GeneIndex
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.store import Store
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.de import compute_de
from grapekg.perturb.errors import DataError
from grapekg.perturb.summaries import summarise_h5ad
from grapekg.settings import Settings

log = logging.getLogger(__name__)


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


# ---------------------------------------------------------------------- genes
def resolve_genes(index: GeneIndex, gene_ids: Sequence[str], gene_names: Sequence[str]
                  ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Map a dataset's var to KG genes: an Ensembl id in the var index wins, else the symbol
    (the primary-assembly gene when a symbol names several). Returns the table and the
    symbols still ambiguous."""
    rows, ambiguous = [], {}
    for gid, sym in zip(gene_ids, gene_names, strict=True):
        base = str(gid).split(".")[0]
        if base in index.ensembl:
            rows.append((base, str(sym), True))
            continue
        hits = index.symbol(str(sym))
        if len(hits) == 1:
            rows.append((hits[0], str(sym), True))
        else:
            if len(hits) > 1:
                ambiguous[str(sym)] = hits
            rows.append((base if base.startswith("ENSG") else "", str(sym), False))
    return pd.DataFrame(rows, columns=["ensembl_id", "symbol", "in_kg"]), ambiguous


def resolve_target(index: GeneIndex, symbol: str, measured: dict[str, str]) -> str | None:
    if symbol in measured:
        return measured[symbol]
    if symbol.startswith("ENSG") and symbol.split(".")[0] in index.ensembl:
        return symbol.split(".")[0]
    hits = index.symbol(symbol)
    return hits[0] if len(hits) == 1 else None


# ---------------------------------------------------------------------- import
def import_h5ad(
    store: Store, settings: Settings, path: Path, *, name: str | None = None,
    pert_col: str = "condition", control: Sequence[str] = (CONTROL,), sep: str = "+",
    gene_name_col: str = "gene_name", min_cells: int = 2, normalise: bool = False,
    progress: bool = True,
) -> ImportReport:
    """Summarise, resolve and register one AnnData file (see module docstring)."""
    import h5py

    path = Path(path)
    name = name or path.stem.replace("perturb_processed", path.parent.name)
    if not name.replace("_", "").replace("-", "").isalnum():
        raise DataError(f"dataset name {name!r} must be letters, digits, - or _", parameter="--name")
    summary = summarise_h5ad(path, pert_col=pert_col, control_labels=list(control), sep=sep,
                             gene_name_col=gene_name_col, min_cells=min_cells,
                             normalise=normalise, progress=progress)
    de = compute_de(summary)
    synthetic = False
    with h5py.File(path, "r") as f:
        if "uns" in f and "synthetic" in f["uns"]:
            synthetic = bool(np.asarray(f["uns"]["synthetic"][()]))
    index = gene_index_from_store(store)
    if not len(index):
        raise DataError("the knowledge graph has no genes: run 'grape kg build' first")
    genes, ambiguous = resolve_genes(index, summary.gene_ids, summary.gene_names)
    measured = {s: e for s, e, ok in genes.itertuples(index=False, name=None) if ok}
    cond_rows, missing_targets = [], set()
    for i, cond in enumerate(summary.conditions):
        targets = parse_condition(cond)
        resolved = []
        for t in targets:
            eid = resolve_target(index, t, measured)
            if eid is None:
                missing_targets.add(t)
            else:
                resolved.append(eid)
        kind = "control" if not targets else ("single" if len(targets) == 1 else "combo")
        cond_rows.append({"id": f"{name}/{cond}", "name": cond, "kind": kind,
                          "n_cells": int(summary.n_cells[i]), "n_targets": len(targets),
                          "targets": resolved})
    meta = {
        "name": name, "source_file": str(path.resolve()), "pert_col": pert_col,
        "control": list(control), "sep": sep, "normalised_on_import": normalise,
        "n_cells": int(summary.n_cells.sum()), "n_genes": len(summary.gene_ids),
        "n_conditions": len(summary.conditions) - 1, "genes_in_kg": int(genes["in_kg"].sum()),
        "synthetic": synthetic, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets_not_in_kg": sorted(missing_targets), "ambiguous_symbols": ambiguous,
    }
    target = bundle_mod.dataset_dir(settings.data_dir, name)
    bundle_mod.save(target, summary, de, genes, meta)
    try:
        register(store, meta, target, cond_rows, genes)
    except Exception:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return ImportReport(
        name=name, bundle=target, n_cells=meta["n_cells"], n_genes=meta["n_genes"],
        n_conditions=meta["n_conditions"], genes_in_kg=meta["genes_in_kg"],
        genes_not_in_kg=[s for s, ok in zip(genes["symbol"], genes["in_kg"], strict=True) if not ok],
        genes_ambiguous=ambiguous, targets_not_in_kg=sorted(missing_targets), synthetic=synthetic)


def register(store: Store, meta: dict[str, Any], bundle_path: Path,
             conditions: list[dict[str, Any]], genes: pd.DataFrame) -> None:
    """(Re)register a dataset in one transaction: replaced whole, or not at all."""
    src = f"dataset:{meta['name']}"
    gene_rows = [{"id": e, "pos": i} for i, (e, ok) in enumerate(zip(genes["ensembl_id"], genes["in_kg"], strict=True)) if ok]
    store.write_many([
        ("MATCH (d:Dataset {name: $name}) OPTIONAL MATCH (d)-[:HAS_CONDITION]->(c:Condition) "
         "DETACH DELETE c", {"name": meta["name"]}),
        ("MATCH (:Gene)-[m:MEASURED_IN]->(:Dataset {name: $name}) DELETE m", {"name": meta["name"]}),
        ("MERGE (d:Dataset {name: $name}) SET d.path = $path, d.bundle = $bundle, "
         "d.n_cells = $n_cells, d.n_genes = $n_genes, d.n_genes_in_kg = $in_kg, "
         "d.n_conditions = $n_conditions, d.synthetic = $synthetic, d.pert_col = $pert_col, "
         "d.control = $control, d.created = $created, d.source = $src",
         {"name": meta["name"], "path": meta["source_file"], "bundle": str(bundle_path),
          "n_cells": meta["n_cells"], "n_genes": meta["n_genes"], "in_kg": meta["genes_in_kg"],
          "n_conditions": meta["n_conditions"], "synthetic": meta["synthetic"],
          "pert_col": meta["pert_col"], "control": ",".join(meta["control"]),
          "created": meta["created"], "src": src}),
        ("MATCH (d:Dataset {name: $name}) UNWIND $rows AS row "
         "CREATE (c:Condition {id: row.id, dataset: $name, name: row.name, kind: row.kind, "
         "n_cells: row.n_cells, n_targets: row.n_targets, source: $src}) "
         "CREATE (d)-[:HAS_CONDITION {source: $src}]->(c) "
         "WITH c, row UNWIND row.targets AS t MATCH (g:Gene {ensembl_id: t}) "
         "MERGE (c)-[:TARGETS {source: $src}]->(g)",
         {"name": meta["name"], "rows": conditions, "src": src}),
        ("MATCH (d:Dataset {name: $name}) UNWIND $rows AS row MATCH (g:Gene {ensembl_id: row.id}) "
         "MERGE (g)-[m:MEASURED_IN]->(d) SET m.position = row.pos, m.source = $src",
         {"name": meta["name"], "rows": gene_rows, "src": src}),
    ])


def list_datasets(store: Store) -> list[dict[str, Any]]:
    return store.read(
        "MATCH (d:Dataset) RETURN d.name AS name, d.n_cells AS cells, d.n_genes AS genes, "
        "d.n_genes_in_kg AS in_kg, d.n_conditions AS conditions, d.synthetic AS synthetic, "
        "d.bundle AS bundle ORDER BY name")


def bundle_path(store: Store, settings: Settings, name: str) -> Path:
    rows = store.read("MATCH (d:Dataset {name: $name}) RETURN d.bundle AS b", {"name": name})
    if not rows:
        known = ", ".join(r["name"] for r in list_datasets(store)) or "none"
        raise DataError(f"no dataset {name!r} in the KG (known: {known}); 'grape data import' first",
                        parameter="--dataset")
    return Path(rows[0]["b"])


# ---------------------------------------------------------------------- simulation genes
def kg_gene_table(store: Store, n_genes: int, *, seed: int = 0, coding_fraction: float = 0.6
                  ) -> pd.DataFrame:
    """``n_genes`` real KG genes for the simulator, seeded: coding genes with a GO or
    Reactome annotation, and non-coding genes (lncRNA / miRNA first), each with the lists of
    its GO biological-process terms and Reactome pathways."""
    rows = store.read(
        "MATCH (g:Gene) WHERE g.symbol IS NOT NULL "
        "RETURN g.ensembl_id AS ensembl_id, g.symbol AS symbol, g.biotype_class AS cls, "
        "g.biotype AS biotype, COUNT { (g)-[:ANNOTATED_WITH]->() } AS n_go, "
        "COUNT { (g)-[:IN_PATHWAY]->() } AS n_pw ORDER BY g.ensembl_id")
    df = pd.DataFrame(rows).drop_duplicates("symbol", keep=False)
    # symbols that would not survive the GEARS condition syntax ('+' separator, 'ctrl')
    bad = df["symbol"].str.contains(r"[+_\s]", regex=True) | (df["symbol"].str.lower() == CONTROL)
    df = df[~bad]
    rng = np.random.default_rng(seed)
    coding = df[(df.cls == "c") & ((df.n_go > 0) | (df.n_pw > 0))]
    nc = df[df.cls == "nc"]
    nc = pd.concat([nc[nc.biotype.isin(["lncRNA", "miRNA"])],
                    nc[~nc.biotype.isin(["lncRNA", "miRNA"])]])
    n_c = min(len(coding), round(n_genes * coding_fraction))
    n_nc = n_genes - n_c
    if n_nc > len(nc):
        raise DataError(f"the KG has only {len(nc)} usable non-coding genes", parameter="--genes")
    pick_c = coding.iloc[np.sort(rng.choice(len(coding), n_c, replace=False))]
    pool = nc.iloc[: max(n_nc * 3, n_nc)]
    pick_nc = pool.iloc[np.sort(rng.choice(len(pool), n_nc, replace=False))]
    chosen = pd.concat([pick_c, pick_nc]).reset_index(drop=True)
    ann = {r["id"]: r for r in store.read(
        "UNWIND $ids AS id MATCH (g:Gene {ensembl_id: id}) RETURN id, "
        "[(g)-[:ANNOTATED_WITH]->(t:GOTerm {namespace: 'biological_process'}) | t.id] AS go, "
        "[(g)-[:IN_PATHWAY]->(p:Pathway) | p.id] AS pw", {"ids": chosen["ensembl_id"].tolist()})}
    chosen["go_terms"] = [ann[e]["go"] for e in chosen["ensembl_id"]]
    chosen["pathways"] = [ann[e]["pw"] for e in chosen["ensembl_id"]]
    return chosen.rename(columns={"cls": "biotype_class"})[
        ["ensembl_id", "symbol", "biotype_class", "biotype", "go_terms", "pathways"]]
