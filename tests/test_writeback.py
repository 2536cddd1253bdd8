"""Model-run write-back on the real Neo4j: idempotent, all-or-nothing (a SIGKILLed writer
leaves nothing visible, a retry completes), from files, runs list/show/delete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from grapekg import cypher
from grapekg.errors import ConfigError, DatabaseError, InputError
from grapekg.kg.build import build
from grapekg.kg.export.reader import export_graph
from grapekg.kg.writeback import (
    RunInfo,
    delete_run,
    edge_counts,
    get_run,
    list_runs,
    read_edges_file,
    show_run,
    write_run,
    write_run_file,
)
from tests.conftest import cy
from tests.test_learned_queries import RUN1_EDGES, SAMPLE, TP53, XIST, learned_files
from tests.test_loader import mini_paths

GENES = [
    "ENSG00000141510",
    "ENSG00000012048",
    "ENSG00000139618",
    "ENSG00000135679",
    "ENSG00000124762",
    "ENSG00000229807",
    "ENSG00000245532",
    "ENSG00000284332",
]


def all_pairs(kind: str) -> list[dict]:
    return [
        {"src": a, "dst": b, "type": kind, "score": 0.5, "attention": 0.1}
        for a in GENES
        for b in GENES
        if a != b
    ]


@pytest.fixture
def mini(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    return store


def test_write_is_idempotent_and_complete(mini):
    info = RunInfo(
        "r1",
        "grape",
        config_hash="abc",
        dataset="norman",
        split="simulation",
        seed=1,
        snapshot_id="s" * 64,
        metrics={"pearson_delta": 0.61},
    )
    rep = write_run(mini, info, RUN1_EDGES)
    assert rep.written == {"PREDICTED_REGULATES": 3, "SIMILAR_TO": 2, "KHOP_LINK": 1}
    assert rep.missing_genes == 0
    # the same edges again, and duplicates inside one write, give the same graph
    write_run(mini, info, RUN1_EDGES + RUN1_EDGES)
    assert edge_counts(mini, "r1") == rep.written
    run = show_run(mini, "r1")
    assert run["status"] == "complete" and run["metrics"] == {"pearson_delta": 0.61}
    assert run["edges"] == rep.written and run["dataset"] == "norman" and run["seed"] == 1
    # similarity is undirected: stored once, from the smaller Ensembl id
    rows = mini.read(
        cy("MATCH (a)-[r:SIMILAR_TO {run: 'r1'}]->(b) RETURN a.ensembl_id < b.ensembl_id AS ok")
    )
    assert rows and all(r["ok"] for r in rows)
    assert [r["id"] for r in list_runs(mini)] == ["r1"]


def test_missing_genes_and_bad_input(mini):
    rep = write_run(
        mini,
        RunInfo("r2", "grape"),
        [{"src": "ENSG_NOPE", "dst": TP53, "type": "similar_to", "score": 1.0}],
    )
    assert rep.missing_genes == 1 and rep.written == {}
    with pytest.raises(InputError):
        write_run(
            mini, RunInfo("r3", "grape"), [{"src": TP53, "dst": XIST, "type": "likes", "score": 1}]
        )
    with pytest.raises(InputError):
        write_run(mini, RunInfo("r3", "grape"), [{"src": TP53, "dst": XIST}])
    with pytest.raises(ConfigError):
        RunInfo("", "grape")


def test_delete_run(mini):
    write_run(mini, RunInfo("r1", "grape"), RUN1_EDGES)
    write_run(mini, RunInfo("r2", "grape"), RUN1_EDGES)
    assert delete_run(mini, "r1") == len(RUN1_EDGES)
    assert get_run(mini, "r1") is None and edge_counts(mini, "r1") == {}
    assert edge_counts(mini, "r2") == {"PREDICTED_REGULATES": 3, "SIMILAR_TO": 2, "KHOP_LINK": 1}
    with pytest.raises(ConfigError):
        delete_run(mini, "r1")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_writeback_from_files(mini, tmp_path, suffix):
    edges = tmp_path / f"edges{suffix}"
    df = pd.DataFrame(RUN1_EDGES)
    df.to_parquet(edges) if suffix == ".parquet" else df.to_csv(edges, index=False)
    run_file = tmp_path / "run.json"
    run_file.write_text(
        json.dumps(
            {"id": "rf", "model": "grape", "seed": 3, "metrics": {"mse": 0.1}, "edges": edges.name}
        )
    )
    rep = write_run_file(mini, run_file)
    assert sum(rep.written.values()) == len(RUN1_EDGES)
    assert show_run(mini, "rf")["metrics"] == {"mse": 0.1}


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from grapekg.kg.store import Store
    from grapekg.kg.writeback import RunInfo, write_run
    from grapekg.settings import Settings
    genes = sys.argv[3].split(",")
    edges = [{"src": a, "dst": b, "type": t, "score": 0.5, "attention": 0.1}
             for t in ("predicted_regulates", "similar_to") for a in genes for b in genes if a != b]
    s = Settings.load(env={}, data_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
    store = Store.connect(s)
    def slow(rtype, n):
        print("batch", rtype, n, flush=True)
        time.sleep(0.3)
    write_run(store, RunInfo("killed", "grape"), edges, batch=4, on_batch=slow)
    print("done", flush=True)
""")


