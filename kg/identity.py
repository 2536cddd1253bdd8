"""Gene identity: which KG gene a name from a user's screen means, and how we know.

A name is tried against these routes in order; the first route that knows the name decides
(a later route is never consulted to break a tie):

1. ``ensembl_id``: an Ensembl gene id, with or without its version (``ENSG...\\.12``);
   ``retired_id``: a retired id whose HGNC symbol passed to exactly one current gene;
2. ``symbol``: the gene's current symbol in the KG's Ensembl release;
3. ``previous_symbol``: an HGNC previous symbol (``C10orf11`` -> LRMDA, ``MARCH8`` -> MARCHF8);
4. ``release_symbol``: the gene's symbol in an older Ensembl release (clone names such as
   ``RP11-...``, ``AC0...`` that were renamed), the gene id still current;
5. ``ncbi_symbol``: the NCBI Gene symbol, through the gene's Entrez id or Ensembl xref;
6. ``alias``: an HGNC or NCBI alias symbol;
7. ``external``: a gene the KG's release does not hold, known by id or symbol as an
   ``ExternalGene`` (``retired`` Ensembl genes, ``ncbi_only`` genes newer than the release).
   Such a name is *identified* (the report says what it is) but has no KG gene.

Within a route, several genes on the primary assembly (or several off it, none on it) make the
name ``ambiguous``: the candidates are listed and nothing is chosen. Case is ignored.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grapekg import cypher
from grapekg.kg.genes import GeneIndex

if TYPE_CHECKING:
    from grapekg.kg.store import Store

ENSG = re.compile(r"^(ENSG\d{11})(\.\d+)?$", re.IGNORECASE)
SYNONYM_ROUTES = ("previous_symbol", "release_symbol", "ncbi_symbol", "alias")
ROUTES = ("ensembl_id", "retired_id", "symbol", *SYNONYM_ROUTES, "external")
#: synonym kinds stored on SYNONYM_OF -> the route that reads them
KIND_ROUTE = {
    "retired_id": "retired_id",
    "previous_symbol": "previous_symbol",
    "release_symbol": "release_symbol",
    "ncbi_symbol": "ncbi_symbol",
    "alias_symbol": "alias",
    "ncbi_alias": "alias",
}
PAGE = 20_000


@dataclass(frozen=True)
class Resolution:
    """What one name resolved to."""

    name: str
    ensembl_id: str | None = None
    route: str | None = None
    candidates: tuple[str, ...] = ()
    external: str | None = None
    external_status: str | None = None

    @property
    def resolved(self) -> bool:
        """Resolved to a gene of the KG."""
        return self.ensembl_id is not None

    @property
    def identified(self) -> bool:
        """Resolved, or known as a gene outside the KG's release."""
        return self.resolved or self.external is not None

    @property
    def ambiguous(self) -> bool:
        return not self.identified and len(self.candidates) > 1


@dataclass
class GeneResolver:
    """The routes of the module docstring over in-memory tables (built by :meth:`from_store`)."""

    index: GeneIndex
    synonyms: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {r: defaultdict(list) for r in ("retired_id", *SYNONYM_ROUTES)}
    )
    external_ids: dict[str, str] = field(default_factory=dict)  # id -> status
    external_by_symbol: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add_synonym(self, name: str, ensembl_id: str, kind: str) -> None:
        route = KIND_ROUTE.get(kind)
        if route is None:
            raise ValueError(f"unknown synonym kind {kind!r}")
        hits = self.synonyms[route][name.upper()]
        if ensembl_id not in hits:
            hits.append(ensembl_id)

    def add_external(self, ext_id: str, symbol: str | None, status: str) -> None:
        self.external_ids[ext_id.upper()] = status
        if symbol:
            self.external_by_symbol[symbol.upper()].append(ext_id)

    def resolve(self, name: str) -> Resolution:
        raw = str(name).strip()
        m = ENSG.match(raw)
        if m:
            base = m.group(1).upper()
            if base in self.index.ensembl:
                return Resolution(raw, base, "ensembl_id")
            successor = self.synonyms["retired_id"].get(base, [])
            if successor:
                return self._pick(raw, "retired_id", successor)
            if base in self.external_ids:
                return Resolution(
                    raw, route="external", external=base, external_status=self.external_ids[base]
                )
            return Resolution(raw)
        key = raw.upper()
        hits = self.index.symbol(key)
        if hits:
            return self._pick(raw, "symbol", hits)
        for route in SYNONYM_ROUTES:
            hits = self.synonyms[route].get(key, [])
            if hits:
                return self._pick(raw, route, self.index._pick(list(hits)))
        ext = sorted(set(self.external_by_symbol.get(key, [])))
        if len(ext) == 1:
            return Resolution(
                raw,
                route="external",
                external=ext[0],
                external_status=self.external_ids.get(ext[0].upper()),
            )
        if ext:
            return Resolution(raw, route="external", candidates=tuple(ext))
        return Resolution(raw)

    @staticmethod
    def _pick(name: str, route: str, hits: Sequence[str]) -> Resolution:
        if len(hits) == 1:
            return Resolution(name, hits[0], route)
        return Resolution(name, route=route, candidates=tuple(hits))

    def resolve_all(self, names: Iterable[str]) -> list[Resolution]:
        return [self.resolve(n) for n in names]

    @classmethod
    def from_store(cls, store: Store, index: GeneIndex) -> GeneResolver:
        """Tables from the KG: the synonyms and external genes of complete sources."""
        res = cls(index)
        for r in _pages(store, "identity_synonyms_page", "name"):
            for eid, kind in r["hits"]:
                res.add_synonym(r["name"], eid, kind)
        for r in _pages(store, "identity_external_page", "id"):
            res.add_external(r["id"], r["symbol"], r["status"])
        return res


