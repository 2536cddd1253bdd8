"""Compute gene feature vectors: read texts or sequences from the KG (and FASTA files), encode
them with the encoders of :mod:`grapekg.model.features`, and store the vectors on Gene nodes
(:mod:`grapekg.kg.features`); resumable (genes holding a vector of the same model are skipped).

Under ``torchrun --nproc-per-node N -m grapekg.cli features compute ...`` the genes are encoded
by N processes (:mod:`grapekg.model.features.shards`): rank 0 decides which genes still need a
vector, every rank encodes its part of each round (on ``cuda:LOCAL_RANK`` with
``--device cuda``), and rank 0 alone writes the new embedding-cache rows and the vectors to
Neo4j; the other ranks only read. In one process it is the plain page-by-page loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError
from grapekg.kg import features as kgf
from grapekg.kg.store import Store
from grapekg.model import distributed as ddp
from grapekg.model.features import shards
from grapekg.model.features.cache import EmbeddingCache
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


#: encode the genes of a list: (vectors ``[n, d]``, presence mask ``[n]``)
Encode = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


def _assemble(
    parts: list[tuple[list[str], np.ndarray, np.ndarray]],
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The ranks' parts of a round as one (ids, vectors, mask); a part of width 0 (no gene of
    it had an input) becomes absent rows of the common width."""
    dim = max((v.shape[1] for _, v, _ in parts if v.ndim == 2), default=0)
    ids = [g for p, _, _ in parts for g in p]
    vec = np.zeros((len(ids), dim), dtype=np.float32)
    mask = np.zeros(len(ids), dtype=bool)
    row = 0
    for p, v, m in parts:
        if len(p) and v.shape[1] == dim:
            vec[row : row + len(p)] = v
            mask[row : row + len(p)] = m
        row += len(p)
    return ids, vec, mask


def _encode_all(
    store: Store,
    modality: str,
    model_id: str,
    todo: list[str],
    encode: Encode,
    cache: EmbeddingCache | None,
    advance: Callable[[int], None],
) -> int:
    """Encode ``todo`` round by round (:mod:`~grapekg.model.features.shards`) and store the
    vectors (rank 0); genes without input get none. Returns the genes that had an input (on
    rank 0; 0 on the others)."""
    parallel = ddp.active()
    present = 0
    for _block, part in shards.rounds(todo, CHUNK):
        vec, mask = encode(part) if part else (np.zeros((0, 0), np.float32), np.zeros(0, bool))
        pending = cache.take_pending() if parallel and cache is not None else None
        got = shards.gather_to_rank0((part, vec, mask, pending))
        if got is None:
            continue
        ids, vec, mask = _assemble([(p, v, m) for p, v, m, _ in got])
        if cache is not None and parallel:  # one write of every rank's new rows
            keys = [k for *_, (ks, _) in got for k in ks]
            rows = [r for *_, (ks, r) in got if ks]
            if keys:
                cache.put_keyed(keys, np.concatenate(rows))
        present += int(mask.sum())
        if vec.shape[1]:
            vec[~mask] = np.nan  # no input: no feature
            kgf.write_vectors(store, modality, model_id, ids, vec, advance)
        else:
            advance(len(ids))
    return present


def _todo(store: Store, ids: list[str], modality: str, model_id: str) -> list[str]:
    """Genes without a vector of ``model_id``, as rank 0 found them (one list for all)."""
    todo = kgf.genes_missing(store, ids, modality, model_id) if ddp.is_rank0() else None
    return list(shards.object_from_rank0(todo))


def _device(o: FeatureOptions) -> str:
    """``--device``; ``cuda`` is this rank's GPU when several processes encode."""
    import torch

    return str(ddp.device_for(torch.device(o.device)))