def test_killed_writer_leaves_nothing_visible_and_retry_completes(mini, neo4j_settings, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(script),
            str(neo4j_settings.data_dir),
            str(neo4j_settings.cache_dir),
            ",".join(GENES),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("batch"):
            seen += 1
        if seen == 3:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # half written: edges exist, the run is 'writing', and no query sees any of it
    assert get_run(mini, "killed")["status"] == "writing"
    assert sum(edge_counts(mini, "killed").values()) > 0
    params = {**SAMPLE, "run": "killed", "run_a": "killed", "run_b": "killed"}
    for name in learned_files():
        qf = cypher.load(name)
        assert mini.read(qf, {p: params[p] for p in qf.params}) == [], name
    with pytest.raises(ConfigError):
        export_graph(mini, "all", "learned:killed")
    # the retry cleans the half-written run first and completes it
    edges = all_pairs("predicted_regulates") + all_pairs("similar_to")
    rep = write_run(mini, RunInfo("killed", "grape"), edges, batch=4)
    assert rep.cleared > 0
    assert get_run(mini, "killed")["status"] == "complete"
    assert edge_counts(mini, "killed") == {"PREDICTED_REGULATES": 56, "SIMILAR_TO": 28}
    assert (
        mini.read(
            cypher.load("learned_top_regulators"), {"run": "killed", "symbol": "TP53", "limit": 50}
        ).__len__()
        == 7
    )


def test_duplicates_collapse_last_wins(mini):
    edges = [
        {"src": TP53, "dst": XIST, "type": "predicted_regulates", "score": 0.1},
        {"src": TP53, "dst": XIST, "type": "PREDICTED_REGULATES", "score": 0.9, "attention": 0.3},
        {"src": XIST, "dst": TP53, "type": "similar_to", "score": 0.3, "modality": "text"},
        {"src": TP53, "dst": XIST, "type": "similar_to", "score": 0.4, "modality": "text"},
        {"src": TP53, "dst": XIST, "type": "similar_to", "score": 0.5, "modality": "seq"},
        {"src": XIST, "dst": TP53, "type": "khop_link", "score": 0.2, "k": 2},
        {"src": TP53, "dst": XIST, "type": "khop_link", "score": 0.6, "k": 3},
    ]
    rep = write_run(mini, RunInfo("d", "grape"), edges)
    assert rep.written == {"PREDICTED_REGULATES": 1, "SIMILAR_TO": 2, "KHOP_LINK": 1}
    assert rep.missing_genes == 0
    rows = mini.read(
        cy(
            "MATCH (a:Gene)-[r {run: 'd'}]->(b:Gene) RETURN type(r) AS t, "
            "a.ensembl_id AS a, b.ensembl_id AS b, r.score AS s, r.modality AS m, "
            "r.k AS k, r.relation AS rel, r.attention AS att ORDER BY t, m"
        )
    )
    none = {"m": None, "k": None, "rel": None, "att": None}
    assert rows == [
        {**none, "t": "KHOP_LINK", "a": TP53, "b": XIST, "s": 0.6, "k": 3},
        {
            **none,
            "t": "PREDICTED_REGULATES",
            "a": TP53,
            "b": XIST,
            "s": 0.9,
            "rel": "cn",
            "att": 0.3,
        },
        {**none, "t": "SIMILAR_TO", "a": TP53, "b": XIST, "s": 0.5, "m": "seq"},
        {**none, "t": "SIMILAR_TO", "a": TP53, "b": XIST, "s": 0.4, "m": "text"},
    ]
    # writing the run again gives the same graph
    write_run(mini, RunInfo("d", "grape"), edges)
    assert edge_counts(mini, "d") == rep.written


def _plan_operators(store, query, params):
    with store.session() as s:
        plan = s.run("EXPLAIN " + query, params).consume().plan
    ops, todo = [], [plan]
    while todo:
        p = todo.pop()
        ops.append(p["operatorType"].split("@")[0])
        todo.extend(p.get("children", []))
    return ops


@pytest.mark.parametrize("rtype", ["predicted_regulates", "similar_to", "khop_link"])
def test_write_queries_are_linear(mini, rtype):
    """The write of a batch finds genes by the unique index and never scans the run's edges
    (a MERGE on {run: $run} was planned as a relationship-index seek per row: quadratic)."""
    from grapekg.kg.export.paging import ensure_indexes

    ensure_indexes(mini)
    q = cypher.internal(f"run_write_{rtype}").text
    ops = _plan_operators(mini, q, {"run": "r", "attempt": "a", "rows": [], "relation_of": {}})
    assert "Create" in ops and "NodeUniqueIndexSeek(Locking)" in ops, ops
    assert not any("Relationship" in o or "Merge" in o or "Expand" in o for o in ops), ops


def test_superseded_writer_stops_and_the_new_one_wins(mini):
    """A second write of the same run id while the first is under way: the first stops with an
    error at its next batch, the second completes with exactly its own edges."""
    edges = all_pairs("predicted_regulates")
    newer = [dict(e, score=0.9) for e in edges[:10]]
    calls = []

    def second_writer(rtype, n):
        if not calls:
            calls.append(write_run(mini, RunInfo("race", "grape", seed=2), newer))

    with pytest.raises(DatabaseError, match="another writer"):
        write_run(mini, RunInfo("race", "grape", seed=1), edges, batch=8, on_batch=second_writer)
    run = show_run(mini, "race")
    assert run["status"] == "complete" and run["seed"] == 2
    assert edge_counts(mini, "race") == {"PREDICTED_REGULATES": 10}
    scores = mini.read(
        cy(
            "MATCH ()-[r:PREDICTED_REGULATES {run: 'race'}]->() "
            "RETURN collect(DISTINCT r.score) AS s"
        )
    )
    assert scores[0]["s"] == [0.9]


def test_foreign_edges_keep_the_run_invisible(mini):
    def intruder(rtype, n):
        mini.write(
            cy(
                "MATCH (a:Gene {ensembl_id: $a}), (b:Gene {ensembl_id: $b}) "
                "CREATE (a)-[:KHOP_LINK {run: 'x', score: 1.0}]->(b)"
            ),
            {"a": TP53, "b": XIST},
        )

    with pytest.raises(DatabaseError, match="another writer"):
        write_run(mini, RunInfo("x", "grape"), RUN1_EDGES, on_batch=intruder)
    assert get_run(mini, "x")["status"] == "failed"  # recorded as failed, still invisible
    assert list_runs(mini, "complete") == []
    assert [r["id"] for r in list_runs(mini, "failed")] == ["x"]
    # a retry clears everything of the run, the foreign edges included
    rep = write_run(mini, RunInfo("x", "grape"), RUN1_EDGES)
    assert rep.cleared > 0 and sum(rep.written.values()) == len(RUN1_EDGES)


@pytest.mark.parametrize(
    "content, where, what",
    [
        ("src,dst,type,score\nA,B,similar_to,0.5\nA,B,likes,0.5\n", ":3:", "type"),
        ("src,dst,type,score\nA,B,similar_to,0.5\nA,B,similar_to,high\n", ":3:", "score"),
        ("src,dst,type,score\nA,,similar_to,0.5\n", ":2:", "dst"),
        ("src,dst,kind,score\nA,B,similar_to,0.5\n", ":1:", "type"),
        ("src,dst,type,score\nA,B,similar_to,0.5,extra\n", ":2:", "expected 4 fields"),
        ("src,dst\n", ":1:", "missing column(s) type, score"),
        ("src,dst,type,score,relation\nA,B,predicted_regulates,0.5,cx\n", ":2:", "relation"),
    ],
)
def test_bad_edge_files_name_file_line_and_column(tmp_path, content, where, what):
    f = tmp_path / "edges.csv"
    f.write_text(content)
    with pytest.raises(InputError) as exc:
        read_edges_file(f)
    msg = str(exc.value)
    assert msg.startswith(f"{f}{where}") and what in msg and "\n" not in msg, msg


def test_bad_parquet_rows_are_named(tmp_path):
    f = tmp_path / "edges.parquet"
    pd.DataFrame(
        {"src": ["A", "B"], "dst": ["B", "C"], "type": ["similar_to", "nope"], "score": [0.1, 0.2]}
    ).to_parquet(f)
    with pytest.raises(InputError, match=r"edges\.parquet: row 2, column 'type'"):
        read_edges_file(f)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="junk.parquet: cannot read edges"):
        read_edges_file(tmp_path / "junk.parquet")


