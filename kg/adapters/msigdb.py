"""MSigDB gene sets, or any gene-set file in GMT format (Subramanian et al. PNAS 2005,
Liberzon et al. 2015; MSigDB CC BY 4.0).

``(:GeneSet {name, collection, description})`` and
``(:Gene)-[:IN_GENE_SET {sign}]->(:GeneSet)``. Signed signatures: a pair of sets named
``X_UP`` / ``X_DN`` (or ``X.UP`` / ``X.DN``, e.g. C6's ``GLI1_UP.V1_UP`` / ``GLI1_UP.V1_DN``)
becomes ONE gene set ``X`` whose members carry ``sign`` +1 (up) or -1 (down); a gene in both
halves gets sign 0 (``genes_in_both_halves``). A lone ``_UP`` or ``_DN`` set keeps its full
name, its members signed +1 / -1; every other set is unsigned (sign 0).

Input (role ``gmt``): one set a line, ``name<TAB>description<TAB>gene...`` (symbols, resolved
through the KG's gene identity). Options: ``collection`` (default: from the file name, e.g.
``c6.all.v6.1`` for ``c6.all.v6.1.symbols.gmt``). Offline default: MSigDB C6 v6.1 from the
``pyscenic`` 0.12.1 wheel (data only; the package is never installed or imported).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from grapekg.errors import InputError
from grapekg.kg.adapters._io import lines
from grapekg.kg.adapters._knowledge import KnowledgeAdapter, file_version
from grapekg.kg.adapters._names import NameMap
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import Edge, Node, Record, SourceInfo

SIGNED = re.compile(r"^(?P<base>.+)[._](?P<dir>UP|DN)$")


@dataclass
class MSigDBAdapter(KnowledgeAdapter):
    name: ClassVar[str] = "msigdb"
    ROLES: ClassVar[tuple[str, ...]] = ("gmt",)
    OPTIONS: ClassVar[dict[str, type]] = {"collection": str, "version": str}
    gmt: Path | None = None
    collection: str = ""
    version: str = ""
    retrieved: str = ""

    def source(self) -> SourceInfo:
        return SourceInfo(
            "msigdb",
            self.version or file_version(self.gmt),
            "CC-BY-4.0",
            url=str(self.gmt or ""),
            retrieved=self.retrieved,
        )

    def collection_name(self) -> str:
        if self.collection:
            return self.collection
        stem = (self.gmt.name if self.gmt else "gmt").removeprefix("msigdb_")
        for suffix in (".gz", ".xz", ".gmt", ".symbols", ".entrez"):
            stem = stem.removesuffix(suffix)
        return stem

    def sets(self) -> dict[str, tuple[str, list[str]]]:
        """Every set of the file: name -> (description, member names)."""
        if self.gmt is None:
            raise InputError("msigdb", "no input: give gmt=FILE")
        out: dict[str, tuple[str, list[str]]] = {}
        for n, line in lines(self.gmt):
            if not line.strip():
                continue
            cols = line.split("\t")
            if len(cols) < 3 or not cols[0].strip():
                raise InputError(
                    self.gmt,
                    f"expected name, description and genes, found {len(cols)} column(s)",
                    n,
                )
            name = cols[0].strip()
            if name in out:
                raise InputError(self.gmt, f"gene set {name!r} appears twice", n)
            members = [m.strip() for m in cols[2:] if m.strip()]
            out[name] = (cols[1].strip(), members)
        return out

    def signed_sets(self) -> list[tuple[str, str, dict[str, int]]]:
        """``(name, description, {member: sign})``, the ``_UP``/``_DN`` pairs joined."""
        raw = self.sets()
        halves: dict[str, dict[str, str]] = {}
        for name in raw:
            m = SIGNED.match(name)
            if m:
                halves.setdefault(m["base"], {})[m["dir"]] = name
        out: list[tuple[str, str, dict[str, int]]] = []
        done: set[str] = set()
        for name, (desc, members) in raw.items():
            if name in done:
                continue
            m = SIGNED.match(name)
            pair = halves.get(m["base"], {}) if m else {}
            if m and len(pair) == 2 and m["base"] not in raw:
                up, dn = pair["UP"], pair["DN"]
                done.update((up, dn))
                signs: dict[str, int] = {g: 1 for g in raw[up][1]}
                for g in raw[dn][1]:
                    if signs.get(g) == 1:
                        signs[g] = 0
                        self.stats["genes_in_both_halves"] += 1
                    else:
                        signs[g] = -1
                self.stats["signed_pairs"] += 1
                out.append((m["base"], raw[up][0], signs))
            else:
                sign = (1 if m["dir"] == "UP" else -1) if m else 0
                out.append((name, desc, {g: sign for g in members}))
        return out

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        names = NameMap.of(self.gene_index(genes), self.resolver)
        src = self.source().key
        collection = self.collection_name()
        edges: list[Edge] = []
        for name, desc, members in self.signed_sets():
            self.stats["gene_sets"] += 1
            yield Node(
                "GeneSet", name, {"name": name, "collection": collection, "description": desc}, src
            )
            by_gene: dict[str, int] = {}
            for sym, sign in members.items():
                gid = names(sym)
                if gid is None:
                    self.stats["members_unmapped"] += 1
                    continue
                if gid in by_gene and by_gene[gid] != sign:
                    by_gene[gid] = 0  # two names of one gene on both sides
                else:
                    by_gene[gid] = sign
            for gid, sign in by_gene.items():
                self.stats["edges"] += 1
                edges.append(Edge("IN_GENE_SET", "Gene", gid, "GeneSet", name, {"sign": sign}, src))
        yield from edges
        self.stats.update(names.stats())
