"""Reading Parquet files without Arrow's thread pools.

``pandas.read_parquet`` and ``pyarrow.parquet.read_table`` decode on Arrow's CPU pool and
pre-buffer on its IO pool. A pool thread can still be finishing a read's clean-up when a short
process (a ``grape`` command) exits; the interpreter then tears Arrow down under it and the
process dies with ``terminate called without an active exception`` (SIGABRT, apache/arrow#34314).
Reading on the calling thread leaves no pool thread behind (``bench/parquet_exit.py`` counts
both ways; the figures are in docs/benchmarks.md). Every Parquet read in grape-kg goes through
here; the files it reads (edge lists, predictions, gene tables) are small enough that one
thread decodes them in well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def read_parquet(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The whole file (or ``columns`` of it) as a DataFrame, decoded on the calling thread."""
    import pyarrow.parquet as pq  # lazily: most commands never read Parquet

    table = pq.read_table(
        path,
        columns=list(columns) if columns is not None else None,
        use_threads=False,
        pre_buffer=False,
    )
    return table.to_pandas(use_threads=False)