def _text(store: Store, ids: list[str], o: FeatureOptions, cache: Path, progress: Progress) -> str:
    from grapekg.model.features.text import TextEncoder

    enc = TextEncoder(
        o.model,
        pooling=o.pooling,
        batch_size=o.batch_size,  # type: ignore[arg-type]
        device=_device(o),
        cache_dir=cache,
        defer_cache_writes=ddp.active(),
    )
    model_id = enc.model_id + ("|enriched" if o.enrich else "")

    def encode(page: list[str]) -> tuple[np.ndarray, np.ndarray]:
        texts = kgf.gene_texts(store, page, enrich=o.enrich)
        return enc.encode([texts[g] for g in page]), np.ones(len(page), dtype=bool)

    todo = _todo(store, ids, "text", model_id)
    with progress("text features", len(todo)) as advance:
        _encode_all(store, "text", model_id, todo, encode, enc.cache, advance)
    return model_id


def _sequence(
    store: Store, ids: list[str], o: FeatureOptions, cache: Path, progress: Progress
) -> tuple[str, str | None]:
    """(model id, the error when genes needed a vector but none had a sequence: rank 0's
    verdict, raised on every rank by :func:`compute_features`)."""
    modality = o.modality
    dna_cache: EmbeddingCache | None = None
    encode_seqs: Callable[[list[str | None]], tuple[np.ndarray, np.ndarray]]
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
            device=_device(o),
            cache_dir=cache,
            defer_cache_writes=ddp.active(),
        )
        model_id = dna.model_id
        dna_cache = dna.cache
        encode_seqs = dna.encode
    else:
        from grapekg.model.features.kmer import kmer_matrix

        model_id = f"kmer|k={o.k}"

        def encode_seqs(seqs: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
            return kmer_matrix(seqs, o.k)

    named = None
    if o.sequences:
        if o.names not in ("plain", "mirbase"):
            raise ConfigError(f"--names '{o.names}': use plain or mirbase")
        from grapekg.app.sequences import read_named_fasta

        named = read_named_fasta(o.sequences, o.names)  # type: ignore[arg-type]
        model_id += f"|seqs={Path(o.sequences).name}"

    def encode(page: list[str]) -> tuple[np.ndarray, np.ndarray]:
        vec, mask = encode_seqs(gene_sequences(store, page, o.fasta, named))
        return vec.astype(np.float32), mask

    todo = _todo(store, ids, modality, model_id)
    with progress(f"{modality} features", len(todo)) as advance:
        n_seq = _encode_all(store, modality, model_id, todo, encode, dna_cache, advance)
    if todo and n_seq == 0 and ddp.is_rank0():
        return model_id, (
            "no gene had a sequence: give --fasta GENOME.fa (indexed), "
            "--sequences GENES.fa, or store a 'sequence' property on Gene nodes"
        )
    return model_id, None


def compute_features(
    store: Store, settings: Settings, options: FeatureOptions, progress: Progress | None = None
) -> FeatureReport:
    """Encode the genes of ``options.genes`` and store their vectors (module docstring). In a
    ``torchrun`` launch every rank returns rank 0's report, or raises rank 0's error (a bad
    option fails every rank alike before any gene is encoded)."""
    if options.modality not in MODALITIES:
        raise ConfigError(f"--modality '{options.modality}': use text, dna or kmer")
    ddp.init_from_env()
    cache = Workspace(settings).embeddings_cache
    ids = kgf.gene_ids_for(store, options.genes)
    prog = progress if progress is not None and ddp.is_rank0() else _no_progress
    error = None
    if options.modality == "text":
        model_id = _text(store, ids, options, cache, prog)
    else:
        model_id, error = _sequence(store, ids, options, cache, prog)
    outcome: FeatureReport | str = ""
    if error:
        outcome = error
    elif ddp.is_rank0():
        mat, mask = kgf.read_vectors(store, options.modality, ids)
        outcome = FeatureReport(options.modality, model_id, len(ids), int(mask.sum()), mat.shape[1])
    outcome = shards.object_from_rank0(outcome)
    if isinstance(outcome, str):
        raise ConfigError(outcome)
    return outcome