def test_blank_lines_and_tsv_keep_line_numbers(tmp_path):
    f = tmp_path / "edges.tsv"
    f.write_text("src\tdst\ttype\tscore\n\nA\tB\tsimilar_to\t0.5\n\n\nA\tC\tsimilar_to\t-\n")
    with pytest.raises(InputError, match=r"edges\.tsv:6: column 'score': not a number"):
        read_edges_file(f)
    f.write_text("src\tdst\ttype\tscore\nB\tA\tsimilar_to\t0.5\nA\tB\tSIMILAR_TO\t0.7\n")
    df = read_edges_file(f)
    assert df[["src", "dst", "type", "score"]].to_dict("records") == [
        {"src": "A", "dst": "B", "type": "SIMILAR_TO", "score": 0.7}
    ]


def _bench_module():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "writeback_rate.py"
    spec = importlib.util.spec_from_file_location("writeback_rate_bench", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _bench_args(**kw):
    import argparse

    return argparse.Namespace(**({"edges": [30], "batches": [7, 30], "repeats": 2, "seed": 0} | kw))


def test_writeback_bench_times_real_runs_and_deletes_them(mini):
    bench = _bench_module()
    genes = [f"G{i}" for i in range(6)]
    e = bench.synthetic_edges(genes, 30, seed=1)  # every distinct directed pair of 6 genes
    assert len(e) == 30 and not e.duplicated(["src", "dst"]).any() and (e.src != e.dst).all()
    with pytest.raises(ValueError, match="do not fit"):
        bench.synthetic_edges(genes, 31, seed=1)
    result = bench.measure(mini, _bench_args())
    assert result["genes_in_graph"] == 8
    rows = result["rows"]
    assert [(r["edges"], r["batch"], r["transactions"]) for r in rows] == [(30, 7, 5), (30, 30, 1)]
    for r in rows:
        assert len(r["seconds"]) == 2 and r["edges_per_s_min"] <= r["edges_per_s_median"]
        assert r["edges_per_s_median"] > 0
    assert not [r for r in list_runs(mini) if r["id"].startswith(bench.PREFIX)]
    left = mini.read(cy("MATCH ()-[e:PREDICTED_REGULATES]->() RETURN count(e) AS n"))
    assert left == [{"n": 0}]


def test_writeback_bench_deletes_its_run_when_a_write_fails(mini, monkeypatch):
    bench = _bench_module()
    real = bench.writeback.write_run

    def failing(store, info, edges, **kw):
        def stop(_rtype, _n):
            raise RuntimeError("disk full (simulated)")

        return real(store, info, edges, **kw, on_batch=stop)

    monkeypatch.setattr(bench.writeback, "write_run", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        bench.measure(mini, _bench_args(batches=[7], repeats=1))
    assert not [r for r in list_runs(mini) if r["id"].startswith(bench.PREFIX)]
    left = mini.read(cy("MATCH ()-[e:PREDICTED_REGULATES]->() RETURN count(e) AS n"))
    assert left == [{"n": 0}]
