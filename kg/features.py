"""Gene feature vectors in Neo4j: the texts encoders read, and the vectors they produce.

Vectors are stored on Gene nodes as ``feat_<modality>`` (a float list) with
``feat_<modality>_model`` naming the encoder, and indexed by a Neo4j vector index
(cosine), so ``db.index.vector.queryNodes`` finds a gene's nearest neighbours. Writes go in
pages, each its own transaction; a rerun skips genes already holding a vector of the same
model (resumable).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from grapekg.errors import ConfigError
from grapekg.kg.store import Store

MODALITY = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
PAGE = 2_000


def _prop(modality: str) -> str:
    if not MODALITY.match(modality):
        raise ConfigError(f"modality '{modality}' must be lower_snake_case")
    return f"feat_{modality}"


def gene_texts(store: Store, ids: Sequence[str], *, enrich: bool = False,
               max_terms: int = 20) -> dict[str, str]:
    """The text of each gene: its description (symbol when it has none); with ``enrich``,
    followed by the names of its GO biological-process terms and Reactome pathways."""
    out: dict[str, str] = {}
    for start in range(0, len(ids), PAGE):
        rows = store.read(
            "UNWIND $ids AS id MATCH (g:Gene {ensembl_id: id}) "
            "RETURN id, g.symbol AS symbol, g.description AS description, "
            "CASE WHEN $enrich THEN [(g)-[:ANNOTATED_WITH]->(t:GOTerm {namespace: 'biological_process'}) | t.name][0..$k] ELSE [] END AS go, "
            "CASE WHEN $enrich THEN [(g)-[:IN_PATHWAY]->(p:Pathway) | p.name][0..$k] ELSE [] END AS pw",
            {"ids": list(ids[start:start + PAGE]), "enrich": enrich, "k": max_terms})
        for r in rows:
            text = r["description"] or r["symbol"] or r["id"]
            if enrich and (r["go"] or r["pw"]):
                parts = [text]
                if r["go"]:
                    parts.append("Biological processes: " + "; ".join(sorted(r["go"])) + ".")
                if r["pw"]:
                    parts.append("Pathways: " + "; ".join(sorted(r["pw"])) + ".")
                text = " ".join(parts)
            out[r["id"]] = text
    return out


def genes_missing(store: Store, ids: Sequence[str], modality: str, model_id: str) -> list[str]:
    """Those of ``ids`` without a ``modality`` vector from ``model_id`` (for resuming)."""
    prop = _prop(modality)
    have: set[str] = set()
    for start in range(0, len(ids), PAGE):
        rows = store.read(
            f"UNWIND $ids AS id MATCH (g:Gene {{ensembl_id: id}}) "
            f"WHERE g.{prop} IS NOT NULL AND g.{prop}_model = $model RETURN id",
            {"ids": list(ids[start:start + PAGE]), "model": model_id})
        have.update(r["id"] for r in rows)
    return [i for i in ids if i not in have]


def ensure_vector_index(store: Store, modality: str, dim: int) -> None:
    """A cosine vector index on ``feat_<modality>`` of width ``dim``; an index of another
    width (vectors of an earlier encoder) is dropped and rebuilt."""
    prop = _prop(modality)
    name = f"gene_{prop}"
    rows = store.read("SHOW VECTOR INDEXES YIELD name, options WHERE name = $n RETURN options",
                      {"n": name})
    if rows:
        have = (rows[0]["options"] or {}).get("indexConfig", {}).get("vector.dimensions")
        if have is not None and int(have) != int(dim):
            store.run_auto(f"DROP INDEX {name} IF EXISTS")
    store.run_auto(
        f"CREATE VECTOR INDEX gene_{prop} IF NOT EXISTS FOR (g:Gene) ON (g.{prop}) "
        "OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}",
        {"dim": int(dim)})


def write_vectors(store: Store, modality: str, model_id: str, ids: Sequence[str],
                  vectors: np.ndarray, advance: Callable[[int], None] | None = None) -> int:
    """Store ``vectors[i]`` on gene ``ids[i]``; one transaction per page. Rows that are all
    NaN (no input for that gene, e.g. no sequence) are skipped."""
    prop = _prop(modality)
    if len(ids) != len(vectors):
        raise ConfigError(f"{len(ids)} ids but {len(vectors)} vectors")
    ensure_vector_index(store, modality, vectors.shape[1])
    written = 0
    for start in range(0, len(ids), PAGE):
        rows = [{"id": i, "v": [float(x) for x in v]}
                for i, v in zip(ids[start:start + PAGE], vectors[start:start + PAGE], strict=True)
                if not np.isnan(v).all()]
        store.write(
            f"UNWIND $rows AS row MATCH (g:Gene {{ensembl_id: row.id}}) "
            f"SET g.{prop} = row.v, g.{prop}_model = $model",
            {"rows": rows, "model": model_id})
        written += len(rows)
        if advance:
            advance(min(PAGE, len(ids) - start))
    return written


def read_vectors(store: Store, modality: str, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(matrix [len(ids), d] with NaN rows for genes without a vector, presence mask)."""
    prop = _prop(modality)
    found: dict[str, list[float]] = {}
    for start in range(0, len(ids), PAGE):
        for r in store.read(
            f"UNWIND $ids AS id MATCH (g:Gene {{ensembl_id: id}}) WHERE g.{prop} IS NOT NULL "
            f"RETURN id, g.{prop} AS v", {"ids": list(ids[start:start + PAGE])}):
            found[r["id"]] = r["v"]
    if not found:
        return np.zeros((len(ids), 0), np.float32), np.zeros(len(ids), bool)
    dim = len(next(iter(found.values())))
    mat = np.full((len(ids), dim), np.nan, np.float32)
    mask = np.zeros(len(ids), bool)
    for i, g in enumerate(ids):
        if g in found:
            mat[i] = found[g]
            mask[i] = True
    return mat, mask


