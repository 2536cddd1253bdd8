"""The linear-KG embedding read through kg.annotations from a real Neo4j (synthetic KG)."""

from __future__ import annotations

import numpy as np

from grapekg.app import datasets
from grapekg.app import evaluate as app_eval
from grapekg.app.workspace import Workspace
from grapekg.kg import annotations
from grapekg.perturb.conditions import parse_condition
from tests.conftest import cy
from tests.synthetic_kg import load_synthetic_kg


def test_memberships_embedding_and_linear_kg_row(store, neo4j_settings, tmp_path) -> None:
    load_synthetic_kg(store, n_genes=300)
    datasets.simulate_dataset(
        store, neo4j_settings, genes=200, conditions=30, cells_per_condition=15, name="simkg"
    )
    ws = Workspace(neo4j_settings)
    b = app_eval.load_bundle(store, ws, "simkg")
    ids = [str(g) for g in b.genes["ensembl_id"][:50]]
    go = {
        r["id"]: set(r["t"])
        for r in store.read(
            cy(
                "UNWIND $ids AS id MATCH (g:Gene {ensembl_id: id})-[:ANNOTATED_WITH]->"
                "(t:GOTerm {namespace: 'biological_process'}) RETURN id, collect(t.id) AS t"
            ),
            {"ids": ids},
        )
    }
    pw = {
        r["id"]: set(r["p"])
        for r in store.read(
            cy(
                "UNWIND $ids AS id MATCH (g:Gene {ensembl_id: id})-[:IN_PATHWAY]->(p:Pathway) "
                "RETURN id, collect(p.id) AS p"
            ),
            {"ids": ids},
        )
    }
    assert annotations.pathways(store, ids) == pw
    expected = {g: go.get(g, set()) | pw.get(g, set()) for g in set(go) | set(pw)}
    assert annotations.memberships(store, ids) == expected
    targets = annotations.condition_targets(store, "simkg")
    assert targets and all(len(t[1]) == len(parse_condition(t[0])) for t in targets)
    emb = app_eval.kg_embedding(store, b, "simkg")
    names = {g for c in b.summary.conditions for g in parse_condition(c)}
    assert names & set(emb)
    assert {v.shape for v in emb.values()} == {(10,)}
    some = next(iter(names & set(emb)))
    assert np.isfinite(emb[some]).all()
    res = app_eval.evaluate(ws, b, "simkg", "simulation", [1], store=store, out=tmp_path / "o")
    assert "linear-kg" in res.result.summary.index
    assert res.result.notes[0].startswith("baselines and models fit on the same")
