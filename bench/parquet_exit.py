"""How often a short process that reads a Parquet file dies at exit, per reader.

Each trial is a fresh ``python -c`` that reads a small Parquet file and exits with code 1 (as
``grape writeback`` does on a bad edge file). ``--parallel`` processes run at a time, so the
machine is loaded the way the test suite loads it. Readers:

- ``pandas``: ``pd.read_parquet`` (Arrow's CPU and IO thread pools);
- ``grapekg``: :func:`grapekg.parquet.read_parquet` (no Arrow threads);
- ``write``: ``DataFrame.to_parquet`` only, for comparison.

A trial counts as aborted when the exit code is not 1 (SIGABRT shows as -6:
``terminate called without an active exception``, apache/arrow#34314). Prints, per reader,
trials, aborted, and the rate; ``--json FILE`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

READERS = {
    "pandas": "import pandas as pd; pd.read_parquet({path!r})",
    "grapekg": "from grapekg.parquet import read_parquet; read_parquet({path!r})",
    "write": (
        "import os, pandas as pd; pd.DataFrame({{'a': range(5000)}})"
        ".to_parquet(os.path.join({tmp!r}, f'w{{os.getpid()}}.parquet'))"
    ),
}


def trial(code: str) -> int:
    """Exit code of one fresh interpreter running ``code`` then ``sys.exit(1)``."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys; {code}; sys.exit(1)"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ).returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=600, help="processes per reader")
    ap.add_argument("--parallel", type=int, default=6, help="processes at a time")
    ap.add_argument("--readers", default="pandas,grapekg,write")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "edges.parquet")
        pd.DataFrame(
            {
                "src": ["ENSG00000141510"] * 2,
                "dst": ["ENSG00000229807", "ENSG00000135679"],
                "type": ["similar_to", "likes"],
                "score": [0.1, 0.2],
            }
        ).to_parquet(path)
        for name in a.readers.split(","):
            code = READERS[name].format(path=path, tmp=tmp)
            t0 = time.perf_counter()
            with ThreadPoolExecutor(a.parallel) as pool:
                codes = Counter(pool.map(trial, [code] * a.trials))
            aborted = a.trials - codes.get(1, 0)
            rows.append(
                {
                    "reader": name,
                    "trials": a.trials,
                    "aborted": aborted,
                    "rate": aborted / a.trials,
                    "exit_codes": dict(codes),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            print(
                f"{name:8s} {a.trials:5d} trials  {aborted:4d} aborted  "
                f"({100 * aborted / a.trials:.1f} %)  exit codes {dict(codes)}",
                flush=True,
            )
    if a.json:
        a.json.write_text(
            json.dumps(
                {
                    "machine": platform.node(),
                    "parallel": a.parallel,
                    "python": sys.version.split()[0],
                    "rows": rows,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
