"""Gene features for GRAPE's two modalities (paper section 4.1).

* :mod:`~grapekg.model.features.text`: description embeddings from any transformers encoder
  (offline default all-MiniLM-L6-v2), optionally enriched with GO BP and Reactome names.
* :mod:`~grapekg.model.features.dna`: DNA language-model embeddings of gene sequences
  (windowed, pooled), sequences given as strings (reading FASTA files is
  :mod:`grapekg.app.sequences`).
* :mod:`~grapekg.model.features.kmer`: weight-free k-mer composition fallback.
* :mod:`~grapekg.model.features.cache`: on-disk embedding cache keyed by (model id, sha256).

A gene without a sequence has no DNA feature: encoders return a presence mask and the
model substitutes a learned "missing sequence" vector (:mod:`grapekg.model.grape.align`).
"""

from grapekg.model.features.cache import EmbeddingCache
from grapekg.model.features.kmer import kmer_matrix, kmer_profile

__all__ = ["EmbeddingCache", "kmer_matrix", "kmer_profile"]
