"""Gene feature vectors in Neo4j: the texts encoders read, and the vectors they produce.

Vectors are stored on Gene nodes as ``feat_<modality>`` (a float list) with
``feat_<modality>_model`` naming the encoder, and indexed by a Neo4j vector index
(cosine), so ``db.index.vector.queryNodes`` finds a gene's nearest neighbours; the property
names, the modality pattern and the index statements come from ``kg/schema.yaml``. Writes go
in pages, each its own transaction; a rerun skips genes already holding a vector of the same
model (resumable). Reading sequences and encoding is :mod:`grapekg.app.features`' business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from grapekg import cypher
from grapekg.errors import ConfigError
from grapekg.kg.schema import load_default
from grapekg.kg.store import Store

PAGE = 2_000


def _prop(modality: str) -> str:
    return load_default().vector_property(modality)


def gene_texts(
    store: Store, ids: Sequence[str], *, enrich: bool = False, max_terms: int = 20
) -> dict[str, str]:
    """The text of each gene: its description (symbol when it has none); with ``enrich``,
    followed by the names of its GO biological-process terms and Reactome pathways."""
    out: dict[str, str] = {}
    for start in range(0, len(ids), PAGE):
        rows = store.read(
            cypher.internal("gene_texts_page"),
            {"ids": list(ids[start : start + PAGE]), "enrich": enrich, "k": max_terms},
        )
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
            cypher.internal("gene_vectors_done_page"),
            {"ids": list(ids[start : start + PAGE]), "prop": prop, "model": model_id},
        )
        have.update(r["id"] for r in rows)
    return [i for i in ids if i not in have]


def ensure_vector_index(store: Store, modality: str, dim: int) -> None:
    """A cosine vector index on ``feat_<modality>`` of width ``dim``; an index of another
    width (vectors of an earlier encoder) is dropped and rebuilt."""
    schema = load_default()
    rows = store.read(
        cypher.internal("vector_index_options"), {"n": schema.vector_index_name(modality)}
    )
    if rows:
        have = (rows[0]["options"] or {}).get("indexConfig", {}).get("vector.dimensions")
        if have is not None and int(have) != int(dim):
            store.run_auto(schema.drop_vector_index(modality))
    store.run_auto(schema.vector_index(modality), {"dim": int(dim)})


def write_vectors(
    store: Store,
    modality: str,
    model_id: str,
    ids: Sequence[str],
    vectors: np.ndarray,
    advance: Callable[[int], None] | None = None,
) -> int:
    """Store ``vectors[i]`` on gene ``ids[i]``; one transaction per page. Rows that are all
    NaN (no input for that gene, e.g. no sequence) are skipped."""
    prop = _prop(modality)
    if len(ids) != len(vectors):
        raise ConfigError(f"{len(ids)} ids but {len(vectors)} vectors")
    ensure_vector_index(store, modality, vectors.shape[1])
    written = 0
    for start in range(0, len(ids), PAGE):
        rows = [
            {"id": i, "props": {prop: [float(x) for x in v], f"{prop}_model": model_id}}
            for i, v in zip(ids[start : start + PAGE], vectors[start : start + PAGE], strict=True)
            if not np.isnan(v).all()
        ]
        store.write(cypher.internal("gene_vectors_write_page"), {"rows": rows})
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
            cypher.internal("gene_vectors_page"),
            {"ids": list(ids[start : start + PAGE]), "prop": prop},
        ):
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
    index = load_default().vector_index_name(modality)
    return store.read(
        cypher.internal("gene_vector_nearest"),
        {"id": ensembl_id, "prop": prop, "index": index, "k1": k + 1, "k": k},
    )


def iter_pages(seq: Sequence[str], size: int = PAGE) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def gene_ids_for(store: Store, spec: str) -> list[str]:
    """Gene set by spec: ``all``, ``dataset:NAME`` (genes measured in it), or a file of
    Ensembl ids / symbols (one a line); every line of a file must name a KG gene. The
    resolution is the exporter's (:func:`~grapekg.kg.export.reader.resolve_gene_set`)."""
    from grapekg.kg.export.reader import resolve_gene_set

    ids, desc = resolve_gene_set(store, spec)
    if desc.get("unresolved"):
        raise ConfigError(
            f"{spec}: {desc['unresolved']} gene(s) not in the KG, e.g. "
            f"{', '.join(desc['unresolved_examples'][:5])}"
        )
    return ids


def gene_coordinates(store: Store, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per gene of ``ids`` found in the KG: its stored ``seq`` (the ``sequence`` property, or
    None), ``symbol`` and 1-based ``chrom`` / ``start`` / ``end`` / ``strand``."""
    return {
        r["id"]: r
        for page in iter_pages(ids)
        for r in store.read(cypher.internal("gene_coordinates_page"), {"ids": list(page)})
    }
