"""Gene sequences read from files, for the DNA and k-mer features (``grape features
compute --fasta / --sequences``): the file-reading side of :mod:`grapekg.model.features`,
whose encoders take sequences as strings.

* :func:`fasta_sequences`: intervals (:class:`Region`) cut from an indexed genome FASTA with
  pyfaidx; '-' strand regions are reverse complemented.
* :func:`read_named_fasta`: a FASTA whose records are named by gene (id or symbol), for
  sequence collections that are not a genome: transcript or precursor FASTAs whose record
  name (the first word of the header) is an Ensembl gene id or a gene symbol, or, with
  ``names='mirbase'``, miRBase hairpin names (``hsa-mir-21`` → ``MIR21``, ``hsa-let-7a-1`` →
  ``MIRLET7A1``, ``hsa-mir-516a-1`` → ``MIR516A1``; the HGNC symbols of human miRNA genes).
  RNA letters become DNA (U → T), IUPAC ambiguity codes N. Plain or gzip-compressed.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal

from grapekg.errors import InputError

__all__ = ["Region", "fasta_sequences", "mirbase_symbol", "read_named_fasta"]

_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


@dataclass(frozen=True)
class Region:
    """A genomic interval, 0-based half-open [start, end); ``strand`` '+' or '-'."""

    chrom: str
    start: int
    end: int
    strand: str = "+"


def fasta_sequences(
    fasta: str | PathLike[str], regions: Sequence[Region | None], *, upper: bool = True
) -> list[str | None]:
    """Cut each region from an (indexed) FASTA with pyfaidx; '-' strand regions are reverse
    complemented; None / unknown chromosomes / empty intervals give None."""
    from pyfaidx import Fasta

    out: list[str | None] = []
    with Fasta(str(fasta), as_raw=True, sequence_always_upper=upper) as fa:
        for r in regions:
            if r is None or r.chrom not in fa or r.end <= r.start:
                out.append(None)
                continue
            s = str(fa[r.chrom][max(r.start, 0) : r.end])
            if r.strand == "-":
                s = s.translate(_COMPLEMENT)[::-1]
            out.append(s or None)
    return out


_ALPHABET = set("ACGTN")
_IUPAC = str.maketrans({c: "N" for c in "RYKMSWBDHV"})  # ambiguity codes count as N


def mirbase_symbol(name: str, species: str = "hsa") -> str | None:
    """HGNC-style symbol of a miRBase hairpin name of ``species`` (None for others)."""
    prefix = f"{species}-"
    if not name.lower().startswith(prefix):
        return None
    rest = name[len(prefix) :]
    kind, _, tail = rest.partition("-")
    if kind.lower() == "mir":
        return "MIR" + tail.replace("-", "").upper()
    if kind.lower() == "let":
        return "MIRLET" + tail.replace("-", "").upper()
    return None


def read_named_fasta(
    path: str | PathLike[str], names: Literal["plain", "mirbase"] = "plain"
) -> dict[str, str]:
    """Record name (or mapped symbol) → sequence; the first record of a name wins."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file")
    opener = gzip.open if p.suffix == ".gz" else open
    out: dict[str, str] = {}
    name: str | None = None
    chunks: list[str] = []

    def flush() -> None:
        if name is not None and name not in out and chunks:
            out[name] = "".join(chunks)

    try:
        with opener(p, "rt", encoding="ascii") as fh:
            for n, line in enumerate(fh, 1):
                line = line.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    flush()
                    word = line[1:].split(maxsplit=1)[0] if line[1:].strip() else ""
                    if not word:
                        raise InputError(p, "header without a name", n)
                    name = mirbase_symbol(word) if names == "mirbase" else word
                    chunks = []
                    continue
                if name is None and not chunks and n == 1:
                    raise InputError(p, "not a FASTA file (first line is no '>' header)", n)
                seq = line.upper().replace("U", "T").translate(_IUPAC)
                if not set(seq) <= _ALPHABET:
                    bad = sorted(set(seq) - _ALPHABET)[:3]
                    raise InputError(p, f"unexpected sequence letters {bad}", n)
                chunks.append(seq)
            flush()
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise InputError(p, f"unreadable FASTA ({type(e).__name__})") from None
    return out
