"""Label datasets in the KG: ``(Dataset {kind: 'labels'})-[:HAS_CONDITION]->(Condition)
-[:TARGETS]->(Gene)`` for the perturbations and ``(Gene)-[:MEASURED_IN]->(Dataset)`` for the
downstream genes, registered in one transaction like an expression dataset
(:mod:`grapekg.kg.datasets`), with the task, cell line and modality on the Dataset node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grapekg import cypher
from grapekg.kg.store import Store

__all__ = ["dataset_kind", "register"]

#: returned by :func:`dataset_kind` for a name the KG does not hold
ABSENT = "absent"


def dataset_kind(store: Store, name: str) -> str | None:
    """``'labels'``, None (an expression dataset) or :data:`ABSENT`."""
    rows = store.read(cypher.internal("dataset_kind"), {"name": name})
    return rows[0]["kind"] if rows else ABSENT


def register(
    store: Store,
    meta: dict[str, Any],
    bundle_path: Path,
    perturbations: list[dict[str, Any]],
    genes: list[dict[str, Any]],
) -> None:
    """(Re)register a label dataset in ONE transaction: replaced whole, or not touched.

    ``perturbations``: ``{id, name, kind, n_cells, n_targets, targets: [Ensembl ids]}`` rows
    (one Condition each); ``genes``: ``{id: Ensembl id, pos}`` of the downstream genes in the
    KG."""
    name = meta["name"]
    src = f"dataset:{name}"
    steps = [
        (cypher.internal("dataset_clear_conditions"), {"name": name}),
        (cypher.internal("dataset_clear_measured"), {"name": name}),
        (
            cypher.internal("label_dataset_merge"),
            {
                "name": name,
                "path": meta["source_file"],
                "bundle": str(bundle_path),
                "task": meta["task"],
                "cell_line": meta["cell_line"],
                "modality": meta["modality"],
                "n_pairs": meta["n_pairs"],
                "n_genes": meta["n_genes"],
                "in_kg": meta["genes_in_kg"],
                "n_conditions": meta["n_perturbations"],
                "pert_col": meta["pert_col"],
                "synthetic": meta["synthetic"],
                "created": meta["created"],
                "src": src,
            },
        ),
        (cypher.internal("dataset_conditions"), {"name": name, "rows": perturbations, "src": src}),
        (cypher.internal("dataset_measured"), {"name": name, "rows": genes, "src": src}),
    ]
    store.write_many(steps)
