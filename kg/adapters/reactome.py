"""Reactome pathways, their hierarchy (CHILD_OF, with a level: 1 = top-level) and their genes.

Inputs:
- ``relations``: ReactomePathwaysRelation.txt (parent<TAB>child), all species; filtered by
  ``species`` (default R-HSA);
- either ``gmt``: a GMT with one pathway a line (id and name in the first two columns, in either
  order; members are UniProt accessions, gene symbols or ChEBI numbers; ChEBI members are
  counted as non-gene and skipped) — offline default: pathintegrate's R85 multi-omics GMT;
- or ``ensembl2reactome``: Reactome's Ensembl2Reactome(_All_Levels).txt (ENSG, pathway id,
  url, name, evidence, species), optionally with ``names``: ReactomePathways.txt.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from grapekg.errors import InputError
from grapekg.kg.adapters._io import lines, tsv_fields
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import BaseAdapter, Edge, Node, Record, SourceInfo

PATHWAY_ID = re.compile(r"^R-[A-Z]{3}-\d+(\.\d+)?$")
UNIPROT = re.compile(
    r"^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})(-\d+)?$"
)
CHEBI = re.compile(r"^(CHEBI:)?\d+$")


@dataclass
class ReactomeAdapter(BaseAdapter):
    name: ClassVar[str] = "reactome"
    needs_genes: ClassVar[bool] = True
    relations: Path | None = None
    gmt: Path | None = None
    ensembl2reactome: Path | None = None
    names: Path | None = None
    species: str = "R-HSA"
    version: str = "unknown"
    retrieved: str = ""

    @classmethod
    def from_paths(cls, paths: Mapping[str, Path], **kw: Any) -> ReactomeAdapter:
        unknown = set(paths) - {"relations", "gmt", "ensembl2reactome", "names"}
        if unknown:
            raise InputError(
                ", ".join(sorted(unknown)),
                "unknown reactome input role (use relations=, gmt=, ensembl2reactome=, names=)",
            )
        return cls(**{k: Path(v) for k, v in paths.items()}, **kw)

    def source(self) -> SourceInfo:
        return SourceInfo(
            "reactome",
            self.version,
            "CC0-1.0",
            url=str(self.gmt or self.ensembl2reactome or ""),
            retrieved=self.retrieved,
        )

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        if self.gmt is None and self.ensembl2reactome is None:
            raise InputError("reactome", "no input: give gmt=FILE or ensembl2reactome=FILE")
        if genes is None or not len(genes):
            raise InputError("reactome", "pathway genes need Gene nodes: load 'ensembl' first")
        src = self.source().key
        parents = self._hierarchy(self.relations) if self.relations else {}
        levels = _levels(parents)
        emitted: set[str] = set()
        names = self._names(self.names) if self.names else {}
        pathways = (
            self._gmt(self.gmt, genes) if self.gmt else self._e2r(self.ensembl2reactome, genes)
        )  # type: ignore[arg-type]
        for pid, name, members in pathways:
            if pid not in emitted:
                emitted.add(pid)
                self.stats["pathways"] += 1
                yield Node(
                    "Pathway",
                    pid,
                    {"name": name or names.get(pid, ""), "level": levels.get(pid, 1)},
                    src,
                )
            for g in members:
                self.stats["pathway_gene_edges"] += 1
                yield Edge("IN_PATHWAY", "Gene", g, "Pathway", pid, {}, src)
        # hierarchy nodes that have no members in the pathway file still belong in the tree
        for pid in sorted(set(parents) | {p for ps in parents.values() for p in ps}):
            if pid not in emitted:
                emitted.add(pid)
                self.stats["pathways"] += 1
                self.stats["pathways_without_members"] += 1
                yield Node(
                    "Pathway", pid, {"name": names.get(pid, ""), "level": levels.get(pid, 1)}, src
                )
        for child, ps in parents.items():
            for parent in ps:
                self.stats["hierarchy_edges"] += 1
                yield Edge("CHILD_OF", "Pathway", child, "Pathway", parent, {}, src)

    # ------------------------------------------------------------------ readers
    def _hierarchy(self, path: Path) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {}
        for n, line in lines(path):
            if not line.strip():
                continue
            parent, child = tsv_fields(path, n, line, min_cols=2, max_cols=2)
            for pid in (parent, child):
                if not PATHWAY_ID.match(pid):
                    raise InputError(path, f"not a Reactome pathway id: {pid!r}", n)
            if child.startswith(self.species + "-") and parent.startswith(self.species + "-"):
                parents.setdefault(child, []).append(parent)
        return parents

    def _names(self, path: Path) -> dict[str, str]:
        out: dict[str, str] = {}
        for n, line in lines(path):
            if not line.strip():
                continue
            cols = tsv_fields(path, n, line, min_cols=2, max_cols=3)
            if cols[0].startswith(self.species + "-"):
                out[cols[0]] = cols[1]
        return out

    def _gmt(self, path: Path, genes: GeneIndex) -> Iterator[tuple[str, str, list[str]]]:
        unmapped: set[str] = set()
        for n, line in lines(path):
            if not line.strip():
                continue
            cols = [c for c in line.split("\t") if c != ""]
            if len(cols) < 2:
                raise InputError(
                    path, f"expected id, name and members, found {len(cols)} column(s)", n
                )
            if PATHWAY_ID.match(cols[0]):
                pid, name = cols[0], cols[1]
            elif PATHWAY_ID.match(cols[1]):
                name, pid = cols[0], cols[1]
            else:
                raise InputError(
                    path, "neither of the first two columns is a Reactome pathway id", n
                )
            if not pid.startswith(self.species + "-"):
                self.stats["pathways_other_species"] += 1
                continue
            members: set[str] = set()
            for m in cols[2:]:
                m = m.strip()
                if CHEBI.match(m):
                    self.stats["non_gene_members_skipped"] += 1
                    continue
                hits = genes.uniprot(m) if UNIPROT.match(m) else genes.symbol(m)
                if not hits:
                    self.stats["members_unmapped"] += 1
                    unmapped.add(m.split("-")[0] if UNIPROT.match(m) else m)
                members.update(hits)
            yield pid, name, sorted(members)
        self.stats["unmapped_member_ids"] = len(unmapped)

    def _e2r(self, path: Path, genes: GeneIndex) -> Iterator[tuple[str, str, list[str]]]:
        names: dict[str, str] = {}
        by_pathway: dict[str, set[str]] = {}
        for n, line in lines(path):
            if not line.strip():
                continue
            cols = tsv_fields(path, n, line, min_cols=6, max_cols=6)
            gene, pid, _, name, _, species = cols
            if not PATHWAY_ID.match(pid):
                raise InputError(path, f"column 2 is not a Reactome pathway id: {pid!r}", n)
            if not pid.startswith(self.species + "-") or not gene.startswith("ENSG"):
                continue
            gid = gene.split(".")[0]
            if gid not in genes.ensembl:
                self.stats["members_unmapped"] += 1
                continue
            names[pid] = name
            by_pathway.setdefault(pid, set()).add(gid)
        for pid in sorted(by_pathway):
            yield pid, names[pid], sorted(by_pathway[pid])


def _levels(parents: dict[str, list[str]]) -> dict[str, int]:
    """Depth in the hierarchy: top-level pathways (no parent) are level 1; a pathway reached
    by several routes takes its shortest one."""
    children: dict[str, list[str]] = {}
    nodes = set(parents)
    for c, ps in parents.items():
        for p in ps:
            children.setdefault(p, []).append(c)
            nodes.add(p)
    roots = [n for n in nodes if not parents.get(n)]
    level = {r: 1 for r in roots}
    q = deque(roots)
    while q:
        p = q.popleft()
        for c in children.get(p, []):
            if c not in level:
                level[c] = level[p] + 1
                q.append(c)
    return level
