"""Resolve external gene identifiers (UniProt, symbol, Entrez) to Ensembl gene ids.

Built from the Gene nodes already in Neo4j (or from Ensembl adapter records in tests), and
handed to annotation adapters, which stay read-only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PRIMARY_CHROMS = frozenset([str(i) for i in range(1, 23)] + ["X", "Y", "MT"])


@dataclass
class GeneIndex:
    """Lookup tables id -> Ensembl gene ids (a list: some ids are ambiguous)."""

    ensembl: set[str] = field(default_factory=set)
    by_symbol: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_uniprot: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_entrez: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    primary: set[str] = field(default_factory=set)

    def add(self, row: Mapping[str, Any]) -> None:
        eid = row["ensembl_id"]
        self.ensembl.add(eid)
        if row.get("chrom") in PRIMARY_CHROMS:
            self.primary.add(eid)
        if row.get("symbol"):
            self.by_symbol[row["symbol"].upper()].append(eid)
        if row.get("entrez_id"):
            self.by_entrez[str(row["entrez_id"])].append(eid)
        for acc in row.get("uniprot_ids") or ():
            self.by_uniprot[acc].append(eid)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> GeneIndex:
        idx = cls()
        for r in rows:
            idx.add(r)
        return idx

    def _pick(self, hits: list[str]) -> list[str]:
        """Prefer genes on the primary assembly when an id maps to several genes."""
        if len(hits) <= 1:
            return hits
        prim = [h for h in hits if h in self.primary]
        return sorted(set(prim or hits))

    def uniprot(self, acc: str) -> list[str]:
        """Ensembl ids of a UniProt accession (isoform suffix ``-N`` ignored)."""
        base = acc.split("-", 1)[0]
        return self._pick(self.by_uniprot.get(base, []))

    def symbol(self, sym: str) -> list[str]:
        return self._pick(self.by_symbol.get(sym.upper(), []))

    def entrez(self, eid: str) -> list[str]:
        return self._pick(self.by_entrez.get(str(eid), []))

    def __len__(self) -> int:
        return len(self.ensembl)
