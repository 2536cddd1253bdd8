"""``grape priors``, ``grape export``, ``grape writeback`` and ``grape runs`` end to end: the
command in a subprocess against the session's real Neo4j, outputs checked against the DB."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from grapekg.kg.build import build
from grapekg.kg.export.formats import load_npz
from grapekg.kg.export.hetero import RELATIONS
from grapekg.kg.export.priors import GoJaccardParams, ReactomeParams, build_prior
from grapekg.kg.writeback import edge_counts, get_run
from tests.conftest import cy
from tests.test_cli import grape
from tests.test_learned_queries import MDM2, RUN1_EDGES, TP53, XIST
from tests.test_loader import mini_paths

REL_KEYS = ["__".join(r) for r in RELATIONS]


def grape_all(env, *commands, check=True):
    """Several independent ``grape`` commands at once (each subprocess spends seconds importing
    torch: run side by side, they take about half as long on two cores)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "grapekg", *args],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for args in commands
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
        if check:
            assert p.returncode == 0, stderr
    return out


@pytest.fixture
def kg(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    return store


def expected_counts(store, genes: set[str] | None, kinds: tuple[str, ...]) -> dict:
    """Node and edge counts of the typed export, computed from the database directly: one
    undirected edge per (gene pair, kind), cc and nn edges in both directions."""
    nodes = store.read(cy("MATCH (g:Gene) RETURN g.ensembl_id AS id, g.biotype_class AS c"))
    cls = {r["id"]: r["c"] for r in nodes if genes is None or r["id"] in genes}
    rows = store.read(
        cy(
            "MATCH (s:Source) WHERE s.name STARTS WITH 'prior.' AND s.status = 'complete' "
            "WITH collect(s.version) AS hashes "
            "MATCH (a:Gene)-[r:PRIOR]->(b:Gene) WHERE r.params_hash IN hashes AND r.kind IN $kinds "
            "RETURN a.ensembl_id AS a, b.ensembl_id AS b, r.kind AS k"
        ),
        {"kinds": list(kinds)},
    )
    pairs = {
        (min(r["a"], r["b"]), max(r["a"], r["b"]), r["k"])
        for r in rows
        if r["a"] in cls and r["b"] in cls and r["a"] != r["b"]
    }
    edges = dict.fromkeys(REL_KEYS, 0)
    for a, b, _ in pairs:
        ca, cb = cls[a], cls[b]
        if ca == cb:
            edges["c__cc__c" if ca == "c" else "nc__nn__nc"] += 2
        else:
            edges["c__cn__nc"] += 1
            edges["nc__rev_cn__c"] += 1
    return {
        "nodes": {t: sum(1 for c in cls.values() if c == t) for t in ("c", "nc")},
        "edges": edges,
    }


def test_priors_build_and_list(kg, cli_env):
    store = kg
    out = grape(
        cli_env, "priors", "build", "--kind", "all", "--threshold", "0.0", "--level", "2"
    ).stdout
    db = {
        r["k"]: r["n"]
        for r in store.read(cy("MATCH ()-[r:PRIOR]->() RETURN r.kind AS k, count(r) AS n"))
    }
    assert db["go_jaccard"] > 0 and db["reactome"] > 0
    assert f"go_jaccard: {db['go_jaccard']:,} edges" in out
    assert f"reactome: {db['reactome']:,} edges" in out
    assert store.read(cy("MATCH (g:Gene) WHERE g.idx IS NULL RETURN count(g) AS n"))[0]["n"] == 0
    listed = grape(cli_env, "priors", "list").stdout
    assert "prior.go_jaccard" in listed and "prior.reactome" in listed and "complete" in listed


def test_export_formats_match_the_database(kg, cli_env, tmp_path):
    store = kg
    build_prior(store, GoJaccardParams(threshold=0.0))  # as 'priors build' above, in-process
    build_prior(store, ReactomeParams(level=2))
    gene_file = tmp_path / "genes.txt"
    genes = [TP53, MDM2, "BRCA1", XIST, "NEAT1"]  # ids and symbols
    gene_file.write_text("gene\n" + "\n".join(genes) + "\n")
    ids = {
        r["id"]
        for r in store.read(
            cy(
                "MATCH (g:Gene) WHERE g.ensembl_id IN $k OR g.symbol IN $k "
                "RETURN g.ensembl_id AS id"
            ),
            {"k": genes},
        )
    }
    assert len(ids) == 5

    pyg, dgl, npz = tmp_path / "g.pt", tmp_path / "g.dgl.pt", tmp_path / "bundle"
    runs = grape_all(
        cli_env,
        (
            "export",
            "--genes",
            str(gene_file),
            "--edges",
            "go,reactome",
            "--format",
            "pyg",
            "--out",
            str(pyg),
        ),
        ("export", "--genes", "all", "--edges", "go", "--format", "dgl", "--out", str(dgl)),
        ("export", "--edges", "reactome", "--format", "npz", "--out", str(npz)),
    )

    # pyg, a gene file, GO + Reactome
    want = expected_counts(store, ids, ("go_jaccard", "reactome"))
    assert sum(want["edges"].values()) > 0
    data = torch.load(pyg, weights_only=False)
    assert {t: data[t].num_nodes for t in ("c", "nc")} == want["nodes"] == {"c": 3, "nc": 2}
    assert {"__".join(r): data[r].edge_index.shape[1] for r in RELATIONS} == want["edges"]
    assert set(data["c"].ensembl_id) | set(data["nc"].ensembl_id) == ids
    assert data.snapshot_id in runs[0].stdout

    # dgl, all genes, GO only
    want = expected_counts(store, None, ("go_jaccard",))
    d = torch.load(dgl, weights_only=False)
    assert d["num_nodes"] == want["nodes"] == {"c": 5, "nc": 3}
    assert {"__".join(r): len(u) for r, (u, v) in d["graph"].items()} == want["edges"]
    assert all(len(u) == len(v) for u, v in d["graph"].values())

    # npz, all genes, Reactome only
    want = expected_counts(store, None, ("reactome",))
    g = load_npz(npz)
    assert {t: len(g.node_ids[t]) for t in ("c", "nc")} == want["nodes"]
    assert {"__".join(r): len(g.edges[r]) for r in RELATIONS} == want["edges"]
    z = np.load(npz / "graph.npz")
    assert {k: int(z[f"{k}__src"].shape[0]) for k in REL_KEYS} == want["edges"]
    assert len(pd.read_parquet(npz / "edges.parquet")) == sum(want["edges"].values())


def _run_file(tmp_path, edges_name, run_id="cli-run"):
    f = tmp_path / f"{run_id}.json"
    f.write_text(
        json.dumps(
            {
                "id": run_id,
                "model": "grape",
                "dataset": "norman",
                "seed": 4,
                "metrics": {"pearson_delta": 0.42},
                "edges": edges_name,
            }
        )
    )
    return f


def test_writeback_and_runs(kg, cli_env, tmp_path):
    store = kg
    pd.DataFrame(RUN1_EDGES).to_parquet(tmp_path / "edges.parquet")
    pd.DataFrame(RUN1_EDGES[:2]).to_csv(tmp_path / "two.csv", index=False)
    run2 = _run_file(tmp_path, "missing.parquet", run_id="cli-run-2")
    # two runs written at the same time: the run file's parquet; a CSV given with --edges
    # (which overrides the run file's entry)
    run1 = _run_file(tmp_path, "edges.parquet")
    out, _ = grape_all(
        cli_env,
        ("writeback", "--run-file", str(run1)),
        ("writeback", "--run-file", str(run2), "--edges", str(tmp_path / "two.csv")),
    )
    assert "run cli-run" in out.stdout and "PREDICTED_REGULATES" in out.stdout
    assert edge_counts(store, "cli-run") == {
        "PREDICTED_REGULATES": 3,
        "SIMILAR_TO": 2,
        "KHOP_LINK": 1,
    }
    assert get_run(store, "cli-run")["status"] == "complete"
    assert edge_counts(store, "cli-run-2") == {"PREDICTED_REGULATES": 2}

    listed, shown = (
        p.stdout for p in grape_all(cli_env, ("runs", "list"), ("runs", "show", "cli-run"))
    )
    assert set(re.findall(r"cli-run[\w-]*", listed)) == {"cli-run", "cli-run-2"}
    assert "complete" in listed
    assert "pearson_delta" in shown and "0.42" in shown and "norman" in shown
    assert "PREDICTED_REGULATES" in shown

    out = grape(cli_env, "runs", "delete", "cli-run", "--yes").stdout
    assert "deleted run cli-run (6 edges)" in out
    assert get_run(store, "cli-run") is None and edge_counts(store, "cli-run") == {}
    assert edge_counts(store, "cli-run-2") == {"PREDICTED_REGULATES": 2}


def test_bad_edge_file_is_one_line_error(kg, cli_env, tmp_path):
    # importing the CLI currently pulls in torch_geometric, whose torch.jit FutureWarning would
    # add lines to stderr that have nothing to do with this error
    cli_env = {**cli_env, "PYTHONWARNINGS": "ignore::FutureWarning"}
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "src,dst,type,score\n"
        f"{TP53},{XIST},predicted_regulates,0.5\n"
        f"{TP53},{MDM2},predicted_regulates,high\n"
    )
    run = _run_file(tmp_path, "bad.csv", run_id="bad-run")
    pq = tmp_path / "bad.parquet"
    pd.DataFrame(
        {
            "src": [TP53, TP53],
            "dst": [XIST, MDM2],
            "type": ["similar_to", "likes"],
            "score": [0.1, 0.2],
        }
    ).to_parquet(pq)
    csv_run, pq_run = grape_all(
        cli_env,
        ("writeback", "--run-file", str(run)),
        ("writeback", "--run-file", str(run), "--edges", str(pq)),
        check=False,
    )
    for p in (csv_run, pq_run):
        err = p.stderr.strip()
        assert p.returncode == 1 and err.startswith("error: ")
        assert "\n" not in err and "Traceback" not in err, err
    assert f"{bad}:3: column 'score'" in csv_run.stderr and "high" in csv_run.stderr
    assert f"{pq}: row 2, column 'type'" in pq_run.stderr and "likes" in pq_run.stderr
    assert get_run(kg, "bad-run") is None  # nothing was written


def test_parquet_is_read_without_arrow_threads():
    """Every Parquet read in the package goes through grapekg.parquet.read_parquet: Arrow's pool
    threads can abort a short ``grape`` process at exit (apache/arrow#34314), which is how
    test_bad_edge_file_is_one_line_error once died with SIGABRT instead of exit code 1."""
    root = Path(__file__).resolve().parent.parent
    offenders = [
        f"{p.relative_to(root)}:{i}"
        for d in ("kg", "model", "cli", "grapekg")
        for p in sorted((root / d).rglob("*.py"))
        if p.name != "parquet.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "pd.read_parquet(" in line or ".read_table(" in line
    ]
    assert offenders == []
