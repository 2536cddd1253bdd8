"""Gene annotations read from the KG for evaluation and recovery (GO terms per gene)."""

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
