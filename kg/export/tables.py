"""The tables the paged reader fills and the heterogeneous-graph builder consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class NodeTable:
    """Genes in Ensembl-id order: symbol, biotype class, feature vector (or None)."""

    ids: list[str]
    symbols: list[str | None]
    classes: list[str]
    x: list[list[float] | None]


@dataclass
class EdgeTable:
    """Edges as positions into :attr:`NodeTable.ids`, with weight and kind code."""

    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    kind: np.ndarray
