"""Import with guide-level labels and contexts into the real Neo4j; a failed re-import never
destroys a working dataset; the two real screens import cleanly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grapekg.app import datasets
from grapekg.app.workspace import Workspace
from grapekg.kg.build import build
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.errors import DataError
from tests.conftest import REAL_DATA, cy
from tests.test_cli import grape
from tests.test_loader import mini_paths

GENES = ["TP53", "BRCA1", "BRCA2", "MDM2", "CDKN1A", "XIST"]
IDS = [
    "ENSG00000141510",
    "ENSG00000012048",
    "ENSG00000139618",
    "ENSG00000135679",
    "ENSG00000124762",
    "ENSG00000229807",
]
REAL = REAL_DATA


def _h5(path: Path, labels: list[str], contexts: list[str] | None = None, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = np.log1p(rng.poisson(3.0, size=(len(labels), len(GENES)))).astype(np.float32)
    obs = {"perturbation": labels}
    if contexts is not None:
        obs["stim"] = contexts
    ad.AnnData(
        X=sp.csr_matrix(x),
        obs=pd.DataFrame(obs, index=[f"c{i}" for i in range(len(labels))]),
        var=pd.DataFrame({"gene_name": GENES}, index=IDS),
    ).write_h5ad(path)
    return path


def _guide_labels() -> list[str]:
    return ["control"] * 5 + ["TP53_1"] * 3 + ["TP53_2"] * 3 + ["BRCA1_1"] * 3 + ["MDM2_1"] * 3


def _count(store, text: str) -> int:
    return store.read(cy(text))[0]["n"]


def _files(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def test_contexts_and_guides(store, neo4j_settings, kg_fixtures, cli_env, tmp_path):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    labels = _guide_labels()
    h5 = _h5(
        tmp_path / "ctx.h5ad",
        labels * 2,
        ["stimulated"] * len(labels) + ["un stimulated"] * len(labels),
    )
    rep = datasets.import_h5ad(
        store,
        neo4j_settings,
        h5,
        name="scr",
        pert_col="perturbation",
        control=["control"],
        guide_pattern=r"_\d+$",
        context_col="stim",
        progress=False,
    )
    names = ["scr@stimulated", "scr@un_stimulated"]
    assert [m.name for m in rep.members] == names
    assert [m.context for m in rep.members] == ["stimulated", "un stimulated"]
    assert all(m.n_conditions == 3 for m in rep.members) and rep.n_cells == 34
    assert datasets.group_members(store, "scr") == names
    assert datasets.group_members(Workspace(neo4j_settings), "scr") == names
    assert datasets.group_members(store, "scr@stimulated") == []
    row = store.read(
        cy("MATCH (d:Dataset {name: 'scr@stimulated'}) RETURN d.group AS g, d.context AS c")
    )
    assert row == [{"g": "scr", "c": "stimulated"}]
    assert (
        _count(store, "MATCH (c:Condition {dataset: 'scr@un_stimulated'}) RETURN count(c) AS n")
        == 4
    )
    b = bundle_mod.load(Workspace(neo4j_settings).dataset_dir("scr@stimulated"))
    assert b.group == "scr" and b.context == "stimulated"
    assert b.meta["guides"]["TP53+ctrl"] == {"TP53_1": 3, "TP53_2": 3}
    keys, n, means = b.guide_table()
    assert ("TP53+ctrl", "TP53_2") in keys and means.shape == (len(keys), len(GENES))
    reports = datasets.guide_report(store, neo4j_settings, "scr")
    assert [r.name for r in reports] == names
    tp53 = next(r for r in reports[0].rows if r.condition == "TP53+ctrl")
    assert tp53.guides == ["TP53_1", "TP53_2"] and tp53.n_cells == [3, 3]
    assert np.isfinite(tp53.pearson)
    out = grape(cli_env, "data", "guides", "scr").stdout
    assert "median guide agreement over 3 targets" in out and "TP53_1" in out
    listing = grape(cli_env, "data", "list").stdout
    assert "scr@stimulated" in listing and "un stimulated" in listing
    # a dataset imported without guide labels says so in one line
    plain = _h5(tmp_path / "plain.h5ad", ["control"] * 4 + ["TP53_1"] * 3 + ["MDM2_1"] * 3)
    datasets.import_h5ad(
        store,
        neo4j_settings,
        plain,
        name="plain",
        pert_col="perturbation",
        control=["control"],
        progress=False,
    )
    proc = grape(cli_env, "data", "guides", "plain", check=False)
    assert proc.returncode != 0 and "without guide-level labels" in proc.stderr + proc.stdout
    # usage errors on the command line are one line
    proc = grape(
        cli_env,
        "data",
        "import",
        str(h5),
        "--pert-col",
        "perturbation",
        "--control",
        "control",
        "--guide-pattern",
        "_(\\d+",
        check=False,
    )
    err = (proc.stderr + proc.stdout).strip()
    assert proc.returncode == 2 and "--guide-pattern" in err and "Traceback" not in err
    # re-importing the group with one context left removes the other member
    one = _h5(tmp_path / "one.h5ad", labels, ["stimulated"] * len(labels))
    datasets.import_h5ad(
        store,
        neo4j_settings,
        one,
        name="scr",
        pert_col="perturbation",
        control=["control"],
        guide_pattern=r"_\d+$",
        context_col="stim",
        progress=False,
    )
    assert datasets.group_members(store, "scr") == ["scr@stimulated"]
    assert not Workspace(neo4j_settings).dataset_dir("scr@un_stimulated").exists()
    assert (
        _count(store, "MATCH (c:Condition {dataset: 'scr@un_stimulated'}) RETURN count(c) AS n")
        == 0
    )


def test_failed_reimport_keeps_the_working_dataset(store, neo4j_settings, kg_fixtures, tmp_path):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    labels = ["control"] * 5 + ["TP53"] * 3 + ["MDM2"] * 3 + ["BRCA1"] * 3
    good = _h5(tmp_path / "good.h5ad", labels)
    kw = {"pert_col": "perturbation", "control": ["control"], "progress": False}
    rep = datasets.import_h5ad(store, neo4j_settings, good, name="keep", **kw)
    before = _files(rep.bundle)
    q_cond = "MATCH (:Dataset {name:'keep'})-[:HAS_CONDITION]->(c:Condition) RETURN count(c) AS n"
    q_meas = "MATCH (:Gene)-[m:MEASURED_IN]->(:Dataset {name:'keep'}) RETURN count(m) AS n"
    q_node = "MATCH (d:Dataset {name:'keep'}) RETURN d.n_cells AS n"
    counts = (_count(store, q_cond), _count(store, q_meas), _count(store, q_node))
    assert counts == (4, 6, 14)
    # a 40,000-character label: Neo4j refuses to index the Condition id, the transaction fails
    bad = _h5(tmp_path / "bad.h5ad", labels[:-3] + ["B" * 40_000] * 4, seed=1)
    with pytest.raises(DataError) as err:
        datasets.import_h5ad(store, neo4j_settings, bad, name="keep", **kw)
    msg = str(err.value)
    assert "nothing was changed" in msg and "\n" not in msg and len(msg) < 700
    assert _files(rep.bundle) == before
    assert (_count(store, q_cond), _count(store, q_meas), _count(store, q_node)) == counts
    leftovers = sorted(p.name for p in rep.bundle.parent.iterdir() if p.name.startswith("keep"))
    assert leftovers == ["keep"]
    print(msg)


def _real_kg(store, settings):
    build(store, settings, ["ensembl", "synonyms"], {})


def test_real_screens_import(store, neo4j_settings, cli_env, real_data):
    """The two real screens of ../shared/data/real (CI has them: never skipped)."""
    _real_kg(store, neo4j_settings)
    out = grape(
        cli_env,
        "data",
        "import",
        str(REAL / "papalexi2021_thp1_eccite.h5ad"),
        "--name",
        "papalexi",
        "--pert-col",
        "target",
        "--guide-col",
        "grna",
        "--control",
        "non-targeting",
        "--normalise",
    ).stdout
    print(out)
    assert "dataset papalexi" in out and "guides:" in out
    out = grape(
        cli_env,
        "data",
        "import",
        str(REAL / "datlingerbock2021_jurkat_scifi.h5ad"),
        "--name",
        "datlingerbock",
        "--pert-col",
        "perturbation",
        "--control",
        "control",
        "--guide-pattern",
        r"_\d+$",
        "--context-col",
        "perturbation_2",
        "--normalise",
    ).stdout
    print(out)
    assert datasets.group_members(store, "datlingerbock") == [
        "datlingerbock@stimulated",
        "datlingerbock@unstimulated",
    ]
    for member in ("stimulated", "unstimulated"):
        rows = store.read(
            cy("MATCH (d:Dataset {name: $n}) RETURN d.n_conditions AS n, d.context AS c"),
            {"n": f"datlingerbock@{member}"},
        )
        assert rows == [{"n": 20, "c": member}]
    print(grape(cli_env, "data", "guides", "datlingerbock").stdout)
    print(grape(cli_env, "data", "guides", "papalexi").stdout)
