"""The full offline human knowledge graph (Ensembl 100, gene synonyms, GO 2019-01, Reactome
R85, STRING v12 physical, CollecTRI, PROGENy) in the real Neo4j: exact counts, idempotent
re-run, and a run killed half way then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from grapekg.kg import schema as schema_mod
from grapekg.kg.build import build
from grapekg.kg.loader import kg_counts
from tests.conftest import cy

# pinned by the SHA-256 of the source wheels in grapekg.kg.defaults
EXPECTED_LABELS = {
    "Gene": 67149,
    "GOTerm": 45013,
    "Pathway": 2629,
    "Source": 7,
    "Footprint": 14,
    "Synonym": 106796,
    "ExternalGene": 49213,
}
EXPECTED_RELS = {
    "ANNOTATED_WITH": 280098,
    "IS_A": 77189,
    "PART_OF": 7942,
    "REGULATES": 9806,
    "IN_PATHWAY": 127561,
    "CHILD_OF": 2628,
    "SYNONYM_OF": 128682,
    "INTERACTS_WITH": 39887,
    "REGULATES_EXPRESSION": 41879,
    "IN_FOOTPRINT": 6801,
}
EXPECTED_CLASSES = {"c": 22802, "nc": 44347}


def _shape(c: dict) -> tuple:
    return c["labels"], c["relationships"], c["biotype_class"]


@pytest.mark.slow
def test_full_build_idempotent_and_resumable(store, neo4j_settings, cli_env):
    sc = schema_mod.load()
    build(store, neo4j_settings)
    clean = kg_counts(store, sc)
    assert clean["labels"] == EXPECTED_LABELS
    assert clean["relationships"] == EXPECTED_RELS
    assert clean["biotype_class"] == EXPECTED_CLASSES
    stats = {s["name"]: s for s in clean["sources"]}
    assert set(stats) == {"ensembl", "synonyms", "go", "reactome", "string", "collectri", "progeny"}
    assert all(s["status"] == "complete" for s in stats.values())

    # idempotent: a second run changes no count
    build(store, neo4j_settings)
    assert _shape(kg_counts(store, sc)) == _shape(clean)

    # resumable: kill a build half way (SIGKILL), start again, get exactly the clean counts
    store.wipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "grapekg", "kg", "build"],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            n = store.read(cy("MATCH ()-[r:ANNOTATED_WITH]->() RETURN count(r) AS n"))[0]["n"]
            if n > 50_000 or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the build finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    partial = kg_counts(store, sc)
    assert 0 < partial["relationships"]["ANNOTATED_WITH"] < EXPECTED_RELS["ANNOTATED_WITH"]
    assert {s["name"]: s["status"] for s in partial["sources"]}["go"] == "loading"
    build(store, neo4j_settings)
    assert _shape(kg_counts(store, sc)) == _shape(clean)