def _pages(store: Store, query: str, key: str) -> Iterable[dict[str, Any]]:
    """Every row of a keyset-paged internal query (``$after``, ``$page``; rows in ``key``
    order)."""
    after = ""
    while rows := store.read(cypher.internal(query), {"after": after, "page": PAGE}):
        yield from rows
        after = rows[-1][key]


@dataclass
class ResolutionReport:
    """Counts and lists for an import report (one per kind of name: measured genes, targets)."""

    results: list[Resolution]

    @property
    def n(self) -> int:
        return len(self.results)

    def by_route(self) -> Counter[str]:
        c: Counter[str] = Counter()
        for r in self.results:
            c[r.route if r.identified else ("ambiguous" if r.ambiguous else "unknown")] += 1
        return c

    @property
    def n_resolved(self) -> int:
        return sum(r.resolved for r in self.results)

    @property
    def n_identified(self) -> int:
        return sum(r.identified for r in self.results)

    def ambiguous(self) -> dict[str, list[str]]:
        return {r.name: list(r.candidates) for r in self.results if r.ambiguous}

    def unknown(self) -> list[str]:
        return [r.name for r in self.results if not r.identified and not r.ambiguous]

    def external(self) -> dict[str, str]:
        return {
            r.name: f"{r.external} ({r.external_status})"
            for r in self.results
            if r.external is not None
        }

    def renamed(self) -> dict[str, str]:
        """Names resolved through a synonym route: name -> Ensembl id."""
        return {
            r.name: r.ensembl_id
            for r in self.results
            if r.resolved and r.route in ("retired_id", *SYNONYM_ROUTES) and r.ensembl_id
        }

    def line(self, what: str) -> str:
        """One line for people: e.g. ``measured genes: 296 of 299 in the KG (99.0 %) ...``."""
        routes = self.by_route()
        order = (
            "measured",
            *ROUTES,
            "ambiguous",
            "unknown",
        )  # measured: a target = a measured gene
        parts = [f"{k} {routes[k]}" for k in order if routes.get(k)]
        pct = 100.0 * self.n_resolved / self.n if self.n else 100.0
        pct_id = 100.0 * self.n_identified / self.n if self.n else 100.0
        return (
            f"{what}: {self.n_resolved:,} of {self.n:,} resolve to KG genes ({pct:.1f} %), "
            f"{self.n_identified:,} identified ({pct_id:.1f} %); " + ", ".join(parts)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "resolved": self.n_resolved,
            "identified": self.n_identified,
            "by_route": dict(self.by_route()),
            "renamed": self.renamed(),
            "external": self.external(),
            "ambiguous": self.ambiguous(),
            "unknown": self.unknown(),
        }


def synonym_rows(resolver: GeneResolver) -> Mapping[str, int]:
    """Number of names per route (for ``grape kg status``)."""
    return {r: len(t) for r, t in resolver.synonyms.items()}
