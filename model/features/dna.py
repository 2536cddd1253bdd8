"""DNA-sequence features (paper section 4.1: HyenaDNA on the gene's genomic sequence).

A sequence s is cut into consecutive non-overlapping windows of ``window`` nucleotides
(the last one may be shorter; the authors used 160,000 nt for HyenaDNA); each window w is
tokenised and encoded, pooled to one vector (``first``: hidden state of the first token,
as the authors; ``mean``: masked mean over tokens), and the gene's feature is the mean over
its windows: e(s) = (1/|W|) Σ_{w∈W} pool(h(w)).

Models load by Hugging Face name or local path with ``AutoModel`` (ESM-style Nucleotide
Transformer natively; HyenaDNA needs ``trust_remote_code=True``). Sequences come as strings
(read from files by :mod:`grapekg.app.sequences`). A gene with no sequence (None / empty)
gets no feature: :meth:`DnaEncoder.encode` returns a presence mask.
Embeddings are cached by (model id, sha256 of the sequence).
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any, Literal

import numpy as np
import torch

from grapekg.model.features.cache import EmbeddingCache
from grapekg.model.features.text import last_hidden, pool_hidden

__all__ = ["DnaEncoder", "split_windows"]


def split_windows(seq: str, window: int) -> list[str]:
    """Consecutive non-overlapping windows of ``window`` letters (last may be shorter)."""
    if window < 1:
        raise ValueError("window must be >= 1")
    return [seq[i : i + window] for i in range(0, len(seq), window)]


class DnaEncoder:
    """Embeds DNA sequences with a transformers model (module docstring).

    Args:
        model: Hugging Face name or local path.
        window: nucleotides per window. pooling: ``first`` or ``mean``.
        batch_size: windows per forward. max_length: token limit per window (truncation).
        trust_remote_code: needed for HyenaDNA checkpoints.
        dtype: model dtype (e.g. ``torch.bfloat16`` on GPU). cache_dir: embedding cache.
        defer_cache_writes: new cache rows wait in memory for the caller
            (:meth:`EmbeddingCache.take_pending`; one process writes for several).
    """

    def __init__(
        self,
        model: str | PathLike[str],
        *,
        window: int = 6000,
        pooling: Literal["first", "mean"] = "first",
        batch_size: int = 8,
        max_length: int | None = None,
        trust_remote_code: bool = False,
        device: str = "cpu",
        dtype: torch.dtype | None = None,
        cache_dir: str | PathLike[str] | None = None,
        local_files_only: bool = True,
        defer_cache_writes: bool = False,
    ) -> None:
        if pooling not in ("first", "mean"):
            raise ValueError(f"pooling must be 'first' or 'mean', got {pooling!r}")
        self.model_name, self.window, self.pooling = str(model), window, pooling
        self.batch_size, self.max_length = batch_size, max_length
        self.trust_remote_code, self.dtype = trust_remote_code, dtype
        self.device = torch.device(device)
        self.local_files_only = local_files_only
        self.cache = (
            None
            if cache_dir is None
            else EmbeddingCache(cache_dir, self.model_id, deferred=defer_cache_writes)
        )
        self._model: Any = None
        self._tokenizer: Any = None
        self.windows_encoded = 0

    @property
    def model_id(self) -> str:
        return f"dna|{self.model_name}|{self.pooling}|{self.window}|{self.max_length}"

    def _load(self) -> None:
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # its weight-loading bar is not ours to print
            kw = {
                "trust_remote_code": self.trust_remote_code,
                "local_files_only": self.local_files_only,
            }
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_name, **kw)
            mkw = dict(kw)
            if self.dtype is not None:
                mkw["dtype"] = self.dtype
            self._model = AutoModel.from_pretrained(self.model_name, **mkw).to(self.device).eval()

    @torch.no_grad()
    def _embed_windows(self, windows: Sequence[str]) -> np.ndarray:
        out = []
        for lo in range(0, len(windows), self.batch_size):
            kw: dict[str, Any] = {"padding": True, "return_tensors": "pt"}
            if self.max_length is not None:
                kw |= {"truncation": True, "max_length": self.max_length}
            enc = self._tokenizer(list(windows[lo : lo + self.batch_size]), **kw)
            mask = enc.get("attention_mask")
            inputs = {"input_ids": enc["input_ids"].to(self.device)}
            if mask is not None:
                inputs["attention_mask"] = mask.to(self.device)
            else:
                mask = torch.ones_like(enc["input_ids"])
            hidden = last_hidden(self._model(**inputs)).float()
            out.append(
                pool_hidden(
                    hidden, mask.to(self.device), "cls" if self.pooling == "first" else "mean"
                )
                .cpu()
                .numpy()
            )
            self.windows_encoded += len(windows[lo : lo + self.batch_size])
        return np.concatenate(out)

    def _embed(self, seqs: Sequence[str]) -> np.ndarray:
        self._load()
        wins, owner = [], []
        for i, s in enumerate(seqs):
            w = split_windows(s, self.window)
            wins += w
            owner += [i] * len(w)
        per_window = self._embed_windows(wins)
        owner_t = np.asarray(owner)
        return np.stack([per_window[owner_t == i].mean(0) for i in range(len(seqs))]).astype(
            np.float32
        )

    def encode(self, seqs: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(features ``[n, d]`` float32 with zero rows where absent, mask ``[n]`` bool)."""
        mask = np.array([bool(s) for s in seqs], dtype=bool)
        present = [str(s).upper() for s in seqs if s]
        if not present:
            return np.zeros((len(seqs), 0), dtype=np.float32), mask
        if self.cache is None:
            emb = self._embed(present)
        else:
            rows, missing = self.cache.get(present)
            if missing:
                new = self._embed([present[i] for i in missing])
                self.cache.put([present[i] for i in missing], new)
                for j, i in enumerate(missing):
                    rows[i] = new[j]
            emb = np.stack(rows)  # type: ignore[arg-type]
        out = np.zeros((len(seqs), emb.shape[1]), dtype=np.float32)
        out[mask] = emb
        return out, mask
