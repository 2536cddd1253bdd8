"""Benchmark of `grape kg build` on the offline defaults (Ensembl 100, GO 2019-01, Reactome R85).

Starts its own throw-away Neo4j (temporary data dir, free port) so it never touches yours, then:
- full build on an empty database, 3 runs: median wall time and rows/s;
- idempotent re-run on the full graph, 3 runs: median wall time;
- baseline, same run: the same loader query sent one row per transaction, on a fixed sample of
  every record kind (first 2,000 of each node label and relationship type, in stream order),
  giving rows/s; the ratio is batched rows/s / one-row-per-transaction rows/s.
Prints a table; `--json FILE` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from grapekg.kg import build as build_mod
from grapekg.kg import server
from grapekg.kg.loader import Loader, kg_counts
from grapekg.kg.records import Edge, Node
from grapekg.kg.schema import load_default
from grapekg.kg.store import Store
from grapekg.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sample(settings: Settings, store: Store, per_kind: int) -> list[tuple[str, object]]:
    """(source, record) pairs: the first `per_kind` records of each label / type."""
    from grapekg.kg.loader import gene_index_from_store

    out = []
    for name in build_mod.BUILTIN_ORDER:
        a = build_mod.default_adapter(settings, name)
        genes = gene_index_from_store(store) if a.needs_genes else None
        seen: dict[str, int] = defaultdict(int)
        for rec in a.records(genes):
            kind = rec.label if isinstance(rec, Node) else rec.type
            if seen[kind] < per_kind:
                seen[kind] += 1
                out.append((a, rec))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    schema = load_default()
    with tempfile.TemporaryDirectory(prefix="grape-bench-") as tmp:
        s = Settings.load(
            env={k: v for k, v in os.environ.items() if k.startswith("GRAPE_CACHE")},
            data_dir=Path(tmp),
            neo4j_port=_free_port(),
        )
        server.start(s)
        try:
            with Store.connect(s) as store:
                full, rerun, rows = [], [], 0
                for i in range(args.runs):
                    store.wipe()
                    t = time.perf_counter()
                    reps = build_mod.build(store, s, batch_size=args.batch_size)
                    full.append(time.perf_counter() - t)
                    rows = sum(r.rows for r in reps)
                    print(f"full build {i + 1}: {full[-1]:.1f} s, {rows:,} rows", flush=True)
                counts = kg_counts(store, schema)
                for i in range(args.runs):
                    t = time.perf_counter()
                    build_mod.build(store, s, batch_size=args.batch_size)
                    rerun.append(time.perf_counter() - t)
                    print(f"idempotent re-run {i + 1}: {rerun[-1]:.1f} s", flush=True)
                assert kg_counts(store, schema) == counts | {
                    "sources": kg_counts(store, schema)["sources"]
                }
                # baseline: one row per transaction, on a sample; genes must exist for the
                # annotation adapters, so the sample is taken from the full graph and
                # re-loaded into an emptied database (nodes first, as the loader does)
                sample = _sample(s, store, args.sample)
                store.wipe()
                nodes = [(a, r) for a, r in sample if isinstance(r, Node)]
                edges = [(a, r) for a, r in sample if isinstance(r, Edge)]
                t = time.perf_counter()
                for a, rec in nodes + edges:
                    Loader(store, schema, batch_size=1).load(a.source(), iter([rec]))
                per_row_s = time.perf_counter() - t
                # Loader.load also writes the Source node each call: time that alone and subtract
                t = time.perf_counter()
                for a, _ in nodes + edges:
                    Loader(store, schema)._mark_source(a.source(), "loading")
                source_s = time.perf_counter() - t
                per_row_rate = len(sample) / max(per_row_s - source_s, 1e-9)
        finally:
            server.stop(s)
    med_full = statistics.median(full)
    batched_rate = rows / med_full
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "rows": rows,
        "full_build_s": full,
        "full_build_median_s": med_full,
        "rerun_s": rerun,
        "rerun_median_s": statistics.median(rerun),
        "batched_rows_per_s": batched_rate,
        "per_row_tx_rows_per_s": per_row_rate,
        "per_row_sample_rows": len(sample),
        "ratio_batched_vs_per_row": batched_rate / per_row_rate,
        "per_row_extrapolated_full_s": rows / per_row_rate,
        "labels": counts["labels"],
        "relationships": counts["relationships"],
        "biotype_class": counts["biotype_class"],
        "target_s": 60,
    }
    print()
    print(f"{'metric':<44}{'value':>16}")
    print(f"{'rows loaded (nodes + relationships)':<44}{rows:>16,}")
    print(f"{'full build, median of ' + str(args.runs) + ' (s)':<44}{med_full:>16.1f}")
    print(f"{'  batched rows/s':<44}{batched_rate:>16,.0f}")
    print(f"{'idempotent re-run, median (s)':<44}{result['rerun_median_s']:>16.1f}")
    print(f"{f'baseline: 1 row/transaction rows/s ({len(sample)} rows)':<44}{per_row_rate:>16,.0f}")
    print(
        f"{'  extrapolated full build at that rate (s)':<44}"
        f"{result['per_row_extrapolated_full_s']:>16,.0f}"
    )
    print(f"{'ratio batched / per-row':<44}{result['ratio_batched_vs_per_row']:>16.1f}x")
    print(f"{'target: full build under 60 s':<44}{'met' if med_full < 60 else 'NOT met':>16}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
