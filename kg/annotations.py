"""Gene annotations read from the KG for evaluation and recovery (GO terms and Reactome
pathways per gene, the genes a dataset's conditions target)."""

from __future__ import annotations

from collections.abc import Sequence

from grapekg import cypher
from grapekg.kg.store import Store

PAGE = 2_000


def go_terms(
    store: Store, ids: Sequence[str], namespace: str | None = "biological_process"
) -> dict[str, set[str]]:
    """GO term ids per gene, read ``PAGE`` genes at a time (genes without any are absent);
    ``namespace`` None means every GO namespace."""
    out: dict[str, set[str]] = {}
    q = cypher.internal("gene_go_terms_page")
    ids = list(ids)
    for lo in range(0, len(ids), PAGE):
        for r in store.read(q, {"ids": ids[lo : lo + PAGE], "namespace": namespace}):
            out[r["id"]] = set(r["terms"])
    return out


def pathways(store: Store, ids: Sequence[str]) -> dict[str, set[str]]:
    """Reactome pathway ids per gene, ``PAGE`` genes at a time (genes in none are absent)."""
    out: dict[str, set[str]] = {}
    q = cypher.internal("gene_pathways_page")
    ids = list(ids)
    for lo in range(0, len(ids), PAGE):
        for r in store.read(q, {"ids": ids[lo : lo + PAGE]}):
            out[r["id"]] = set(r["pathways"])
    return out


def memberships(store: Store, ids: Sequence[str]) -> dict[str, set[str]]:
    """GO biological-process terms ∪ Reactome pathways per gene (genes with none absent)."""
    out = go_terms(store, ids)
    for gid, pws in pathways(store, ids).items():
        out[gid] = out.get(gid, set()) | pws
    return out


def condition_targets(store: Store, dataset: str) -> list[tuple[str, list[str], list[str]]]:
    """Per condition of ``dataset``: (condition name, Ensembl ids, symbols) of the KG genes
    the import resolved its targets to (conditions without any are absent)."""
    rows = store.read(cypher.internal("dataset_condition_targets"), {"name": dataset})
    return [(r["condition"], list(r["ids"]), list(r["symbols"])) for r in rows]
