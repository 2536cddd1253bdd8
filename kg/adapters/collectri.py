"""CollecTRI: signed transcription factor -> target regulation (Müller-Dott et al., NAR 2023).

``(:Gene)-[:REGULATES_EXPRESSION {sign: +1|-1, pmids: [...]}]->(:Gene)``, TF to target.

Input (role ``csv``): a table with a header naming ``source`` (the TF), ``target``, ``weight``
(or ``mor``: +1 activation, -1 repression) and ``PMID`` (``;``-separated PubMed ids),
comma- or tab-separated. Offline default: the file vendored in this package
(``kg/data/collectri_human.csv.gz``, CC BY 4.0, attribution in ``kg/data/COLLECTRI.md``);
online: the Zenodo record 8192729's CSV, given by address (``-p collectri.csv=https://...``).

TF and target symbols go through the KG's gene identity; complexes (``AP1``, ``NFKB``) name no
single gene and are counted unmapped. Two rows naming the same gene pair (e.g. a symbol and
its previous symbol) become one edge with the union of their PubMed ids; if their signs
disagree the pair is dropped (counted as ``sign_conflicts_dropped``): an edge's sign is never
guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import ClassVar

from grapekg.errors import InputError
from grapekg.kg.adapters._io import lines
from grapekg.kg.adapters._knowledge import KnowledgeAdapter, file_version
from grapekg.kg.adapters._names import NameMap
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import Edge, Record, SourceInfo

VENDORED = "collectri_human.csv.gz"
VENDORED_VERSION = "zenodo8192729"
ZENODO = "https://zenodo.org/records/8192729"


def vendored_path() -> Path:
    """The CollecTRI table shipped inside the package."""
    return Path(str(resources.files("grapekg.kg").joinpath("data", VENDORED)))


@dataclass
class CollecTRIAdapter(KnowledgeAdapter):
    name: ClassVar[str] = "collectri"
    ROLES: ClassVar[tuple[str, ...]] = ("csv",)
    csv: Path | None = None
    version: str = ""
    retrieved: str = ""

    def source(self) -> SourceInfo:
        return SourceInfo(
            "collectri",
            self.version or file_version(self.csv),
            "CC-BY-4.0",
            url=str(self.csv or ZENODO),
            retrieved=self.retrieved,
        )

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        if self.csv is None:
            raise InputError("collectri", "no input: give csv=FILE")
        names = NameMap.of(self.gene_index(genes), self.resolver)
        src = self.source().key
        edges: dict[tuple[str, str], tuple[int, set[str]]] = {}
        conflicts: set[tuple[str, str]] = set()
        for _n, tf, target, sign, pmids in _rows(self.csv):
            self.stats["rows"] += 1
            a, b = names(tf), names(target)
            if a is None or b is None:
                self.stats["rows_unmapped"] += 1
                continue
            key = (a, b)
            if key in edges:
                old_sign, old_pmids = edges[key]
                self.stats["rows_merged"] += 1
                if old_sign != sign:
                    conflicts.add(key)
                old_pmids.update(pmids)
            else:
                edges[key] = (sign, set(pmids))
        for key in conflicts:
            del edges[key]
        self.stats["sign_conflicts_dropped"] = len(conflicts)
        for (a, b), (sign, pmids) in edges.items():
            self.stats["edges"] += 1
            self.stats["edges_activation" if sign > 0 else "edges_repression"] += 1
            yield Edge(
                "REGULATES_EXPRESSION",
                "Gene",
                a,
                "Gene",
                b,
                {"sign": sign, "pmids": sorted(pmids, key=_pmid_order)},
                src,
            )
        self.stats.update(names.stats())


def _pmid_order(p: str) -> tuple[int, str]:
    return (int(p), p) if p.isdigit() else (1 << 62, p)


def _rows(path: Path) -> Iterator[tuple[int, str, str, int, list[str]]]:
    header: dict[str, int] | None = None
    sep = ","
    ncols = 0
    for n, line in lines(path):
        if not line.strip():
            continue
        if header is None:
            sep = "\t" if line.count("\t") > line.count(",") else ","
            cols = [c.strip().strip('"').lower() for c in line.split(sep)]
            header = {c: i for i, c in enumerate(cols)}
            ncols = len(cols)
            if "mor" in header and "weight" not in header:
                header["weight"] = header["mor"]
            missing = [c for c in ("source", "target", "weight") if c not in header]
            if missing:
                raise InputError(path, f"header lacks column(s) {missing}", n)
            continue
        cols = [c.strip().strip('"') for c in line.split(sep)]
        if len(cols) != ncols:
            raise InputError(path, f"expected {ncols} columns, found {len(cols)}", n)
        tf, target = cols[header["source"]], cols[header["target"]]
        if not tf or not target:
            raise InputError(path, "empty source or target", n)
        try:
            w = float(cols[header["weight"]])
        except ValueError:
            raise InputError(
                path, f"weight is not a number: {cols[header['weight']]!r}", n
            ) from None
        if w not in (1.0, -1.0):
            raise InputError(path, f"weight must be 1 or -1, found {w:g}", n)
        pm = cols[header["pmid"]] if "pmid" in header else ""
        pmids = [p.strip() for p in pm.split(";") if p.strip()]
        yield n, tf, target, int(w), pmids
