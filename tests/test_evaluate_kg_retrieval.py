"""``kg-retrieval`` in ``grape evaluate``: GO / closed-STRING sets read from a real Neo4j
(SYNTHETIC KG, a few STRING links written here) keyed like the condition strings, a retrieved
prediction checked against the weighted mean computed by hand, the row in the table, its
absence (with a note) when the graph has neither GO nor STRING, and a label dataset refused."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from grapekg.app import datasets
from grapekg.app import evaluate as app_eval
from grapekg.app import labels as labels_flow
from grapekg.app.workspace import Workspace
from grapekg.evaluation import scoring as ev
from grapekg.kg.build import build
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.errors import DataError
from grapekg.perturb.splits import resolve_split
from tests.conftest import FIXTURES, cy
from tests.synthetic_kg import load_synthetic_kg
from tests.test_loader import mini_paths

LINK = cy(
    "UNWIND $pairs AS p MATCH (a:Gene {ensembl_id: p[0]}), (b:Gene {ensembl_id: p[1]}) "
    "CREATE (a)-[:INTERACTS_WITH {score: 990.0, source: 'string'}]->(b)"
)


def _simulated(store, settings, name):
    load_synthetic_kg(store, n_genes=300)
    datasets.simulate_dataset(
        store, settings, genes=200, conditions=30, cells_per_condition=15, name=name
    )
    ws = Workspace(settings)
    return ws, app_eval.load_bundle(store, ws, name)


def _target_id(store, bundle, dataset, name):
    ids = app_eval._ensembl_ids(store, bundle, dataset)
    return ids[name]


def test_sets_keyed_like_conditions_and_the_weighted_mean_by_hand(
    store, neo4j_settings, tmp_path
) -> None:
    ws, b = _simulated(store, neo4j_settings, "simret")
    split = resolve_split("simulation", list(b.summary.conditions), 1)
    singles = lambda cs: [c for c in cs if len(parse_condition(c)) == 1]  # noqa: E731
    x_cond = singles(split.test)[0]
    a_cond, b_cond = singles(split.train)[:2]
    (x,), (a,), (bb,) = (parse_condition(c) for c in (x_cond, a_cond, b_cond))
    xi, ai, bi = (_target_id(store, b, "simret", n) for n in (x, a, bb))
    # STRING X—A, A—B: closed neighbourhoods {X, A}, {A, X, B}, {B, A} (Ensembl ids)
    store.write(LINK, {"pairs": [[xi, ai], [ai, bi]]})
    sets, read, targets = app_eval.kg_knowledge(store, b, "simret")
    assert read.used == ["go", "string"] and {xi, ai, bi} <= set(targets)
    assert sets["string"] == {x: {xi, ai}, a: {ai, xi, bi}, bb: {bi, ai}}
    go = store.read(
        cy("MATCH (g:Gene {ensembl_id: $id})-[:ANNOTATED_WITH]->(t:GOTerm) RETURN t.id AS t"),
        {"id": xi},
    )
    assert go and sets["go"][x] == {r["t"] for r in go}
    # STRING only: s(X, A) = |{X,A}| / |{X,A,B}| = 2/3, s(X, B) = |{A}| / |{X,A,B}| = 1/3,
    # every other training single 0 -> ŷ_X = μ + (2/3 δ_A + 1/3 δ_B) / (2/3 + 1/3)
    truth = b.truth()
    mu = truth[CONTROL]
    want = mu + (2 / 3) * (truth[a_cond] - mu) + (1 / 3) * (truth[b_cond] - mu)
    predict = ev.baseline_predictor("kg_retrieval", b, knowledge={"string": sets["string"]})
    got = predict(split)
    np.testing.assert_allclose(got.values[x_cond], want, rtol=1e-12, atol=1e-12)
    assert x not in got.unembedded  # retrieved, not the fallback
    others = [c for c in singles(split.test) if c != x_cond]
    assert others
    fallback = np.mean([truth[c] - mu for c in split.train if c != CONTROL], axis=0)
    np.testing.assert_allclose(got.values[others[0]], mu + fallback, rtol=1e-12, atol=1e-12)
    # both sources through evaluate: a finite row and the note of what was read
    res = app_eval.evaluate(ws, b, "simret", "simulation", [1, 2], store=store, out=tmp_path / "o")
    row = res.result.summary.loc["kg-retrieval"]
    assert np.isfinite(row["pcc_delta_mean"]) and np.isfinite(row["rmse_mean"])
    (note,) = [n for n in res.result.notes if n.startswith("kg-retrieval: similarity")]
    assert "go (" in note and "string: 3 of " in note  # X, A, B have partners
    assert {"linear-kg", "kg-retrieval", "mean"} <= set(res.result.summary.index)


def test_no_go_or_string_leaves_the_row_out_with_a_note(store, neo4j_settings, tmp_path):
    ws, b = _simulated(store, neo4j_settings, "simnone")
    store.write(cy("MATCH (t:GOTerm) DETACH DELETE t"))
    store.write(cy("MATCH (s:Source {name: 'go'}) DETACH DELETE s"))
    res = app_eval.evaluate(ws, b, "simnone", "simulation", [1], store=store, out=tmp_path / "o")
    assert "kg-retrieval" not in res.result.summary.index
    assert "mean" in res.result.summary.index
    assert app_eval.NO_RETRIEVAL_KNOWLEDGE in res.result.notes


def _grape(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "grapekg", *args], env=env, capture_output=True, text=True
    )


def test_grape_evaluate_prints_the_row(store, neo4j_settings, cli_env, tmp_path) -> None:
    ws, b = _simulated(store, neo4j_settings, "simcli")
    ids = [str(g) for g in b.genes["ensembl_id"][:60]]
    store.write(LINK, {"pairs": [[ids[i], ids[i + 1]] for i in range(0, 58, 2)]})
    proc = _grape(
        cli_env, "evaluate", "--dataset", "simcli", "--seeds", "1", "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 0, proc.stderr
    assert "kg-retrieval" in proc.stdout
    assert "note: kg-retrieval: similarity = Jaccard" in proc.stdout


@pytest.fixture
def label_dataset(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go"], mini_paths(kg_fixtures))
    labels_flow.import_labels(
        store,
        neo4j_settings,
        FIXTURES / "labels" / "synthetic_de.csv",
        name="syn-de",
        task="de",
        cell_line="k562",
        synthetic=True,
    )
    return store


def test_a_label_dataset_is_refused_and_listed_with_its_kind(
    label_dataset, neo4j_settings, cli_env
) -> None:
    with pytest.raises(DataError, match=r"^syn-de is a label dataset: score it with"):
        app_eval.load_bundle(label_dataset, Workspace(neo4j_settings), "syn-de")
    (row,) = datasets.list_datasets(label_dataset)
    assert (row["name"], row["kind"], row["task"], row["cells"]) == ("syn-de", "labels", "de", None)
    proc = _grape(cli_env, "evaluate", "--dataset", "syn-de", "--seeds", "1")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "syn-de is a label dataset: score it with" in lines[0]
