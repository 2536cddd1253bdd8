"""GRAPE end to end through the CLI on a SYNTHETIC KG and dataset in the real Neo4j:
features -> train (with write-back) -> evaluate table -> predict -> report -> Cypher."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tests.conftest import cy
from tests.synthetic_kg import load_synthetic_kg
from tests.test_cli import grape


def test_grape_end_to_end(store, cli_env, tmp_path):
    load_synthetic_kg(store, n_genes=160)
    env = dict(cli_env, GRAPE_CACHE_DIR=str(tmp_path / "cache"))
    grape(
        env,
        "data",
        "simulate",
        "--genes",
        "120",
        "--conditions",
        "30",
        "--cells-per-condition",
        "10",
        "--name",
        "e2e",
    )
    grape(env, "features", "compute", "--modality", "text", "--genes", "dataset:e2e")
    out = grape(
        env,
        "train",
        "--dataset",
        "e2e",
        "--split",
        "simulation",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--align-epochs",
        "1",
        "--hidden",
        "16",
        "--heads",
        "2",
        "--top-k",
        "2",
        "--batch-size",
        "8",
    ).stdout
    for label in ("grape", "no-change", "mean", "additive", "linear", "SYNTHETIC"):
        assert label in out, out
    runs = [
        r
        for r in store.read(
            cy(
                "MATCH (m:ModelRun) RETURN m.id AS id, m.status AS s, "
                "m.snapshot_id AS snap, m.dataset AS d"
            )
        )
    ]
    assert len(runs) == 1 and runs[0]["s"] == "complete" and runs[0]["d"] == "e2e"
    assert runs[0]["snap"]
    run = runs[0]["id"]
    n = store.read(
        cy("MATCH ()-[r:PREDICTED_REGULATES {run: $r}]->() RETURN count(r) AS n"), {"r": run}
    )[0]["n"]
    assert n > 0
    assert (
        store.read(cy("MATCH ()-[r:SIMILAR_TO {run: $r}]->() RETURN count(r) AS n"), {"r": run})[0][
            "n"
        ]
        > 0
    )
    # the results table has GRAPE beside the baselines, with seeds
    res = cli_env["GRAPE_DATA_DIR"] + "/results/e2e/simulation/summary.json"
    summary = json.loads(Path(res).read_text())
    assert {"grape", "no-change", "mean", "additive", "linear"} <= set(summary["models"])
    # predict a double and an unseen single, as a table
    reg = store.read(
        cy(
            "MATCH (g:Gene)-[:PREDICTED_REGULATES {run: $r}]->() "
            "RETURN DISTINCT g.symbol AS s ORDER BY s LIMIT 2"
        ),
        {"r": run},
    )
    a, b = reg[0]["s"], reg[1]["s"]
    pred_file = tmp_path / "pred.parquet"
    grape(
        env,
        "predict",
        "--run",
        run,
        "--perturb",
        f"{a}+{b}",
        "--perturb",
        a,
        "--out",
        str(pred_file),
    )
    pred = pd.read_parquet(pred_file)
    assert len(pred) == 2 and pred.shape[1] == 121
    p = grape(env, "predict", "--run", run, "--perturb", "NOTAGENE", check=False)
    assert p.returncode != 0 and "NOTAGENE" in p.stderr and "Traceback" not in p.stderr
    # report figures
    rep = grape(env, "report", run).stdout
    assert "umap" in rep and "ablation" in rep
    # planted-edge recovery beside GO-Jaccard and random rankings
    rec = grape(env, "recovery", run, "--all-regulators", "--out", str(tmp_path / "rec")).stdout
    for name in (
        "grape_insilico",
        "grape_attention",
        "grape_khop",
        "go_jaccard",
        "random",
        "SYNTHETIC",
    ):
        assert name in rec, rec
    table = pd.read_csv(tmp_path / "rec" / "recovery.csv")
    assert table["auprc"].between(0, 1).all() and (table["positives"] > 0).all()
    assert (tmp_path / "rec" / "pr_curves.png").stat().st_size > 0
    # learned regulation is queryable with the shipped Cypher
    target = store.read(
        cy("MATCH ()-[r:PREDICTED_REGULATES {run: $r}]->(t:Gene) RETURN t.symbol AS s LIMIT 1"),
        {"r": run},
    )[0]["s"]
    q = grape(
        env,
        "query",
        "learned_top_regulators",
        "-p",
        f"run={run}",
        "-p",
        f"symbol={target}",
        "-p",
        "limit=5",
        "--format",
        "csv",
    ).stdout.splitlines()
    assert len(q) >= 2
