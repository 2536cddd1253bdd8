"""Prior gene-gene edges on the real Neo4j: GEARS GO Jaccard and shared Reactome pathway."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from grapekg.errors import ConfigError
from grapekg.kg.build import build
from grapekg.kg.export.paging import assign_gene_index, gene_index_current
from grapekg.kg.export.priors import (
    GoJaccardParams,
    ReactomeParams,
    build_prior,
    complete_prior_hashes,
    prior_sources,
)
from tests.conftest import cy
from tests.test_loader import mini_paths


@pytest.fixture
def mini(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    return store


def _go_sets(store, namespace=None):
    rows = store.read(
        cy(
            "MATCH (g:Gene)-[:ANNOTATED_WITH]->(t:GOTerm) "
            "WHERE $ns IS NULL OR t.namespace = $ns "
            "RETURN g.ensembl_id AS g, collect(t.id) AS ts"
        ),
        {"ns": namespace},
    )
    return {r["g"]: set(r["ts"]) for r in rows}


def _prior_edges(store, kind):
    return {
        (r["a"], r["b"]): r["w"]
        for r in store.read(
            cy(
                "MATCH (a:Gene)-[r:PRIOR {kind: $k}]->(b:Gene) RETURN a.ensembl_id AS a, "
                "b.ensembl_id AS b, r.weight AS w"
            ),
            {"k": kind},
        )
    }


def test_go_jaccard_matches_python_and_is_idempotent(mini):
    rep = build_prior(mini, GoJaccardParams(threshold=0.1, top_k=20), page=3)
    sets = _go_sets(mini)
    expected = {}
    for a, b in combinations(sets, 2):
        j = len(sets[a] & sets[b]) / len(sets[a] | sets[b])
        if j > 0.1:
            expected[(a, b)] = expected[(b, a)] = j
    got = _prior_edges(mini, "go_jaccard")
    assert got.keys() == expected.keys() and got
    assert all(abs(got[k] - expected[k]) < 1e-9 for k in got)
    assert rep.edges == len(expected)
    # a second build changes nothing and leaves one complete Source record
    build_prior(mini, GoJaccardParams(threshold=0.1, top_k=20), page=5)
    assert _prior_edges(mini, "go_jaccard") == got
    src = [s for s in prior_sources(mini) if s["name"] == "prior.go_jaccard"]
    assert [s["status"] for s in src] == ["complete"]
    assert json.loads(src[0]["params"])["top_k"] == 20
    stamps = mini.read(
        cy("MATCH ()-[r:PRIOR]->() RETURN DISTINCT r.source AS s, r.params_hash AS h")
    )
    assert stamps == [{"s": f"prior.go_jaccard@{rep.params_hash}", "h": rep.params_hash}]


def test_go_top_k_threshold_and_replacement(mini):
    build_prior(mini, GoJaccardParams(threshold=0.0, top_k=20))
    first = complete_prior_hashes(mini, ["go_jaccard"])["go_jaccard"]
    rep = build_prior(mini, GoJaccardParams(threshold=0.0, top_k=1))
    # top-1: every gene has at most one incoming edge, all with the new hash
    rows = mini.read(
        cy(
            "MATCH (:Gene)-[r:PRIOR]->(g:Gene) RETURN g.ensembl_id AS g, count(r) AS n, "
            "collect(DISTINCT r.params_hash) AS hs"
        )
    )
    assert rows and all(r["n"] == 1 and r["hs"] == [rep.params_hash] for r in rows)
    status = {s["params_hash"]: s["status"] for s in prior_sources(mini)}
    assert status == {first: "replaced", rep.params_hash: "complete"}
    assert complete_prior_hashes(mini, ["go_jaccard"]) == {"go_jaccard": rep.params_hash}
    # a high threshold keeps only identical annotation sets
    build_prior(mini, GoJaccardParams(threshold=0.99))
    assert all(w == 1.0 for w in _prior_edges(mini, "go_jaccard").values())


def test_go_namespace_restriction(mini):
    build_prior(mini, GoJaccardParams(namespace="cellular_component", threshold=0.0))
    sets = _go_sets(mini, "cellular_component")
    got = _prior_edges(mini, "go_jaccard")
    assert all(a in sets and b in sets for a, b in got)


def test_reactome_shared_pathway_at_level(mini):
    rep = build_prior(mini, ReactomeParams(level=1))
    rows = mini.read(
        cy(
            "MATCH (g:Gene)-[:IN_PATHWAY]->(p:Pathway {level: 1}) "
            "RETURN p.id AS p, collect(g.ensembl_id) AS gs"
        )
    )
    expected: dict[tuple[str, str], float] = {}
    for r in rows:
        for a, b in combinations(sorted(r["gs"]), 2):
            expected[(a, b)] = expected.get((a, b), 0) + 1.0
    got = _prior_edges(mini, "reactome")
    assert got == expected and got
    assert rep.edges == len(expected)
    assert _prior_edges(mini, "reactome") == got
    build_prior(mini, ReactomeParams(level=1))
    assert _prior_edges(mini, "reactome") == got
    build_prior(mini, ReactomeParams(level=1, max_pathway_genes=2))
    assert len(_prior_edges(mini, "reactome")) < len(got)


def test_priors_need_sources_and_valid_params(store):
    with pytest.raises(ConfigError):
        build_prior(store, GoJaccardParams())
    with pytest.raises(ConfigError):
        build_prior(store, GoJaccardParams(namespace="x' OR 1=1"))
    with pytest.raises(ConfigError):
        build_prior(store, ReactomeParams(level=0))


def test_gene_index_is_contiguous_per_class(mini):
    assert not gene_index_current(mini)
    counts = assign_gene_index(mini, page=2)
    assert counts == {"c": 5, "nc": 3}
    rows = mini.read(
        cy(
            "MATCH (g:Gene) RETURN g.biotype_class AS c, g.idx AS i, g.ensembl_id AS e "
            "ORDER BY c, e"
        )
    )
    for cls in ("c", "nc"):
        assert [r["i"] for r in rows if r["c"] == cls] == list(range(counts[cls]))
    assert gene_index_current(mini)
