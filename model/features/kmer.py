"""k-mer composition profiles: the weight-free fallback for the DNA modality.

For a sequence s over {A, C, G, T} (case-insensitive, U read as T) the profile is the
vector of counts of the 4^k k-mers in lexicographic order (AA..A, AA..C, ...), counting
every overlapping k-mer that contains only A/C/G/T (k-mers with N or other letters are
skipped), divided by their total when ``normalize`` (all zeros if there is none).
With ``canonical`` a k-mer and its reverse complement are counted together (at the
lexicographically smaller one's position; the other position stays 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["kmer_matrix", "kmer_profile"]

_CODE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("ACGT"):
    _CODE[ord(_c)] = _i
    _CODE[ord(_c.lower())] = _i
_CODE[ord("U")] = _CODE[ord("u")] = 3


def kmer_profile(
    seq: str, k: int = 4, *, normalize: bool = True, canonical: bool = False
) -> np.ndarray:
    """Profile of one sequence, shape ``[4**k]`` (module docstring)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    counts = np.zeros(4**k, dtype=np.float64)
    codes = _CODE[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]
    if codes.size >= k:
        windows = np.lib.stride_tricks.sliding_window_view(codes, k)
        ok = (windows >= 0).all(axis=1)
        weights = 4 ** np.arange(k - 1, -1, -1)
        idx = windows[ok] @ weights
        if canonical:
            rc = (3 - windows[ok][:, ::-1]) @ weights
            idx = np.minimum(idx, rc)
        counts += np.bincount(idx, minlength=4**k)
    if normalize and counts.sum() > 0:
        counts /= counts.sum()
    return counts


def kmer_matrix(
    seqs: Sequence[str | None], k: int = 4, *, normalize: bool = True, canonical: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Profiles ``[n, 4**k]`` (float32) and presence mask ``[n]`` (False for None / empty
    sequences, whose rows are 0)."""
    out = np.zeros((len(seqs), 4**k), dtype=np.float32)
    mask = np.zeros(len(seqs), dtype=bool)
    for i, s in enumerate(seqs):
        if s:
            out[i] = kmer_profile(s, k, normalize=normalize, canonical=canonical)
            mask[i] = True
    return out, mask
