"""Gene -> set readers for similarity-based baselines (``kg-retrieval``): what the KG knows
of each gene as a set, one knowledge source at a time.

- ``go``: the GO term ids a gene is annotated with (``ANNOTATED_WITH``; every namespace
  unless one is given), as loaded by the ``go`` source;
- ``string``: the gene's STRING interaction partners (``INTERACTS_WITH``, stored once per
  undirected pair, read in both directions; optionally only links with ``score >=
  min_score``), as loaded by the ``string`` source.

A source that is not in the graph yields an empty mapping, so callers work with whatever is
loaded and can say which sources they used (:func:`knowledge_sets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from grapekg import cypher
from grapekg.kg.annotations import go_terms
from grapekg.kg.store import Store

__all__ = ["KNOWLEDGE", "Knowledge", "go_annotations", "knowledge_sets", "string_neighbours"]

PAGE = 2_000
#: the sources :func:`knowledge_sets` can read
KNOWLEDGE = ("go", "string")


def go_annotations(
    store: Store, ids: Sequence[str], namespace: str | None = None
) -> dict[str, set[str]]:
    """Ensembl id -> GO term ids (genes without annotations are absent)."""
    return go_terms(store, ids, namespace=namespace)


def string_neighbours(
    store: Store, ids: Sequence[str], min_score: float | None = None
) -> dict[str, set[str]]:
    """Ensembl id -> Ensembl ids of its STRING partners, undirected (genes without any
    are absent)."""
    out: dict[str, set[str]] = {}
    q = cypher.internal("gene_string_neighbours_page")
    ids = list(ids)
    for lo in range(0, len(ids), PAGE):
        for r in store.read(q, {"ids": ids[lo : lo + PAGE], "min_score": min_score}):
            out[r["id"]] = set(r["neighbours"])
    return out


@dataclass
class Knowledge:
    """The sets of each requested source, its loaded version (from its ``Source`` node; None
    when the graph has no complete source of that name) and the sources that gave any set."""

    sets: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)

    @property
    def used(self) -> list[str]:
        return [k for k, v in self.sets.items() if v]

    def line(self, ids: Iterable[str]) -> str:
        """``go (version): 1,234 of 1,500 genes; string: not loaded`` for people."""
        ids = set(ids)
        parts = []
        for k, v in self.sets.items():
            if not v:
                parts.append(f"{k}: not loaded")
                continue
            ver = f" ({self.versions[k]})" if self.versions.get(k) else ""
            parts.append(f"{k}{ver}: {len(ids & set(v)):,} of {len(ids):,} genes")
        return "; ".join(parts)


def knowledge_sets(
    store: Store,
    ids: Sequence[str],
    sources: Iterable[str] = KNOWLEDGE,
    *,
    go_namespace: str | None = None,
    string_min_score: float | None = None,
) -> Knowledge:
    """The sets of ``sources`` (names of :data:`KNOWLEDGE`) for the genes ``ids``."""
    versions = {
        r["name"]: r["version"]
        for r in store.read(cypher.internal("source_versions"))
        if r["status"] == "complete"
    }
    out = Knowledge()
    for name in sources:
        if name == "go":
            out.sets[name] = go_annotations(store, ids, go_namespace)
        elif name == "string":
            out.sets[name] = string_neighbours(store, ids, string_min_score)
        else:
            raise ValueError(f"unknown knowledge source {name!r} (known: {', '.join(KNOWLEDGE)})")
        out.versions[name] = versions.get(name)
    return out
