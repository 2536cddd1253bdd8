"""Perturbation datasets in the knowledge graph (the Neo4j side; the import flow is
:mod:`grapekg.app.datasets`).

Resolve a dataset's genes and perturbation targets to Ensembl ids through the KG's identity
routes (current and previous symbols, older releases, NCBI, aliases: :mod:`grapekg.kg.identity`);
register ``(Dataset)-[:HAS_CONDITION]->(Condition)-[:TARGETS]->(Gene)`` and
``(Gene)-[:MEASURED_IN]->(Dataset)`` in one transaction (all or nothing); list datasets and
find a dataset's bundle; read the candidate genes (with their GO BP terms and Reactome
pathways) simulation draws from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from grapekg import cypher
from grapekg.errors import ConfigError
from grapekg.kg.identity import ENSG, GeneResolver, Resolution, ResolutionReport
from grapekg.kg.store import Store
from grapekg.settings import Settings

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------- genes
def resolve_genes(
    resolver: GeneResolver, gene_ids: Sequence[str], gene_names: Sequence[str]
) -> tuple[pd.DataFrame, ResolutionReport]:
    """Map a dataset's var to KG genes through the identity routes of
    :mod:`grapekg.kg.identity`: an Ensembl id in the var index first, then the symbol. Returns
    the table (``ensembl_id``, ``symbol``, ``in_kg``, ``route``, ``external``) and the report
    (ambiguous names are listed there, never chosen)."""
    rows, results = [], []
    for gid, sym in zip(gene_ids, gene_names, strict=True):
        gid, sym = str(gid), str(sym)
        r = resolver.resolve(gid) if ENSG.match(gid) else None
        if r is None or not r.resolved:
            by_symbol = resolver.resolve(sym)
            if r is None or by_symbol.resolved or not r.identified:
                r = by_symbol
        results.append(r)
        base = gid.split(".")[0]
        rows.append(
            (
                r.ensembl_id or (base if ENSG.match(gid) else ""),
                sym,
                r.resolved,
                r.route or "",
                r.external or "",
            )
        )
    table = pd.DataFrame(rows, columns=["ensembl_id", "symbol", "in_kg", "route", "external"])
    return table, ResolutionReport(results)


def resolve_target(resolver: GeneResolver, name: str, measured: dict[str, str]) -> Resolution:
    """A perturbation target: a measured gene's own resolution first (so a target and its
    measured gene are one node), else the identity routes."""
    if name in measured:
        return Resolution(name, measured[name], "measured")
    return resolver.resolve(name)


# ---------------------------------------------------------------------- registry
def _register_steps(
    meta: dict[str, Any],
    bundle_path: Path,
    conditions: list[dict[str, Any]],
    genes: pd.DataFrame,
) -> list[tuple[Any, dict[str, Any]]]:
    src = f"dataset:{meta['name']}"
    gene_rows = [
        {"id": e, "pos": i}
        for i, (e, ok) in enumerate(zip(genes["ensembl_id"], genes["in_kg"], strict=True))
        if ok
    ]
    return [
        (cypher.internal("dataset_clear_conditions"), {"name": meta["name"]}),
        (cypher.internal("dataset_clear_measured"), {"name": meta["name"]}),
        (
            cypher.internal("dataset_merge"),
            {
                "name": meta["name"],
                "path": meta["source_file"],
                "bundle": str(bundle_path),
                "n_cells": meta["n_cells"],
                "n_genes": meta["n_genes"],
                "in_kg": meta["genes_in_kg"],
                "n_conditions": meta["n_conditions"],
                "synthetic": meta["synthetic"],
                "pert_col": meta["pert_col"],
                "control": ",".join(meta["control"]),
                "created": meta["created"],
                "src": src,
                "group": meta.get("group"),
                "context": meta.get("context"),
            },
        ),
        (
            cypher.internal("dataset_conditions"),
            {"name": meta["name"], "rows": conditions, "src": src},
        ),
        (
            cypher.internal("dataset_measured"),
            {"name": meta["name"], "rows": gene_rows, "src": src},
        ),
    ]


def register(
    store: Store,
    meta: dict[str, Any],
    bundle_path: Path,
    conditions: list[dict[str, Any]],
    genes: pd.DataFrame,
) -> None:
    """(Re)register a dataset in one transaction: replaced whole, or not at all."""
    register_many(store, [(meta, bundle_path, conditions, genes)])


def register_many(
    store: Store,
    datasets: Sequence[tuple[dict[str, Any], Path, list[dict[str, Any]], pd.DataFrame]],
    *,
    remove: Sequence[str] = (),
) -> None:
    """(Re)register several datasets (``(meta, bundle, conditions, genes)`` each, e.g. the
    contexts of one import) and delete the datasets named in ``remove`` (contexts a group no
    longer has), in ONE transaction: all of it, or nothing touched."""
    steps = [st for entry in datasets for st in _register_steps(*entry)]
    steps += [(cypher.internal("dataset_delete"), {"name": n}) for n in remove]
    store.write_many(steps)


def group_members(store: Store, group: str) -> list[str]:
    """Names of the datasets registered as contexts of ``group``, sorted."""
    return [
        r["name"] for r in store.read(cypher.internal("dataset_group_members"), {"group": group})
    ]


def list_datasets(store: Store) -> list[dict[str, Any]]:
    return store.read(cypher.internal("dataset_list"))


def bundle_path(store: Store, settings: Settings, name: str) -> Path:
    """The bundle folder of dataset ``name`` (ConfigError naming the known ones if absent)."""
    rows = store.read(cypher.internal("dataset_bundle"), {"name": name})
    if not rows:
        known = ", ".join(r["name"] for r in list_datasets(store)) or "none"
        raise ConfigError(
            f"--dataset: no dataset {name!r} in the KG (known: {known}); 'grape data import' first"
        )
    return Path(rows[0]["b"])


# ---------------------------------------------------------------------- simulation genes
def simulation_candidates(store: Store) -> pd.DataFrame:
    """Every gene with a symbol: ``ensembl_id, symbol, cls, biotype, n_go, n_pw`` (numbers of
    GO annotations and Reactome pathways), in Ensembl-id order."""
    return pd.DataFrame(store.read(cypher.internal("simulation_gene_candidates")))


def bp_terms_and_pathways(store: Store, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per gene: ``go`` (GO biological-process term ids) and ``pw`` (Reactome pathway ids)."""
    return {
        r["id"]: r
        for r in store.read(cypher.internal("gene_bp_terms_and_pathways"), {"ids": list(ids)})
    }
