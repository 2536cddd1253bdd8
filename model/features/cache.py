"""On-disk embedding cache keyed by (model id, sha256 of the input text).

Layout under ``root``: one folder per model id (named by the sha256 of the id, with the id
itself in ``model.json``); each :meth:`EmbeddingCache.put` writes one shard pair
``shard-<n>.npy`` (float32 rows) and ``shard-<n>.parquet`` (column ``sha256``, row order).
Reads load every shard's index once and memory-map the arrays.

A cache opened with ``deferred=True`` writes nothing: :meth:`EmbeddingCache.put` keeps the new
rows in memory until :meth:`EmbeddingCache.take_pending` hands them over, so that when several
processes encode (``torchrun``, :mod:`grapekg.app.features`) one of them writes the rows of all
(:meth:`EmbeddingCache.put_keyed`): processes appending shards to one folder at once would
pick the same shard number.
"""

from __future__ import annotations

import hashlib
import json
import os
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

    def __init__(self, root: str | PathLike[str], model_id: str, *, deferred: bool = False) -> None:
        self.model_id = model_id
        self.deferred = deferred
        self._pending: list[tuple[list[str], np.ndarray]] = []
        self.dir = Path(root) / hashlib.sha256(model_id.encode()).hexdigest()[:32]
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "model.json"
        if not meta.exists():  # written whole (several processes may open it at once)
            tmp = meta.with_name(f"model.json.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"model_id": model_id}))
            tmp.replace(meta)
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
        """Store one row per text (duplicates and already cached texts are skipped); a
        deferred cache keeps them for :meth:`take_pending` instead."""
        keys = [text_key(t) for t in texts]
        if self.deferred:
            self._pending.append((keys, np.asarray(vectors, dtype=np.float32)))
            return
        self.put_keyed(keys, vectors)

    def take_pending(self) -> tuple[list[str], np.ndarray]:
        """The keys and rows a deferred cache was given since the last call (then forgotten)."""
        keys = [k for ks, _ in self._pending for k in ks]
        rows = [v for _, v in self._pending if len(v)]
        self._pending = []
        if not rows:
            return keys, np.zeros((0, 0), dtype=np.float32)
        return keys, np.concatenate(rows).astype(np.float32)

    def put_keyed(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Write one row per sha256 key as one new shard (keys already cached, and repeated
        ones, are skipped; nothing is written when no key is new)."""
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} rows")
        index = self._load_index()
        keep: dict[str, int] = {}
        for i, k in enumerate(keys):
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
