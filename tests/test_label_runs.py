"""Label runs end to end on the real Neo4j (mini KG, the SYNTHETIC fixture table): train one
seed, save it, write its test predictions back as PREDICTED_RESPONSE (all or nothing), answer
the two label queries, predict a knock-down from the saved run, and record a failed run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from grapekg import cypher
from grapekg.app import label_runs
from grapekg.app import labels as labels_flow
from grapekg.cli.labels import app as labels_app
from grapekg.kg.build import build
from grapekg.model.grape.labels import LabelConfig
from tests.conftest import FIXTURES, cy
from tests.test_loader import mini_paths

TINY = LabelConfig(hidden=8, heads=1, epochs=2, batch=8)


@pytest.fixture
def label_kg(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go"], mini_paths(kg_fixtures))
    labels_flow.import_labels(
        store,
        neo4j_settings,
        FIXTURES / "labels" / "synthetic_de.csv",
        name="syn-de",
        task="de",
        cell_line="k562",
        val_fraction=0.25,
        seed=3,
        synthetic=True,
    )
    return store


def test_train_save_write_back_query_and_predict(label_kg, neo4j_settings, cli_env):
    runs = label_runs.train_label_runs(neo4j_settings, "syn-de", [1], config=TINY, sources=["go"])
    (run,) = runs
    assert (run.folder / "model.pt").exists() and (run.folder / "label_state.npz").exists()
    rec = json.loads((run.folder / "run.json").read_text())
    assert rec["status"] == "complete" and rec["model"] == "grape-labels"
    # test pairs: CDKN1A->NEAT1, CDKN1A->XIST, NEAT1->XIST (NEAT1->NOTAGENE2 has no KG gene)
    assert run.written == {"PREDICTED_RESPONSE": 3}
    edges = label_kg.read(
        cy(
            "MATCH (a:Gene)-[r:PREDICTED_RESPONSE {run: $run}]->(b:Gene) "
            "RETURN a.symbol AS a, b.symbol AS b, r.score AS s, r.task AS t, r.cell_line AS c"
        ),
        {"run": run.id},
    )
    assert {(e["a"], e["b"]) for e in edges} == {
        ("CDKN1A", "NEAT1"),
        ("CDKN1A", "XIST"),
        ("NEAT1", "XIST"),
    }
    assert all(0.0 <= e["s"] <= 1.0 and e["t"] == "de" and e["c"] == "k562" for e in edges)
    rows = label_kg.read(
        cypher.load("knockdown_response"), {"symbol": "CDKN1A", "cell_line": "k562", "limit": 5}
    )
    assert {r["gene"] for r in rows} == {"NEAT1", "XIST"}
    saved = {
        (r.pert, r.gene): r.score
        for r in __import__("pandas").read_parquet(run.folder / "predictions.parquet").itertuples()
    }
    by_query = {r["gene"]: r["p_de"] for r in rows}
    assert by_query["XIST"] == pytest.approx(saved[("CDKN1A", "XIST")])

    # prediction from the saved run: any KG gene, the same probabilities for a test pair
    df = label_runs.predict_label_runs(neo4j_settings, [run.id], ["CDKN1A"])
    assert set(df["gene"]) == {"NEAT1", "XIST", "MIR1302-2"}
    assert np.all((df["p_de"] >= 0) & (df["p_de"] <= 1))
    assert float(df.loc[df["gene"] == "XIST", "p_de"].iloc[0]) == pytest.approx(
        saved[("CDKN1A", "XIST")], abs=1e-5
    )
    out = CliRunner().invoke(
        labels_app, ["predict", "--run", run.id, "--perturb", "CDKN1A"], env=cli_env
    )
    assert out.exit_code == 0, out.output
    assert "knock-down of CDKN1A" in out.output and "XIST" in out.output


def test_a_failed_write_back_leaves_a_failed_run(label_kg, neo4j_settings, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("the server went away")

    monkeypatch.setattr(label_runs, "write_run", boom)
    with pytest.raises(RuntimeError, match="went away"):
        label_runs.train_label_runs(neo4j_settings, "syn-de", [2], config=TINY, sources=["go"])
    (folder,) = [p for p in (neo4j_settings.data_dir / "runs").iterdir() if "-s2-" in p.name]
    rec = json.loads((folder / "run.json").read_text())
    assert rec["status"] == "failed" and rec["stage"] == "write-back"
    assert "went away" in rec["reason"]
    n = label_kg.read(cy("MATCH ()-[r:PREDICTED_RESPONSE]->() RETURN count(r) AS n"))[0]["n"]
    assert n == 0
    with pytest.raises(Exception, match="failed"):
        label_runs.predict_label_runs(neo4j_settings, [folder.name], ["CDKN1A"])


def test_unknown_source_is_a_usage_error(label_kg, neo4j_settings):
    from grapekg.errors import ConfigError

    with pytest.raises(ConfigError, match="--sources"):
        label_runs.train_label_runs(neo4j_settings, "syn-de", [1], sources=["reactome"])
