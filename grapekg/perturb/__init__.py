"""Perturbation data layer: condition strings, streaming condition summaries,
differential-expression genes, synthetic Perturb-seq-like data, splits and downloads.

Everything here is pure Python (numpy / scipy / anndata); no database is needed.
"""

from grapekg.perturb.errors import DataError, DownloadError

__all__ = ["DataError", "DownloadError"]
