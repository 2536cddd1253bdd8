"""Compute gene feature vectors: read texts or sequences from the KG (and FASTA files), encode
them with the encoders of :mod:`grapekg.model.features`, and store the vectors on Gene nodes
(:mod:`grapekg.kg.features`); resumable (genes holding a vector of the same model are skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError
from grapekg.kg import features as kgf
from grapekg.kg.store import Store
from grapekg.settings import Settings

CHUNK = 512
MODALITIES = ("text", "dna", "kmer")

#: ``progress(label, total)`` -> context manager yielding ``advance(n)`` (e.g. the CLI's bars)
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True)
class FeatureOptions:
    """What to encode and how (the options of ``grape features compute``)."""

    modality: str
    genes: str = "all"
    model: str | None = None
    pooling: str = "mean"
    enrich: bool = False
    fasta: str | None = None
    sequences: str | None = None
    names: str = "plain"
    k: int = 4
    window: int = 6000
    trust_remote_code: bool = False
    batch_size: int = 32
    device: str = "cpu"


@dataclass(frozen=True)
class FeatureReport:
    modality: str
    model_id: str
    genes: int
    with_vector: int
    dim: int


def _no_progress(_label: str, _total: int | None) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _n: None)


def gene_sequences(
    store: Store, ids: Sequence[str], fasta: str | None, named: Mapping[str, str] | None = None
) -> list[str | None]:
    """Each gene's sequence: a ``sequence`` property when present, else cut from an indexed
    genome FASTA by the KG's 1-based coordinates and strand, else from ``named`` (Ensembl id
    or symbol → sequence, see :func:`~grapekg.app.sequences.read_named_fasta`); None otherwise."""
    from grapekg.app.sequences import Region, fasta_sequences

    rows = kgf.gene_coordinates(store, ids)
    seqs: list[str | None] = [rows[i]["seq"] if i in rows else None for i in ids]
    if fasta:
        regions = [
            None
            if (r := rows.get(i)) is None or r["start"] is None
            else Region(
                str(r["chrom"]),
                int(r["start"]) - 1,
                int(r["end"]),
                "-" if r["strand"] == -1 else "+",
            )
            for i in ids
        ]
        cut = fasta_sequences(fasta, regions)
        seqs = [s or c for s, c in zip(seqs, cut, strict=True)]
    if named:
        seqs = [
            s or named.get(i) or (named.get(rows[i]["symbol"] or "") if i in rows else None)
            for s, i in zip(seqs, ids, strict=True)
        ]
    return seqs


def _pages(seq: Sequence[str]) -> Iterator[Sequence[str]]:
    return kgf.iter_pages(seq, CHUNK)


def _text(store: Store, ids: list[str], o: FeatureOptions, cache: Path, progress: Progress) -> str:
    from grapekg.model.features.text import TextEncoder

    enc = TextEncoder(
        o.model,
        pooling=o.pooling,
        batch_size=o.batch_size,  # type: ignore[arg-type]
        device=o.device,
        cache_dir=cache,
    )
    model_id = enc.model_id + ("|enriched" if o.enrich else "")
    todo = kgf.genes_missing(store, ids, "text", model_id)
    with progress("text features", len(todo)) as advance:
        for page in _pages(todo):
            texts = kgf.gene_texts(store, page, enrich=o.enrich)
            vec = enc.encode([texts[g] for g in page])
            kgf.write_vectors(store, "text", model_id, page, vec, advance)
    return model_id


def _sequence(
    store: Store, ids: list[str], o: FeatureOptions, cache: Path, progress: Progress
) -> str:
    modality = o.modality
    if modality == "dna":
        if not o.model:
            raise ConfigError("--modality dna needs --model (a DNA language model name or path)")
        from grapekg.model.features.dna import DnaEncoder

        pooling = o.pooling if o.pooling in ("first", "mean") else "first"
        dna = DnaEncoder(
            o.model,
            window=o.window,
            pooling=pooling,  # type: ignore[arg-type]
            batch_size=o.batch_size,
            trust_remote_code=o.trust_remote_code,
            device=o.device,
            cache_dir=cache,
        )
        model_id = dna.model_id
    else:
        from grapekg.model.features.kmer import kmer_matrix

        model_id = f"kmer|k={o.k}"
    named = None
    if o.sequences:
        if o.names not in ("plain", "mirbase"):
            raise ConfigError(f"--names '{o.names}': use plain or mirbase")
        from grapekg.app.sequences import read_named_fasta

        named = read_named_fasta(o.sequences, o.names)  # type: ignore[arg-type]
        model_id += f"|seqs={Path(o.sequences).name}"
    todo = kgf.genes_missing(store, ids, modality, model_id)
    n_seq = 0
    with progress(f"{modality} features", len(todo)) as advance:
        for page in _pages(todo):
            seqs = gene_sequences(store, page, o.fasta, named)
            if modality == "dna":
                vec, mask = dna.encode(seqs)
            else:
                vec, mask = kmer_matrix(seqs, o.k)
            n_seq += int(mask.sum())
            if vec.shape[1]:
                vec = vec.astype(np.float32)
                vec[~mask] = np.nan  # no sequence: no feature
                kgf.write_vectors(store, modality, model_id, page, vec, advance)
            else:
                advance(len(page))
    if todo and n_seq == 0:
        raise ConfigError(
            "no gene had a sequence: give --fasta GENOME.fa (indexed), "
            "--sequences GENES.fa, or store a 'sequence' property on Gene nodes"
        )
    return model_id


def compute_features(
    store: Store, settings: Settings, options: FeatureOptions, progress: Progress | None = None
) -> FeatureReport:
    """Encode the genes of ``options.genes`` and store their vectors (module docstring)."""
    cache = Workspace(settings).embeddings_cache
    ids = kgf.gene_ids_for(store, options.genes)
    prog = progress or _no_progress
    if options.modality == "text":
        model_id = _text(store, ids, options, cache, prog)
    elif options.modality in ("dna", "kmer"):
        model_id = _sequence(store, ids, options, cache, prog)
    else:
        raise ConfigError(f"--modality '{options.modality}': use text, dna or kmer")
    mat, mask = kgf.read_vectors(store, options.modality, ids)
    return FeatureReport(options.modality, model_id, len(ids), int(mask.sum()), mat.shape[1])
