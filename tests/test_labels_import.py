"""``grape labels import``: counts and symbol resolution, the file's split kept, the seeded
validation carve, one-line errors with line numbers, nothing half-registered on failure.
Tables are the SYNTHETIC fixtures of tests/fixtures/labels/ (or written here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from grapekg.app import labels as labels_flow
from grapekg.cli.labels import app as labels_app
from grapekg.errors import GrapeError
from grapekg.kg import label_datasets as kg_labels
from grapekg.kg.build import build
from grapekg.perturb.errors import DataError
from grapekg.perturb.labels import carve_validation, read_label_table
from tests.conftest import FIXTURES, cy
from tests.test_loader import mini_paths

LABELS = FIXTURES / "labels"
HEADER = "pert,gene,label,split\n"


def _write(tmp_path: Path, body: str, name: str = "t.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body)
    return p


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A,x,1,train\nB,x,2,train\n", "line 3: label '2' is not 0 or 1"),
        ("A,x,1,train\nB,x,1,val\n", "line 3: split 'val' is not train or test"),
        ("A,x,1,train\nA,y,0,train\nA,x,0,train\n", "line 4: pair ('A', 'x') repeats line 2"),
        (
            "A,x,1,train\nB,x,0,test\nA,y,1,test\n",
            "line 4: perturbation 'A' is in test here and in train on line 2",
        ),
        ("A,x,1,train\n,x,1,train\n", "line 3: empty perturbation"),
        ("A,x,1,train\nB,x,1\n", "line 3: 3 fields, the header has 4"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path, body, message):
    path = _write(tmp_path, body)
    with pytest.raises(DataError) as err:
        read_label_table(path)
    text = str(err.value)
    assert str(path) in text and message in text and "\n" not in text


def test_missing_column_and_positive_value(tmp_path):
    with pytest.raises(DataError, match=r"--pert-col: line 1: no column .pert. in the header"):
        read_label_table(LABELS / "synthetic_direction.tsv")
    t = read_label_table(
        LABELS / "synthetic_direction.tsv",
        pert_col="target",
        gene_col="readout",
        label_col="dir",
        split_col="fold",
        positive="up",
    )
    assert t.pairs["label"].tolist() == [1, 0, 1, 0, 1]
    three = tmp_path / "three.csv"
    three.write_text(HEADER + "A,x,up,train\nB,x,down,train\nC,x,flat,train\n")
    with pytest.raises(DataError, match="line 4: label 'flat' is a third value"):
        read_label_table(three, positive="up")


def test_validation_carve_is_seeded_disjoint_and_from_train_only():
    rows = [
        (f"P{i}", f"G{j}", (i + j) % 2, "test" if i >= 40 else "train")
        for i in range(50)
        for j in range(3)
    ]
    pairs = pd.DataFrame(rows, columns=["pert", "gene", "label", "split"])
    a = carve_validation(pairs, 0.1, seed=1)
    b = carve_validation(pairs, 0.1, seed=1)
    c = carve_validation(pairs, 0.1, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    val_perts = set(pairs.loc[a, "pert"])
    assert len(val_perts) == 4  # round(0.1 * 40)
    assert (pairs.loc[a, "split"] == "train").all()
    # every pair of a validation perturbation is validation: fit and val perturbations disjoint
    assert val_perts.isdisjoint(set(pairs.loc[~a & (pairs["split"] == "train"), "pert"]))
    assert not carve_validation(pairs, 0.0, seed=1).any()


def _kg(store, neo4j_settings, kg_fixtures):
    build(store, neo4j_settings, ["ensembl", "go"], mini_paths(kg_fixtures))


def test_import_registers_counts_split_and_val(store, neo4j_settings, kg_fixtures):
    _kg(store, neo4j_settings, kg_fixtures)
    rep = labels_flow.import_labels(
        store,
        neo4j_settings,
        LABELS / "synthetic_de.csv",
        name="syn-de",
        task="de",
        cell_line="K562",
        val_fraction=0.25,
        seed=3,
        synthetic=True,
    )
    assert rep.n_pairs == 14 and rep.n_positive == 7
    assert rep.perturbations == {"train": 5, "val": 1, "test": 2}
    assert rep.pairs["train"] == 10 and rep.pairs["test"] == 4 and rep.pairs["val"] == 2
    # perturbations: 7 names, NOTAGENE1 unknown; genes: NEAT1 XIST MIR1302-2 NOTAGENE2
    assert "perturbations: 6 of 7 resolve" in rep.pert_line
    assert "downstream genes: 3 of 4 resolve" in rep.gene_line
    assert rep.perts_unmapped == ["NOTAGENE1"] and rep.genes_unmapped == ["NOTAGENE2"]

    ds = labels_flow.load_labels(neo4j_settings, "syn-de")
    src = pd.read_csv(LABELS / "synthetic_de.csv")
    assert ds.pairs["split"].tolist() == src["split"].tolist()  # the file's split, unchanged
    assert ds.pairs["label"].tolist() == src["label"].tolist()
    assert ds.pairs.loc[ds.pairs["pert"] == "TP53", "pert_id"].iloc[0] == "ENSG00000141510"
    assert set(ds.part("val")["pert"]).isdisjoint(set(ds.part("fit")["pert"]))
    assert set(ds.part("val")["pert"]) <= set(ds.part("train")["pert"])
    assert ds.meta["task"] == "de" and ds.meta["cell_line"] == "K562"

    node = store.read(
        cy(
            "MATCH (d:Dataset {name: 'syn-de'}) RETURN d.kind AS kind, d.task AS task, "
            "d.cell_line AS cell, d.modality AS modality, d.n_pairs AS n, "
            "d.n_conditions AS perts, d.synthetic AS syn"
        )
    )[0]
    assert node == {
        "kind": "labels",
        "task": "de",
        "cell": "K562",
        "modality": "knockdown",
        "n": 14,
        "perts": 7,
        "syn": True,
    }
    targets = store.read(
        cy(
            "MATCH (:Dataset {name: 'syn-de'})-[:HAS_CONDITION]->(c:Condition) "
            "OPTIONAL MATCH (c)-[:TARGETS]->(g:Gene) RETURN c.name AS c, g.symbol AS g ORDER BY c"
        )
    )
    assert len(targets) == 7
    assert {r["c"]: r["g"] for r in targets}["NOTAGENE1"] is None
    assert {r["c"]: r["g"] for r in targets}["MDM2"] == "MDM2"
    measured = store.read(
        cy(
            "MATCH (g:Gene)-[:MEASURED_IN]->(:Dataset {name: 'syn-de'}) "
            "RETURN g.symbol AS s ORDER BY s"
        )
    )
    assert [r["s"] for r in measured] == ["MIR1302-2", "NEAT1", "XIST"]
    assert kg_labels.dataset_kind(store, "syn-de") == "labels"


def _snapshot(store):
    return store.read(
        cy(
            "MATCH (d:Dataset)-[:HAS_CONDITION]->(c:Condition) "
            "RETURN d.name AS d, d.n_pairs AS n, collect(c.name) AS cs ORDER BY d"
        )
    )


def test_nothing_half_registered_on_failure(
    store, neo4j_settings, kg_fixtures, tmp_path, monkeypatch
):
    _kg(store, neo4j_settings, kg_fixtures)
    folder = neo4j_settings.data_dir / "datasets"
    # a bad row: nothing at all is written
    bad = _write(tmp_path, "TP53,NEAT1,1,train\nBRCA1,NEAT1,yes,train\n")
    with pytest.raises(DataError, match="line 3"):
        labels_flow.import_labels(
            store, neo4j_settings, bad, name="syn-x", task="de", cell_line="K562"
        )
    assert kg_labels.dataset_kind(store, "syn-x") == kg_labels.ABSENT
    assert not (folder / "syn-x").exists()

    labels_flow.import_labels(
        store,
        neo4j_settings,
        LABELS / "synthetic_de.csv",
        name="syn-de",
        task="de",
        cell_line="K562",
    )
    before = _snapshot(store)
    pairs_before = labels_flow.load_labels(neo4j_settings, "syn-de").pairs

    # the KG registration of a re-import fails: old bundle and old registration stay
    def boom(*_a, **_k):
        raise GrapeError("write failed: server gone")

    monkeypatch.setattr(kg_labels, "register", boom)
    smaller = _write(tmp_path, "TP53,NEAT1,1,train\nCDKN1A,XIST,0,test\n")
    with pytest.raises(DataError, match="nothing was changed"):
        labels_flow.import_labels(
            store, neo4j_settings, smaller, name="syn-de", task="de", cell_line="K562"
        )
    monkeypatch.undo()
    assert _snapshot(store) == before
    assert labels_flow.load_labels(neo4j_settings, "syn-de").pairs.equals(pairs_before)
    assert not [p for p in folder.iterdir() if "staging" in p.name]

    # a transaction that fails inside Neo4j is rolled back whole (real server)
    monkeypatch.setattr(kg_labels.cypher, "internal", _failing_measured(kg_labels.cypher.internal))
    with pytest.raises(DataError, match="nothing was changed"):
        labels_flow.import_labels(
            store, neo4j_settings, smaller, name="syn-de", task="de", cell_line="K562"
        )
    monkeypatch.undo()
    assert _snapshot(store) == before
    assert labels_flow.load_labels(neo4j_settings, "syn-de").pairs.equals(pairs_before)


def _failing_measured(real):
    """cypher.internal, except the last step of a registration: a statement that fails in
    the server after the earlier steps of the same transaction ran."""

    def pick(name):
        if name == "dataset_measured":
            return cy("UNWIND $rows AS row RETURN 1 / 0 AS x")
        return real(name)

    return pick


def test_expression_dataset_name_is_refused(store, neo4j_settings, kg_fixtures):
    _kg(store, neo4j_settings, kg_fixtures)
    store.write(cy("CREATE (:Dataset {name: $name})"), {"name": "expr"})
    with pytest.raises(DataError, match="--name: expr is an expression dataset"):
        labels_flow.import_labels(
            store,
            neo4j_settings,
            LABELS / "synthetic_de.csv",
            name="expr",
            task="de",
            cell_line="K562",
        )


def test_cli_import_prints_counts_and_refuses_bad_options(
    store, neo4j_settings, kg_fixtures, cli_env
):
    _kg(store, neo4j_settings, kg_fixtures)
    runner = CliRunner()
    args = [
        "import",
        str(LABELS / "synthetic_direction.tsv"),
        "--name",
        "syn-dir",
        "--task",
        "direction",
        "--cell-line",
        "RPE1",
        "--pert-col",
        "target",
        "--gene-col",
        "readout",
        "--label-col",
        "dir",
        "--split-col",
        "fold",
        "--positive",
        "up",
        "--synthetic",
    ]
    res = runner.invoke(labels_app, args, env=cli_env)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert (
        "label dataset syn-dir (SYNTHETIC) (direction, RPE1, knockdown): 5 pairs (3 positive)"
        in out
    )
    assert "perturbations: 5 of 5 resolve" in out
    listed = runner.invoke(labels_app, ["list"], env=cli_env)
    assert listed.exit_code == 0 and "syn-dir (SYNTHETIC)" in listed.output
    bad = runner.invoke(labels_app, [*args[:4], "--task", "dex", *args[6:]], env=cli_env)
    assert bad.exit_code != 0
    assert "--task 'dex': choose from de, direction" in str(bad.exception)
