"""Write-back rate: SYNTHETIC learned edges of a throw-away model run, written through the real
write-back path (:func:`grapekg.kg.writeback.write_run`) at several batch sizes.

Against the server the settings name (``NEO4J_URI``, else the local server of
``GRAPE_DATA_DIR``), for each number of edges of ``--edges`` and each batch size of
``--batches`` it writes ``--repeats`` fresh runs of random ``PREDICTED_REGULATES`` edges
between distinct genes of the graph (seeded, no duplicate pair; the relation is derived by the
schema as in a real run) and times the whole call: staging the run node, clearing, the batched
transactions, the edge count check and the final ``complete``. It reports the median (and
range) of edges/s, and the time to delete the run again (:func:`~grapekg.kg.writeback.delete_run`).

Every run id starts with ``bench-writeback-`` and is deleted right after its timing, and again
on the way out (an error, Ctrl-C or SIGTERM included); the bench fails if one is left behind.
Writes ``<out>.txt`` and ``<out>.json`` (default bench/results/writeback_rate).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import time
import uuid
from contextlib import suppress
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.errors import ConfigError
from grapekg.kg import features as kgf
from grapekg.kg import writeback
from grapekg.kg.store import Store
from grapekg.settings import Settings

PREFIX = "bench-writeback-"


def synthetic_edges(genes: list[str], n: int, seed: int) -> pd.DataFrame:
    """``n`` SYNTHETIC directed edges between distinct genes, no pair twice, random scores."""
    g = len(genes)
    if g < 2 or n > g * (g - 1):
        raise ValueError(f"{n} distinct directed pairs do not fit {g} genes")
    rng = np.random.default_rng(seed)
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n:
        draw = rng.integers(0, g * g, size=int(1.2 * (n - len(codes))) + 16, dtype=np.int64)
        draw = draw[draw // g != draw % g]
        codes = np.unique(np.concatenate([codes, draw]))
    codes = rng.permutation(codes)[:n]
    src, dst = codes // g, codes % g
    arr = np.asarray(genes, dtype=object)
    return pd.DataFrame(
        {
            "src": arr[src],
            "dst": arr[dst],
            "type": "predicted_regulates",
            "score": rng.random(n),
            "attention": rng.random(n),
        }
    )


def _delete(store: Store, run: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = writeback.delete_run(store, run)
    return n, time.perf_counter() - t0


def measure(store: Store, args: argparse.Namespace) -> dict[str, object]:
    genes = kgf.gene_ids_for(store, "all")
    token = uuid.uuid4().hex[:8]
    made: set[str] = set()
    rows: list[dict[str, object]] = []
    try:
        for n in args.edges:
            edges = synthetic_edges(genes, n, seed=args.seed + n)
            for batch in args.batches:
                rates, secs, del_secs = [], [], []
                for rep in range(args.repeats):
                    run = f"{PREFIX}{token}-{n}-{batch}-{rep}"
                    made.add(run)
                    info = writeback.RunInfo(run, "bench", dataset="synthetic")
                    t0 = time.perf_counter()
                    report = writeback.write_run(store, info, edges, batch=batch)
                    dt = time.perf_counter() - t0
                    got = sum(report.written.values())
                    if got != n:
                        raise RuntimeError(f"run {run}: wrote {got} edges, expected {n}")
                    deleted, ddt = _delete(store, run)
                    made.discard(run)
                    if deleted != n:
                        raise RuntimeError(f"run {run}: deleted {deleted} edges, expected {n}")
                    secs.append(dt)
                    rates.append(n / dt)
                    del_secs.append(ddt)
                    print(
                        f"  {n:>8,} edges  batch {batch:>6,}  repeat {rep + 1}: {dt:7.2f} s "
                        f"({n / dt:9,.0f} edges/s); delete {ddt:.2f} s",
                        flush=True,
                    )
                rows.append(
                    {
                        "edges": n,
                        "batch": batch,
                        "transactions": -(-n // batch),
                        "seconds": [round(s, 3) for s in secs],
                        "median_s": round(statistics.median(secs), 3),
                        "edges_per_s_median": round(statistics.median(rates)),
                        "edges_per_s_min": round(min(rates)),
                        "edges_per_s_max": round(max(rates)),
                        "delete_s_median": round(statistics.median(del_secs), 3),
                    }
                )
    finally:
        for run in sorted(made):  # a failed or interrupted timing: its run goes too
            with suppress(ConfigError):  # never staged
                _delete(store, run)
        left = [
            r["id"] for r in writeback.list_runs(store) if str(r["id"]).startswith(PREFIX + token)
        ]
        if left:
            raise RuntimeError(f"bench runs left behind: {', '.join(sorted(left))}")
    return {"genes_in_graph": len(genes), "rows": rows}


def render(result: dict[str, object]) -> str:
    lines = [
        "Write-back rate of SYNTHETIC learned edges (PREDICTED_REGULATES) through write_run",
        f"server: {result['server']} via {result['scheme']}://; genes in graph: "
        f"{result['genes_in_graph']:,}; repeats: {result['repeats']} (median; range)",
        f"machine: {result['machine']}; {result['note']}",
        "",
        f"{'edges':>9} {'batch':>7} {'tx':>5} {'median s':>9} {'edges/s':>9} "
        f"{'range edges/s':>17} {'delete s':>9}",
    ]
    for r in result["rows"]:  # type: ignore[attr-defined]
        rng = f"{r['edges_per_s_min']:,}-{r['edges_per_s_max']:,}"
        lines.append(
            f"{r['edges']:>9,} {r['batch']:>7,} {r['transactions']:>5} {r['median_s']:>9.2f} "
            f"{r['edges_per_s_median']:>9,} {rng:>17} {r['delete_s_median']:>9.2f}"
        )
    lines += ["", f"command: {result['command']}"]
    return "\n".join(lines) + "\n"


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edges", type=_ints, default=[20_000, 100_000])
    ap.add_argument("--batches", type=_ints, default=[1_000, writeback.BATCH, 50_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/results/writeback_rate")
    ap.add_argument("--note", default="", help="a line on the machine's load, kept in the result")
    args = ap.parse_args()

    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")  # runs the clean-up of measure()

    signal.signal(signal.SIGTERM, _stop)
    settings = Settings.load()
    with Store.connect(settings) as store:
        result = measure(store, args)
        result |= {
            "server": store.server_version(),
            "scheme": store.uri.split("://", 1)[0],
            "repeats": args.repeats,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f} at the end",
            "note": args.note or "shared machine",
            "command": (
                f"NEO4J_URI={settings.neo4j_uri} "
                if settings.neo4j_uri
                else f"GRAPE_DATA_DIR={settings.data_dir} "
            )
            + ".venv/bin/python bench/writeback_rate.py "
            f"--edges {','.join(map(str, args.edges))} "
            f"--batches {','.join(map(str, args.batches))} --repeats {args.repeats}",
        }
    text = render(result)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").write_text(text)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
