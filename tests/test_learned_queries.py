"""The learned-edge queries of cypher/ (learned_*.cypher) on the real Neo4j: each runs and
answers on a seeded graph, sees only complete runs, and takes hostile strings as data."""

from __future__ import annotations

import pytest

from grapekg import cypher
from grapekg.kg.build import build
from grapekg.kg.export.priors import GoJaccardParams, ReactomeParams, build_prior
from grapekg.kg.writeback import RunInfo, write_run
from tests.conftest import cy
from tests.test_loader import mini_paths

TP53, BRCA1, BRCA2, MDM2 = (
    "ENSG00000141510",
    "ENSG00000012048",
    "ENSG00000139618",
    "ENSG00000135679",
)
CDKN1A, XIST, NEAT1, MIR = (
    "ENSG00000124762",
    "ENSG00000229807",
    "ENSG00000245532",
    "ENSG00000284332",
)

RUN1_EDGES = [
    {"src": XIST, "dst": TP53, "type": "predicted_regulates", "score": 0.9, "attention": 0.7},
    {"src": MDM2, "dst": TP53, "type": "predicted_regulates", "score": 0.8, "attention": 0.4},
    {"src": NEAT1, "dst": XIST, "type": "predicted_regulates", "score": 0.3, "attention": 0.2},
    {"src": TP53, "dst": CDKN1A, "type": "similar_to", "score": 0.6, "modality": "text"},
    {"src": MIR, "dst": NEAT1, "type": "similar_to", "score": 0.5, "modality": "seq"},
    {"src": BRCA1, "dst": MDM2, "type": "khop_link", "score": 0.4, "k": 2},
]
RUN2_EDGES = RUN1_EDGES[:2] + [
    {"src": BRCA2, "dst": TP53, "type": "predicted_regulates", "score": 0.7, "attention": 0.5},
    {"src": TP53, "dst": CDKN1A, "type": "similar_to", "score": 0.2, "modality": "text"},
]

#: a label run per task (cell line k562): perturbed gene -> downstream gene
LABEL_DE = [
    {"src": TP53, "dst": CDKN1A, "score": 0.8},
    {"src": TP53, "dst": MDM2, "score": 0.3},
    {"src": MDM2, "dst": TP53, "score": 0.7},
    {"src": BRCA1, "dst": TP53, "score": 0.4},
]
LABEL_DIR = [
    {"src": TP53, "dst": CDKN1A, "score": 0.9},
    {"src": BRCA1, "dst": TP53, "score": 0.2},
]


def label_edges(rows: list[dict], task: str) -> list[dict]:
    return [
        {
            **r,
            "type": "predicted_response",
            "task": task,
            "cell_line": "k562",
            "direction": None if task == "de" else ("up" if r["score"] >= 0.5 else "down"),
        }
        for r in rows
    ]


#: sample parameters of the learned_*.cypher files
SAMPLE = {
    "run": "run-1",
    "run_a": "run-1",
    "run_b": "run-2",
    "symbol": "TP53",
    "limit": 5,
    "min_score": 0.0,
    "go_id": "GO:0006281",
    "min_hits": 1,
    "cell_line": "k562",
}


def seed_learned(store) -> None:
    """On a graph holding the mini KG: priors and two complete model runs."""
    build_prior(store, GoJaccardParams(threshold=0.0))
    build_prior(store, ReactomeParams(level=2))
    write_run(store, RunInfo("run-1", "grape", seed=1, metrics={"pearson": 0.5}), RUN1_EDGES)
    write_run(store, RunInfo("run-2", "grape", seed=2), RUN2_EDGES)
    write_run(store, RunInfo("labels-de-1", "grape-labels", seed=1), label_edges(LABEL_DE, "de"))
    write_run(
        store,
        RunInfo("labels-dir-1", "grape-labels", seed=1),
        label_edges(LABEL_DIR, "direction"),
    )


