"""Model runs end to end on a SYNTHETIC KG and dataset in the real Neo4j: a split file's
content (never its name or path) names its runs and results folder; a user's split is
trained on exactly; labels trained one after another share one table; ``@latest`` and a
pattern mean the newest COMPLETE run in the graph for every command; failed and killed runs
are recorded, listed, explained and deleted with their folders."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grapekg.app import runs as runs_app
from grapekg.app import train as training
from grapekg.app.workspace import Workspace
from grapekg.errors import DatabaseError
from grapekg.kg import writeback
from grapekg.model.grape.config import GrapeConfig
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.splits import split_tag
from tests.synthetic_kg import load_synthetic_kg
from tests.test_cli import grape

TRAIN = ["--seeds", "1", "--epochs", "2", "--align-epochs", "1", "--hidden", "16", "--heads"]
TRAIN += ["2", "--top-k", "2", "--batch-size", "8"]


def _run_id(out: str) -> str:
    return next(line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("✓"))


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_runs_identity_status_latest_and_delete(store, cli_env, neo4j_settings, tmp_path):
    load_synthetic_kg(store, n_genes=160)
    env = dict(cli_env, GRAPE_CACHE_DIR=str(tmp_path / "cache"))
    data = Path(cli_env["GRAPE_DATA_DIR"])
    name = "runstat"
    grape(
        env, "data", "simulate", "--genes", "120", "--conditions", "30",
        "--cells-per-condition", "10", "--name", name,
    )  # fmt: skip
    grape(env, "features", "compute", "--modality", "text", "--genes", f"dataset:{name}")
    conds = sorted(
        c for c in bundle_mod.load(bundle_mod.dataset_dir(data, name)).summary.conditions
        if c != "ctrl"
    )  # fmt: skip
    # a user's split in a file named like the built-in split, with no validation list
    user = tmp_path / "abs" / "simulation.json"
    user.parent.mkdir()
    train_list, test_list = conds[:-8], conds[-8:]
    user.write_text(json.dumps({"train": train_list, "val": [], "test": test_list}))
    tag = split_tag(str(user))

    # 1-3: the absolute path trains, scores, and names runs and folders by content
    out = grape(env, "train", "--dataset", name, "--split", str(user), "--label", "A", *TRAIN)
    user_a = _run_id(out.stdout)
    assert user_a.startswith(f"{name}-{tag}-A-s1-"), out.stdout
    assert "validation: none (user split)" in out.stdout, out.stdout
    meta = json.loads((data / "runs" / user_a / "meta.json").read_text())
    assert meta["val"] == [] and sorted(meta["train"]) == sorted([*train_list, "ctrl"])
    results = data / "results" / name
    assert (results / tag / "summary.json").exists()
    assert not (results / "simulation.json").exists()
    # the built-in split of the same name is another run; neither replaces the other
    out = grape(env, "train", "--dataset", name, "--split", "simulation", "--label", "A", *TRAIN)
    builtin_a = _run_id(out.stdout)
    assert builtin_a.startswith(f"{name}-simulation-A-s1-") and builtin_a != user_a
    assert "validation: the simulation split's own" in out.stdout
    assert (data / "runs" / user_a / "model.pt").exists()
    # a relative path to the same content: the same split id; label B joins A's table
    proc = subprocess.run(
        [sys.executable, "-m", "grapekg", "train", "--dataset", name, "--split",
         "simulation.json", "--label", "B", *TRAIN],
        env=env, cwd=user.parent, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    user_b = _run_id(proc.stdout)
    assert user_b.startswith(f"{name}-{tag}-B-s1-")
    assert not (user.parent / "results").exists()
    summary = json.loads((results / tag / "summary.json").read_text())
    assert {"A", "B", "mean", "additive"} <= set(summary["models"]), summary["models"].keys()
    assert summary["validation"].startswith("validation: none (user split)")
    statuses = {r["id"]: r["status"] for r in writeback.list_runs(store)}
    assert statuses == {user_a: "complete", builtin_a: "complete", user_b: "complete"}

    # 6: a run folder killed before its write-back (newest on disk, never complete in the
    # graph) is neither @latest nor a pattern's match
    killed = data / "runs" / f"{name}-zzz-A-s1-00000000"
    shutil.copytree(data / "runs" / builtin_a, killed)
    rec = json.loads((killed / "run.json").read_text())
    rec.update(run_id=killed.name, status="running", pid=_dead_pid(), host=socket.gethostname())
    (killed / "run.json").write_text(json.dumps(rec))
    gene = json.loads((data / "runs" / user_b / "meta.json").read_text())["gene_names"][0]
    shown = grape(env, "predict", "--run", "@latest", "--perturb", gene, "--top", "2").stdout
    assert user_b in "".join(shown.split()) and killed.name not in shown, shown
    shown = grape(env, "predict", "--run", f"{name}-*-A-s1-*", "--perturb", gene).stdout
    assert builtin_a in "".join(shown.split()), shown  # the newest A, not the last name
    q = ["query", "learned_top_regulators", "-p", f"symbol={gene}", "-p", "limit=3"]
    q += ["--format", "csv"]
    latest_rows = grape(env, *q, "-p", "run=@latest").stdout
    assert latest_rows == grape(env, *q, "-p", f"run={user_b}").stdout
    # 7: failed runs recorded on disk (and in the graph when the write-back began)
    ws = Workspace(neo4j_settings)
    dg = training.dataset_graph(store, ws, name)
    base = GrapeConfig(epochs=1, align_epochs=0, hidden=16, gat_heads=2, sim_heads=2)

    def boom(*a, **k):
        raise RuntimeError("boom: the GPU caught fire")

    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(training, "train_grape", boom)
        with pytest.raises(RuntimeError, match="boom"):
            training.train_seed(store, ws, name, "simulation", 7, base, graph=dg, label="F")
        mp.undo()

        def lost(*a, **k):
            raise DatabaseError("Neo4j went away")

        mp.setattr(writeback, "_write_edges", lost)
        with pytest.raises(DatabaseError):
            training.train_seed(store, ws, name, "simulation", 8, base, graph=dg, label="W")
    finally:
        mp.undo()
    failed_train = training.run_identity(name, "simulation", "F", 7, training.config_for(
        base, dg.graph, None, 7))[0]  # fmt: skip
    failed_wb = training.run_identity(name, "simulation", "W", 8, training.config_for(
        base, dg.graph, None, 8))[0]  # fmt: skip
    assert writeback.get_run(store, failed_wb)["status"] == "failed"
    listed = grape(env, "runs", "list", "--status", "failed", "--format", "json").stdout
    rows = {r["id"]: r for r in json.loads(listed)}
    assert {failed_train, failed_wb, killed.name} <= set(rows), rows
    assert "boom: the GPU caught fire" in rows[failed_train]["reason"]
    assert "Neo4j went away" in rows[failed_wb]["reason"]
    assert rows[failed_wb]["stored"] == "graph, folder"
    assert rows[killed.name]["reason"].startswith("interrupted")
    assert user_a not in rows and builtin_a not in rows
    p = grape(env, "report", failed_train, check=False)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "failed during training" in p.stderr and "boom" in p.stderr, p.stderr
    assert "no run folder matches" not in p.stderr
    p = grape(env, "predict", "--run", killed.name, "--perturb", gene, check=False)
    assert p.returncode == 1 and "interrupted" in p.stderr, p.stderr
    # 11: an unknown status is a usage error naming the option and the choices
    p = grape(env, "runs", "list", "--status", "bogus", check=False)
    assert p.returncode == 2 and "--status 'bogus'" in p.stderr, p.stderr
    assert "complete, running, writing, failed, deleting" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1

    # delete: graph and folder together; a graph failure puts the folder back
    mp = pytest.MonkeyPatch()
    try:

        def refuse(*a, **k):
            raise DatabaseError("Neo4j went away")

        mp.setattr(writeback, "delete_run", refuse)
        with pytest.raises(DatabaseError):
            runs_app.delete_run(store, builtin_a, ws)
    finally:
        mp.undo()
    assert (data / "runs" / builtin_a / "model.pt").exists()
    assert writeback.get_run(store, builtin_a)["status"] == "complete"
    out = grape(env, "runs", "delete", builtin_a, "--yes").stdout
    assert "its folder" in out
    assert not (data / "runs" / builtin_a).exists() and writeback.get_run(store, builtin_a) is None
    for run in (failed_train, failed_wb, killed.name):
        grape(env, "runs", "delete", run, "--yes")
        assert not (data / "runs" / run).exists()
    assert writeback.get_run(store, failed_wb) is None
    left = [p.name for p in (data / "runs").iterdir() if p.name.startswith(".deleting")]
    assert left == []
    p = grape(env, "runs", "delete", "../datasets", "--yes", check=False)
    assert p.returncode == 2 and (data / "datasets").exists()
    assert os.listdir(data / "runs")
