"""PROGENy pathway footprints (Schubert et al., Nat Commun 2018; Apache-2.0).

``(:Footprint {name})`` per pathway (14: Androgen, EGFR, Estrogen, Hypoxia, JAK-STAT, MAPK,
NFkB, p53, PI3K, TGFb, TNFa, Trail, VEGF, WNT) and
``(:Gene)-[:IN_FOOTPRINT {weight, p_value, sign}]->(:Footprint)``: the genes whose expression
responds when the pathway is perturbed, with the signed response weight (``sign`` = sign of
``weight``). As is common practice (decoupler's ``get_progeny``), each pathway keeps its
``top`` genes by p-value (option, default 500; ties broken by gene name; ``top=0`` keeps all).

Inputs (roles): ``rdb`` + ``rdx``, the R lazy-load database of the Bioconductor package's data
(offline default: Debian ``r-bioc-progeny`` 1.20.0, object ``model_human_full``, read in
Python by :mod:`._rdata`, no R needed); or ``table``, a CSV/TSV with columns ``gene``,
``pathway``, ``weight``, ``p.value`` (e.g. ``model_human_full`` written out by R).
Symbols go through the KG's gene identity; two symbols of one gene in one pathway keep the row
with the smaller p-value (``rows_merged``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from grapekg.errors import ConfigError, InputError
from grapekg.kg.adapters._io import lines
from grapekg.kg.adapters._knowledge import KnowledgeAdapter, file_version, sign_of
from grapekg.kg.adapters._names import NameMap
from grapekg.kg.adapters._rdata import data_frame, lazyload
from grapekg.kg.genes import GeneIndex
from grapekg.kg.records import Edge, Node, Record, SourceInfo

COLUMNS = ("gene", "pathway", "weight", "p.value")


@dataclass
class ProgenyAdapter(KnowledgeAdapter):
    name: ClassVar[str] = "progeny"
    ROLES: ClassVar[tuple[str, ...]] = ("rdb", "rdx", "table")
    OPTIONS: ClassVar[dict[str, type]] = {"top": int, "object": str, "version": str}
    rdb: Path | None = None
    rdx: Path | None = None
    table: Path | None = None
    top: int = 500
    object: str = "model_human_full"
    version: str = ""
    retrieved: str = ""
    _model: list[tuple[str, str, float, float]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.top < 0:
            raise ConfigError(f"--option progeny.top={self.top}: must be >= 0 (0 keeps all)")

    def source(self) -> SourceInfo:
        return SourceInfo(
            "progeny",
            self.version or file_version(self.table or self.rdb),
            "Apache-2.0",
            url=str(self.table or self.rdb or ""),
            retrieved=self.retrieved,
        )

    def model(self) -> list[tuple[str, str, float, float]]:
        """Every row ``(gene, pathway, weight, p_value)`` of the model, checked (read once:
        the build's check pass and its load pass share it)."""
        if self._model is None:
            self._model = self._read_model()
        return self._model

    def _read_model(self) -> list[tuple[str, str, float, float]]:
        if self.table is not None:
            return list(_table_rows(self.table))
        if self.rdb is None or self.rdx is None:
            raise InputError("progeny", "no input: give rdb= and rdx=FILE, or table=FILE")
        origin = f"{self.rdb}:{self.object}"
        df = data_frame(lazyload(self.rdb, self.rdx, self.object), origin)
        missing = [c for c in COLUMNS if c not in df]
        if missing:
            raise InputError(origin, f"data frame lacks column(s) {missing}")
        w = np.asarray(df["weight"], dtype=float)
        p = np.asarray(df["p.value"], dtype=float)
        out = []
        for i, (g, pw) in enumerate(zip(df["gene"], df["pathway"], strict=True)):
            _check(origin, i + 1, g, pw, w[i], p[i])
            out.append((str(g), str(pw), float(w[i]), float(p[i])))
        return out

    def top_rows(self) -> list[tuple[str, str, float, float]]:
        """The ``top`` rows per pathway by p-value (ties by gene name), pathway by pathway."""
        by: dict[str, list[tuple[str, str, float, float]]] = {}
        for row in self.model():
            by.setdefault(row[1], []).append(row)
        out = []
        for pw in sorted(by):
            rows = sorted(by[pw], key=lambda r: (r[3], r[0]))
            out += rows[: self.top] if self.top else rows
        return out

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:
        names = NameMap.of(self.gene_index(genes), self.resolver)
        src = self.source().key
        rows = self.top_rows()
        best: dict[tuple[str, str], tuple[float, float]] = {}
        pathways: list[str] = []
        for gene, pw, w, p in rows:
            if not pathways or pathways[-1] != pw:
                pathways.append(pw)
            self.stats["rows"] += 1
            gid = names(gene)
            if gid is None:
                self.stats["rows_unmapped"] += 1
                continue
            key = (gid, pw)
            if key in best:
                self.stats["rows_merged"] += 1
                if p >= best[key][1]:
                    continue
            best[key] = (w, p)
        for pw in pathways:
            self.stats["footprints"] += 1
            yield Node("Footprint", pw, {"name": pw}, src)
        for (gid, pw), (w, p) in best.items():
            self.stats["edges"] += 1
            props: dict[str, Any] = {"weight": w, "p_value": p, "sign": sign_of(w)}
            yield Edge("IN_FOOTPRINT", "Gene", gid, "Footprint", pw, props, src)
        self.stats.update(names.stats())
        self.stats["top"] = self.top


def _check(origin: Any, n: int, gene: Any, pw: Any, w: float, p: float) -> None:
    if not gene or not pw:
        raise InputError(origin, "empty gene or pathway", n)
    if not math.isfinite(w):
        raise InputError(origin, f"weight is not a finite number: {w!r}", n)
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise InputError(origin, f"p.value is not in [0, 1]: {p!r}", n)


def _table_rows(path: Path) -> Iterator[tuple[str, str, float, float]]:
    header: list[str] | None = None
    sep = "\t"
    for n, line in lines(path):
        if not line.strip():
            continue
        if header is None:
            sep = "\t" if "\t" in line else ","
            header = [c.strip().strip('"') for c in line.split(sep)]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise InputError(path, f"header lacks column(s) {missing}", n)
            idx = [header.index(c) for c in COLUMNS]
            continue
        cols = [c.strip().strip('"') for c in line.split(sep)]
        if len(cols) != len(header):
            raise InputError(path, f"expected {len(header)} columns, found {len(cols)}", n)
        g, pw, ws, ps = (cols[i] for i in idx)
        try:
            w, p = float(ws), float(ps)
        except ValueError:
            raise InputError(
                path, f"weight or p.value is not a number: {ws!r}, {ps!r}", n
            ) from None
        _check(path, n, g, pw, w, p)
        yield g, pw, w, p