@pytest.fixture
def seeded(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go", "reactome"], mini_paths(kg_fixtures))
    seed_learned(store)
    return store


def learned_files() -> list[str]:
    return [n for n in cypher.names() if n.startswith("learned_")]


def test_every_learned_file_runs_and_answers(seeded):
    names = learned_files()
    assert len(names) == 6
    for name in names:
        qf = cypher.load(name)
        assert qf.description and "Parameters:" in qf.text, name
        rows = seeded.read(qf, {p: SAMPLE[p] for p in qf.params})
        assert rows, f"{name} returned no rows"


def test_answers_are_right(seeded):
    q = lambda n, **p: seeded.read(cypher.load(n), {**SAMPLE, **p})  # noqa: E731
    regs = q("learned_top_regulators")
    assert [r["regulator"] for r in regs] == ["XIST", "MDM2"]
    assert regs[0]["relation"] == "cn" and regs[1]["relation"] == "cc"
    sup = q("learned_nc_c_reactome_support")
    assert [(r["nc_gene"], r["c_gene"]) for r in sup] == [("XIST", "TP53")]
    novel = {(r["source"], r["target"]) for r in q("learned_novel_edges")}
    assert ("MIR1302-2", "NEAT1") in novel or ("NEAT1", "MIR1302-2") in novel
    assert ("XIST", "TP53") not in novel  # explained by the shared Reactome pathway
    att = {r["relation"]: r for r in q("learned_attention_by_relation")}
    assert set(att) == {"cc", "cn", "nn"} and att["cn"]["mean_attention"] == pytest.approx(0.7)
    agree = {r["type"]: r for r in q("learned_run_agreement")}
    assert agree["PREDICTED_REGULATES"]["in_both"] == 2
    assert agree["PREDICTED_REGULATES"]["jaccard"] == pytest.approx(2 / 4)
    assert agree["SIMILAR_TO"]["jaccard"] == pytest.approx(1 / 2)
    enr = q("learned_go_enriched_neighbours")
    assert "MDM2" in {r["gene"] for r in enr}


def test_incomplete_runs_are_invisible(seeded):
    seeded.write(cy("MATCH (m:ModelRun {id: 'run-1'}) SET m.status = 'writing'"))
    for name in learned_files():
        qf = cypher.load(name)
        assert seeded.read(qf, {p: SAMPLE[p] for p in qf.params}) == [], name


@pytest.mark.parametrize(
    "hostile",
    [
        "run-1' OR 1=1 //",
        "x'}) MATCH (n) DETACH DELETE n //",
        '"; DROP CONSTRAINT gene_ensembl_id_unique;',
    ],
)
def test_hostile_parameters_are_data(seeded, hostile):
    before = seeded.read(cy("MATCH (n) RETURN count(n) AS n"))[0]["n"]
    for name in learned_files():
        qf = cypher.load(name)
        params = {p: (hostile if isinstance(SAMPLE[p], str) else SAMPLE[p]) for p in qf.params}
        assert seeded.read(qf, params) == [], name
    assert seeded.read(cy("MATCH (n) RETURN count(n) AS n"))[0]["n"] == before


def test_novel_edges_leave_out_name_stem_neighbours(seeded):
    """BRCA1-BRCA2 (same stem up to a digit) is self-evident; BRCA1-XIST is not."""
    edges = [
        {"src": BRCA1, "dst": BRCA2, "type": "similar_to", "score": 0.99, "modality": "text"},
        {"src": BRCA1, "dst": XIST, "type": "similar_to", "score": 0.5, "modality": "text"},
    ]
    write_run(seeded, RunInfo("run-3", "grape", seed=3), edges)
    rows = seeded.read(
        cypher.load("learned_novel_edges"), {"run": "run-3", "min_score": 0.0, "limit": 10}
    )
    pairs = {frozenset((r["source"], r["target"])) for r in rows}
    assert frozenset(("BRCA1", "XIST")) in pairs
    assert frozenset(("BRCA1", "BRCA2")) not in pairs


def test_nc_c_support_counts_other_coding_partners_in_the_pathway(seeded):
    """NEAT1 (nc, no pathway) linked to TP53 and MDM2: each is supported by the other when
    they share a Reactome pathway."""
    shared = seeded.read(
        cy(
            "MATCH (a:Gene {ensembl_id: $a})-[:IN_PATHWAY]->(p)<-[:IN_PATHWAY]-"
            "(b:Gene {ensembl_id: $b}) RETURN count(p) AS n"
        ),
        {"a": TP53, "b": MDM2},
    )[0]["n"]
    edges = [
        {"src": NEAT1, "dst": TP53, "type": "predicted_regulates", "score": 0.6, "attention": 0.5},
        {"src": NEAT1, "dst": MDM2, "type": "predicted_regulates", "score": 0.4, "attention": 0.3},
    ]
    write_run(seeded, RunInfo("run-4", "grape", seed=4), edges)
    rows = seeded.read(cypher.load("learned_nc_c_reactome_support"), {"run": "run-4", "limit": 10})
    got = {r["c_gene"]: r for r in rows}
    assert set(got) == {"TP53", "MDM2"}
    assert all(r["nc_gene"] == "NEAT1" and r["shared"] is False for r in rows)
    assert shared == 1  # the mini KG's Apoptosis pathway holds both
    assert got["TP53"]["partners"] == 1 and got["MDM2"]["partners"] == 1
    # DNA Repair holds TP53 but no other partner of NEAT1: it does not support the pair
    assert got["TP53"]["pathway"] == "Apoptosis"
    size = seeded.read(
        cy("MATCH (p:Pathway {name: 'Apoptosis'})<-[:IN_PATHWAY]-(g) RETURN count(g) AS n")
    )[0]["n"]
    assert got["TP53"]["pathway_genes"] == size
    assert got["TP53"]["support"] == pytest.approx(round(1 / size, 4))


def test_label_queries_answer(seeded):
    """What knocking down TP53 does in k562, and which knock-downs move TP53."""
    q = lambda n, **p: seeded.read(cypher.load(n), {**SAMPLE, **p})  # noqa: E731
    kd = q("knockdown_response")
    assert [(r["gene"], r["p_de"], r["p_up"], r["direction"]) for r in kd] == [
        ("CDKN1A", pytest.approx(0.8), pytest.approx(0.9), "up"),
        ("MDM2", pytest.approx(0.3), None, None),
    ]
    moving = q("perturbations_moving_gene")
    assert [(r["perturbation"], r["direction"]) for r in moving] == [
        ("MDM2", None),
        ("BRCA1", "down"),
    ]
    assert q("knockdown_response", cell_line="rpe1") == []
