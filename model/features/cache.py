"""On-disk embedding cache keyed by (model id, sha256 of the input text).

Layout under ``root``: one folder per model id (named by the sha256 of the id, with the id
itself in ``model.json``); each :meth:`EmbeddingCache.put` writes one shard pair
``shard-<n>.npy`` (float32 rows) and ``shard-<n>.parquet`` (column ``sha256``, row order).
Reads load every shard's index once and memory-map the arrays.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.parquet import read_parquet

__all__ = ["EmbeddingCache", "text_key"]


def text_key(text: str) -> str:
    """sha256 hex digest of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings of one model id stored under ``root``.

    Args:
        root: cache directory (created).
        model_id: anything identifying the encoder and its settings (name or path,
            pooling, window...); different ids never share entries.
    """

    def __init__(self, root: str | PathLike[str], model_id: str) -> None:
        self.model_id = model_id
        self.dir = Path(root) / hashlib.sha256(model_id.encode()).hexdigest()[:32]
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "model.json"
        if not meta.exists():
            meta.write_text(json.dumps({"model_id": model_id}))
        self._index: dict[str, tuple[Path, int]] | None = None
        self.hits = 0
        self.misses = 0

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            self._index = {}
            for part in sorted(self.dir.glob("shard-*.parquet")):
                keys = read_parquet(part, columns=["sha256"])["sha256"].tolist()
                arr = part.with_suffix(".npy")
                self._index.update({k: (arr, i) for i, k in enumerate(keys)})
        return self._index

    def get(self, texts: Sequence[str]) -> tuple[list[np.ndarray | None], list[int]]:
        """Cached rows (None where absent) and the positions of the misses."""
        index = self._load_index()
        arrays: dict[Path, np.ndarray] = {}
        out: list[np.ndarray | None] = []
        missing = []
        for i, t in enumerate(texts):
            hit = index.get(text_key(t))
            if hit is None:
                out.append(None)
                missing.append(i)
                continue
            path, row = hit
            if path not in arrays:
                arrays[path] = np.load(path, mmap_mode="r")
            out.append(np.array(arrays[path][row]))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return out, missing

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one row per text (duplicates and already cached texts are skipped)."""
        index = self._load_index()
        keep: dict[str, int] = {}
        for i, t in enumerate(texts):
            k = text_key(t)
            if k not in index and k not in keep:
                keep[k] = i
        if not keep:
            return
        n = len(list(self.dir.glob("shard-*.parquet")))
        stem = self.dir / f"shard-{n:06d}"
        rows = np.asarray(vectors, dtype=np.float32)[list(keep.values())]
        np.save(stem.with_suffix(".npy"), rows)
        pd.DataFrame({"sha256": list(keep)}).to_parquet(stem.with_suffix(".parquet"))
        index.update({k: (stem.with_suffix(".npy"), j) for j, k in enumerate(keep)})
