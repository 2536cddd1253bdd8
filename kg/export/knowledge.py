"""Typed, signed edge lists of the knowledge sources, for models and baselines.

:func:`knowledge_edges` reads one source's edges from the complete loads of that source
(what a load still running, or killed, created is never read) into a DataFrame with columns

- ``src_gene_id``: Ensembl id of the source gene;
- ``dst_gene_id``: Ensembl id of the other gene for gene-gene sources; for membership sources
  the group's name (a PROGENy footprint, a gene set), see ``dst_kind``;
- ``sign``: +1 / -1 where the source says which way (CollecTRI activation / repression,
  PROGENy response, an MSigDB _UP / _DN half), 0 where it does not (STRING, unsigned sets);
- ``weight``: STRING combined score / 1000 (1.0 when the file gave none), the PROGENy response
  weight (signed, as published), 1.0 otherwise;
- ``dst_kind``: ``gene``, ``footprint`` or ``gene_set``.

Per source:

- ``string``: undirected. Stored once per pair (smaller id first); returned in BOTH directions
  unless ``both_directions=False``;
- ``collectri``: directed, transcription factor -> target;
- ``progeny``: gene -> footprint memberships (``dst_kind`` footprint);
- ``msigdb``: gene -> gene-set memberships (``dst_kind`` gene_set).

Rows are sorted by (src, dst) so the result is the same for the same graph.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from grapekg import cypher
from grapekg.errors import ConfigError
from grapekg.kg.loader import pending_loads
from grapekg.kg.store import Store

#: source -> (internal query, dst kind, directed)
SOURCES: dict[str, tuple[str, str, bool]] = {
    "string": ("knowledge_string", "gene", False),
    "collectri": ("knowledge_collectri", "gene", True),
    "progeny": ("knowledge_progeny", "footprint", True),
    "msigdb": ("knowledge_msigdb", "gene_set", True),
}
COLUMNS = ["src_gene_id", "dst_gene_id", "sign", "weight", "dst_kind"]


def complete_stamps(store: Store, name: str) -> list[str]:
    """``name@version`` of the complete loads of source ``name``."""
    rows = store.read(cypher.internal("knowledge_sources_complete"), {"names": [name]})
    return [r["stamp"] for r in rows]


def knowledge_edges(store: Store, source: str, *, both_directions: bool = True) -> pd.DataFrame:
    """The edges of ``source`` (``string``, ``collectri``, ``progeny``, ``msigdb``) as the
    DataFrame of the module docstring; empty (with the columns) when it is not loaded."""
    if source not in SOURCES:
        raise ConfigError(f"knowledge source '{source}': choose from {', '.join(SOURCES)}")
    query, dst_kind, directed = SOURCES[source]
    ok = complete_stamps(store, source)
    rows: list[dict[str, Any]] = []
    if ok:
        # one streamed query: a source has at most some 10^5-10^6 edges, and a gene-paged read
        # would visit every gene of the graph to find them
        rows = store.read(cypher.internal(query), {"ok": ok, "pending": pending_loads(store)})
    df = pd.DataFrame(rows, columns=["src", "dst", "sign", "weight", "source"])
    df = df.rename(columns={"src": "src_gene_id", "dst": "dst_gene_id"})
    if not directed and both_directions and len(df):
        rev = df.rename(columns={"src_gene_id": "dst_gene_id", "dst_gene_id": "src_gene_id"})
        df = pd.concat([df, rev], ignore_index=True)
    df["dst_kind"] = dst_kind
    df["sign"] = df["sign"].astype("int8")
    df["weight"] = df["weight"].astype("float32")
    df = df.sort_values(["src_gene_id", "dst_gene_id"], kind="stable").reset_index(drop=True)
    return df[COLUMNS]
