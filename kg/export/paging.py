"""Keyset pagination over genes and the per-class contiguous ``idx`` property.

Genes are paged in ``ensembl_id`` order (the key of the uniqueness constraint, so the range
index serves the order): ``WHERE g.ensembl_id > $after ORDER BY ... LIMIT $page``. No page
ever depends on ``elementId`` or ``SKIP``.

``idx`` is contiguous within each biotype class ('c', 'nc'): the node index of PyG node type
``c`` or ``nc`` in :mod:`grapekg.kg.export.stores`. Assigning it is idempotent (only changed
values are written) and must be repeated after genes are added or removed;
:func:`gene_index_current` says whether it is.
"""

from __future__ import annotations

from collections.abc import Iterator

from grapekg import cypher
from grapekg.kg.schema import load_default
from grapekg.kg.store import Store

DEFAULT_PAGE = 5_000
CLASSES = ("c", "nc")


def ensure_indexes(store: Store) -> None:
    """Create the on-demand indexes/constraints of ``kg/schema.yaml`` (idempotent)."""
    for stmt in load_default().on_demand_ddl():
        store.run_auto(stmt)
    store.run_auto(cypher.ddl("await_indexes"))


def gene_pages(
    store: Store, cls: str | None = None, page: int = DEFAULT_PAGE
) -> Iterator[list[str]]:
    """Ensembl ids of all genes (or of one class), page by page, in id order."""
    q = cypher.internal("gene_page")
    after = ""
    while True:
        ids = [r["id"] for r in store.read(q, {"after": after, "cls": cls, "page": page})]
        if not ids:
            return
        yield ids
        after = ids[-1]
        if len(ids) < page:
            return


def assign_gene_index(store: Store, page: int = DEFAULT_PAGE) -> dict[str, int]:
    """Set ``g.idx`` = rank of ``g.ensembl_id`` within its class; returns genes per class."""
    ensure_indexes(store)
    q = cypher.internal("gene_index_page")
    counts: dict[str, int] = {}
    for cls in CLASSES:
        offset = 0
        for ids in gene_pages(store, cls, page):
            store.write(q, {"ids": ids, "offset": offset})
            offset += len(ids)
        counts[cls] = offset
    return counts


def gene_index_status(store: Store) -> dict[str, dict[str, int]]:
    """Per class: genes, indexed genes, min/max/distinct idx."""
    return {
        r["cls"]: {k: v for k, v in r.items() if k != "cls"}
        for r in store.read(cypher.internal("gene_index_status"))
    }


def gene_index_current(store: Store) -> bool:
    """True when every gene has an ``idx`` and each class's idx is exactly 0..n-1."""
    for st in gene_index_status(store).values():
        n = st["genes"]
        if n and (
            st["indexed"] != n
            or st["min_idx"] != 0
            or st["max_idx"] != n - 1
            or st["distinct_idx"] != n
        ):
            return False
    return True