def nearest(store: Store, modality: str, ensembl_id: str, k: int = 10) -> list[dict]:
    """The ``k`` genes whose ``modality`` vectors are closest (cosine) to a gene's."""
    prop = _prop(modality)
    return store.read(
        f"MATCH (g:Gene {{ensembl_id: $id}}) WHERE g.{prop} IS NOT NULL "
        f"CALL db.index.vector.queryNodes($index, $k1, g.{prop}) YIELD node, score "
        "WHERE node <> g RETURN node.ensembl_id AS ensembl_id, node.symbol AS symbol, score LIMIT $k",
        {"id": ensembl_id, "index": f"gene_{prop}", "k1": k + 1, "k": k})


def iter_pages(seq: Sequence[str], size: int = PAGE) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def gene_ids_for(store: Store, spec: str) -> list[str]:
    """Gene set by spec: ``all``, ``dataset:NAME`` (genes measured in it), or a file of
    Ensembl ids / symbols (one a line); every line of a file must name a KG gene. The
    resolution is the exporter's (:func:`~grapekg.kg.export.reader.resolve_gene_set`)."""
    from grapekg.kg.export.reader import resolve_gene_set

    ids, desc = resolve_gene_set(store, spec)
    if desc.get("unresolved"):
        raise ConfigError(f"{spec}: {desc['unresolved']} gene(s) not in the KG, e.g. "
                          f"{', '.join(desc['unresolved_examples'][:5])}")
    return ids


def gene_sequences(store: Store, ids: Sequence[str], fasta: str | None,
                   named: Mapping[str, str] | None = None) -> list[str | None]:
    """Each gene's sequence: a ``sequence`` property when present, else cut from an indexed
    genome FASTA by the KG's 1-based coordinates and strand, else from ``named`` (Ensembl id
    or symbol → sequence, see :mod:`~grapekg.model.features.named_fasta`); None otherwise."""
    from grapekg.model.features.dna import Region, fasta_sequences

    rows = {r["id"]: r for page in iter_pages(ids) for r in store.read(
        "UNWIND $ids AS id MATCH (g:Gene {ensembl_id: id}) RETURN id, g.sequence AS seq, g.symbol AS symbol, "
        "g.chrom AS chrom, g.start AS start, g.end AS end, g.strand AS strand", {"ids": list(page)})}
    seqs: list[str | None] = [rows[i]["seq"] if i in rows else None for i in ids]
    if fasta:
        regions = [None if (r := rows.get(i)) is None or r["start"] is None else
                   Region(str(r["chrom"]), int(r["start"]) - 1, int(r["end"]),
                          "-" if r["strand"] == -1 else "+") for i in ids]
        cut = fasta_sequences(fasta, regions)
        seqs = [s or c for s, c in zip(seqs, cut, strict=True)]
    if named:
        seqs = [s or named.get(i) or (named.get(rows[i]["symbol"] or "") if i in rows else None)
                for s, i in zip(seqs, ids, strict=True)]
    return seqs
