"""Benchmark of the DB -> GPU export and the model write-back round trip.

Starts its own throw-away Neo4j (temporary data dir, free port; as bench/kg_build.py does),
builds the full offline KG (Ensembl 100, GO, Reactome R85), materialises the priors (GO
Jaccard on biological_process, GEARS threshold 0.1 / top 20; Reactome level 5, chosen to keep
the prior build short on 2 cores: level 1 would be ~16M pairs), then:

- export of a fixed 5,000-gene typed subgraph (4,000 coding genes with GO annotations and
  1,000 non-coding genes, first by Ensembl id) with GO and Reactome edges: median of 3;
- baseline, same run: a naive export sending one query per gene (its prior edges), same output;
- round trip: write-back of 100k learned PREDICTED_REGULATES edges among the exported genes
  (with the time of each 10k batch), then a query (top regulators of a gene) and an export
  including ``learned:RUN``; then the same run written again (clear + write);
- the 1-minute load average at start and end (timings from a loaded machine are not
  comparable: compare numbers only from quiet runs).
Prints node and edge counts per type; ``--json FILE`` writes the numbers.
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
from pathlib import Path
from typing import Any

import numpy as np

from grapekg import cypher
from grapekg.cypher import CypherFile
from grapekg.kg import build as build_mod
from grapekg.kg import server
from grapekg.kg.export.paging import assign_gene_index
from grapekg.kg.export.priors import GoJaccardParams, ReactomeParams, build_prior
from grapekg.kg.export.reader import export_graph
from grapekg.kg.store import Store
from grapekg.kg.writeback import RunInfo, write_run
from grapekg.settings import Settings


def _bench_query(name: str, text: str) -> CypherFile:
    """A statement of this benchmark only (the Store runs loaded statements, not strings)."""
    return CypherFile(f"bench_{name}", text, f"benchmark statement {name}", kind="internal")


NAIVE_Q = _bench_query(
    "naive_prior_neighbours",
    "MATCH (g:Gene {ensembl_id: $id})-[r:PRIOR]->(h:Gene) WHERE r.params_hash IN $hashes "
    "RETURN h.ensembl_id AS dst, r.kind AS kind, r.weight AS w",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pick_genes(store: Store) -> list[str]:
    c = store.read(
        _bench_query(
            "coding_genes",
            "MATCH (g:Gene {biotype_class: 'c'}) WHERE EXISTS { (g)-[:ANNOTATED_WITH]->() } "
            "RETURN g.ensembl_id AS id ORDER BY id LIMIT 4000",
        )
    )
    nc = store.read(
        _bench_query(
            "noncoding_genes",
            "MATCH (g:Gene {biotype_class: 'nc'}) RETURN g.ensembl_id AS id ORDER BY id LIMIT 1000",
        )
    )
    return [r["id"] for r in c + nc]


def _naive(store: Store, ids: list[str], hashes: list[str]) -> int:
    members = set(ids)
    n = 0
    for i in ids:  # one query (and one round trip) per gene
        n += sum(1 for r in store.read(NAIVE_Q, {"id": i, "hashes": hashes}) if r["dst"] in members)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--learned", type=int, default=100_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    res: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "load_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="grape-bench-") as tmp:
        s = Settings.load(
            env={k: v for k, v in os.environ.items() if k.startswith("GRAPE_CACHE")},
            data_dir=Path(tmp),
            neo4j_port=_free_port(),
        )
        server.start(s)
        try:
            with Store.connect(s) as store:
                t = time.perf_counter()
                build_mod.build(store, s)
                res["kg_build_s"] = time.perf_counter() - t
                t = time.perf_counter()
                assign_gene_index(store)
                go = build_prior(store, GoJaccardParams(namespace="biological_process"))
                re_ = build_prior(store, ReactomeParams(level=5))
                res["priors_build_s"] = time.perf_counter() - t
                res["prior_edges"] = {"go_jaccard": go.edges, "reactome": re_.edges}
                print(
                    f"KG {res['kg_build_s']:.0f} s, priors {res['priors_build_s']:.0f} s "
                    f"({go.edges:,} GO, {re_.edges:,} Reactome edges)",
                    flush=True,
                )
                ids = _pick_genes(store)
                gene_file = Path(tmp) / "genes.txt"
                gene_file.write_text("\n".join(ids) + "\n")
                times, g = [], None
                for i in range(args.runs):
                    t = time.perf_counter()
                    g = export_graph(store, str(gene_file), "go,reactome")
                    times.append(time.perf_counter() - t)
                    print(f"export {i + 1}: {times[-1]:.2f} s", flush=True)
                assert g is not None
                res["export_s"] = times
                res["export_median_s"] = statistics.median(times)
                res["counts"] = g.counts()
                t = time.perf_counter()
                naive_edges = _naive(store, ids, [go.params_hash, re_.params_hash])
                res["naive_s"] = time.perf_counter() - t
                res["naive_directed_edges"] = naive_edges
                res["ratio_naive_vs_export"] = res["naive_s"] / res["export_median_s"]
                print(f"naive one-query-per-gene: {res['naive_s']:.2f} s", flush=True)
                # round trip: learned edges among the exported genes -> write-back -> query
                rng = np.random.default_rng(0)
                all_ids = np.array(g.node_ids["c"] + g.node_ids["nc"])
                src = rng.integers(0, len(all_ids), args.learned * 2)
                dst = rng.integers(0, len(all_ids), args.learned * 2)
                # the first distinct pairs in draw order: uniform over c and nc genes alike
                # (the first pairs in sorted order would all start at a coding gene)
                drawn = zip(src.tolist(), dst.tolist(), strict=True)
                pairs_l = list(dict.fromkeys((a, b) for a, b in drawn if a != b))[: args.learned]
                edges = [
                    {
                        "src": all_ids[a],
                        "dst": all_ids[b],
                        "type": "predicted_regulates",
                        "score": float(rng.random()),
                        "attention": float(rng.random()),
                    }
                    for a, b in pairs_l
                ]
                batch_s: list[float] = []
                mark = [time.perf_counter()]

                def on_batch(_rtype: str, _n: int) -> None:
                    now = time.perf_counter()
                    batch_s.append(now - mark[0])
                    mark[0] = now

                t = time.perf_counter()
                info = RunInfo("bench-run", "grape", snapshot_id=g.snapshot_id)
                rep = write_run(store, info, edges, on_batch=on_batch)
                res["writeback_s"] = time.perf_counter() - t
                # per 10k batch; the first one includes staging the run and clearing it
                res["writeback_batches_s"] = [round(b, 3) for b in batch_s]
                res["writeback_edges"] = rep.written
                target = store.read(
                    _bench_query("symbol", "MATCH (g:Gene {ensembl_id: $id}) RETURN g.symbol AS s"),
                    {"id": all_ids[0]},
                )[0]["s"]
                t = time.perf_counter()
                rows = store.read(
                    cypher.load("learned_top_regulators"),
                    {"run": "bench-run", "symbol": target, "limit": 10},
                )
                res["query_top_regulators_s"] = time.perf_counter() - t
                res["query_rows"] = len(rows)
                t = time.perf_counter()
                g2 = export_graph(store, str(gene_file), "go,reactome,learned:bench-run")
                res["export_with_learned_s"] = time.perf_counter() - t
                res["counts_with_learned"] = g2.counts()
                res["roundtrip_s"] = times[-1] + res["writeback_s"] + res["query_top_regulators_s"]
                # the same run written again: clears its 100k edges first, then writes
                t = time.perf_counter()
                rep2 = write_run(store, info, edges)
                res["rewrite_same_run_s"] = time.perf_counter() - t
                assert rep2.written == rep.written and rep2.cleared == sum(rep.written.values())
        finally:
            server.stop(s)
    res["load_end"] = os.getloadavg()[0]
    c = res["counts"]
    print()
    print(f"{'metric':<52}{'value':>14}")

    def row(label: str, value: str) -> None:
        print(f"{label:<52}{value:>14}")

    for t, n in c["nodes"].items():
        row(f"nodes {t}", f"{n:,}")
    for r, n in c["edges"].items():
        row(f"edges {r}", f"{n:,}")
    row(f"export 5k genes, GO+Reactome, median of {args.runs} (s)", f"{res['export_median_s']:.2f}")
    row("baseline: one query per gene (s)", f"{res['naive_s']:.2f}")
    row("ratio baseline / export", f"{res['ratio_naive_vs_export']:.1f}x")
    row(f"write-back of {args.learned:,} learned edges (s)", f"{res['writeback_s']:.2f}")
    row("  the same run again: clear + write (s)", f"{res['rewrite_same_run_s']:.2f}")
    row("query: top regulators of a gene (s)", f"{res['query_top_regulators_s']:.3f}")
    row("export incl. learned:RUN (s)", f"{res['export_with_learned_s']:.2f}")
    row("round trip: export + write-back + query (s)", f"{res['roundtrip_s']:.2f}")
    row("load average (1 min) at start / end", f"{res['load_start']:.2f} / {res['load_end']:.2f}")
    row("target: export under 5 s", "met" if res["export_median_s"] < 5 else "NOT met")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))


if __name__ == "__main__":
    main()
