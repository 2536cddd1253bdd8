"""Gene names of a knowledge source -> KG genes, with the counts every source reports.

Symbols (and the Ensembl ids STRING's aliases give) go through the KG's gene identity
(:class:`~grapekg.kg.identity.GeneResolver`: current symbol, then previous / release / NCBI /
alias symbols). Each distinct name is counted once as ``mapped`` (one KG gene), ``ambiguous``
(several candidates: nothing is chosen) or ``unmapped`` (no KG gene; names known only as a gene
outside the KG's release are counted in ``unmapped`` and again in ``external``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from grapekg.kg.genes import GeneIndex
from grapekg.kg.identity import SYNONYM_ROUTES, GeneResolver


@dataclass
class NameMap:
    """Cached name -> Ensembl gene id (or None) with per-outcome counts."""

    resolver: GeneResolver
    what: str = "genes"
    _cache: dict[str, str | None] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, genes: GeneIndex, resolver: GeneResolver | None, what: str = "genes") -> NameMap:
        return cls(resolver if resolver is not None else GeneResolver(genes), what)

    def __call__(self, name: str) -> str | None:
        if name in self._cache:
            return self._cache[name]
        res = self.resolver.resolve(name)
        gid = res.ensembl_id
        if gid is not None:
            self.counts["mapped"] += 1
            if res.route in ("retired_id", *SYNONYM_ROUTES):
                self.counts["renamed"] += 1
        elif res.ambiguous:
            self.counts["ambiguous"] += 1
        else:
            self.counts["unmapped"] += 1
            if res.external is not None:
                self.counts["external"] += 1
        self._cache[name] = gid
        return gid

    def stats(self) -> dict[str, int]:
        """``mapped_<what>``, ``renamed_<what>``, ``unmapped_<what>``, ``ambiguous_<what>``,
        ``external_<what>`` (distinct names)."""
        w = self.what
        return {
            f"{k}_{w}": self.counts[k]
            for k in ("mapped", "renamed", "unmapped", "ambiguous", "external")
        }
