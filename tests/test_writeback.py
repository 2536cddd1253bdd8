"""Model-run write-back on the real Neo4j: idempotent, all-or-nothing (a SIGKILLed writer
leaves nothing visible, a retry completes), from files, runs list/show/delete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from grapekg import cypher
from grapekg.errors import ConfigError, InputError
from grapekg.kg.build import build
from grapekg.kg.export.reader import export_graph
from grapekg.kg.writeback import (
    RunInfo, delete_run, edge_counts, get_run, list_runs, show_run, write_run, write_run_file,
)
from tests.test_learned_queries import RUN1_EDGES, SAMPLE, TP53, XIST, learned_files
from tests.test_loader import mini_paths

GENES = ["ENSG00000141510", "ENSG00000012048", "ENSG00000139618", "ENSG00000135679",
         "ENSG00000124762", "ENSG00000229807", "ENSG00000245532", "ENSG00000284332"]


def all_pairs(kind: str) -> list[dict]:
    return [{"src": a, "dst": b, "type": kind, "score": 0.5, "attention": 0.1}
            for a in GENES for b in GENES if a != b]


@pytest.fixture
def mini(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    return store


def test_write_is_idempotent_and_complete(mini):
    info = RunInfo("r1", "grape", config_hash="abc", dataset="norman", split="simulation", seed=1,
                   snapshot_id="s" * 64, metrics={"pearson_delta": 0.61})
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
    rows = mini.read("MATCH (a)-[r:SIMILAR_TO {run: 'r1'}]->(b) RETURN a.ensembl_id < b.ensembl_id AS ok")
    assert rows and all(r["ok"] for r in rows)
    assert [r["id"] for r in list_runs(mini)] == ["r1"]


def test_missing_genes_and_bad_input(mini):
    rep = write_run(mini, RunInfo("r2", "grape"),
                    [{"src": "ENSG_NOPE", "dst": TP53, "type": "similar_to", "score": 1.0}])
    assert rep.missing_genes == 1 and rep.written == {}
    with pytest.raises(InputError):
        write_run(mini, RunInfo("r3", "grape"), [{"src": TP53, "dst": XIST, "type": "likes", "score": 1}])
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
    run_file.write_text(json.dumps({"id": "rf", "model": "grape", "seed": 3,
                                    "metrics": {"mse": 0.1}, "edges": edges.name}))
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
        [sys.executable, str(script), str(neo4j_settings.data_dir), str(neo4j_settings.cache_dir),
         ",".join(GENES)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()})
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
        assert mini.read(qf.text, {p: params[p] for p in qf.params}) == [], name
    with pytest.raises(ConfigError):
        export_graph(mini, "all", "learned:killed")
    # the retry cleans the half-written run first and completes it
    edges = all_pairs("predicted_regulates") + all_pairs("similar_to")
    rep = write_run(mini, RunInfo("killed", "grape"), edges, batch=4)
    assert rep.cleared > 0
    assert get_run(mini, "killed")["status"] == "complete"
    assert edge_counts(mini, "killed") == {"PREDICTED_REGULATES": 56, "SIMILAR_TO": 28}
    assert mini.read(cypher.load("learned_top_regulators").text,
                     {"run": "killed", "symbol": "TP53", "limit": 50}).__len__() == 7
