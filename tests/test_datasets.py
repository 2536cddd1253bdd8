"""Perturbation datasets registered in the real Neo4j, and the data/evaluate commands."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grapekg.app import datasets
from grapekg.kg.build import build
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.errors import DataError
from tests.conftest import cy
from tests.synthetic_kg import load_synthetic_kg
from tests.test_cli import grape
from tests.test_loader import mini_paths


def _tiny_h5ad(path, control="ctrl", counts=False, only_one=False):
    genes = ["TP53", "BRCA1", "BRCA2", "MDM2", "CDKN1A", "XIST", "NOTINKG"]
    ids = [
        "ENSG00000141510",
        "ENSG00000012048",
        "ENSG00000139618",
        "ENSG00000135679",
        "ENSG00000124762",
        "ENSG00000229807",
        "ENSG99999999999",
    ]
    conds = (
        [control] * 6
        + ["TP53+ctrl"] * 3
        + ["BRCA1+ctrl"] * 3
        + ["BRCA1+TP53"] * 3
        + ["FOO+ctrl"] * 3
    )
    if only_one:
        conds = [control] * 6 + ["TP53+ctrl"] * 3
    rng = np.random.default_rng(0)
    x = rng.poisson(3.0, size=(len(conds), len(genes))).astype(np.float32)
    if counts:
        x[0, 0] = 500  # unmistakably raw counts
    else:
        x = np.log1p(x)
    a = ad.AnnData(
        X=sp.csr_matrix(x),
        obs=pd.DataFrame({"condition": conds}, index=[f"c{i}" for i in range(len(conds))]),
        var=pd.DataFrame({"gene_name": genes}, index=ids),
    )
    a.write_h5ad(path)
    return path


def test_import_registers_dataset(store, neo4j_settings, kg_fixtures, tmp_path):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    h5 = _tiny_h5ad(tmp_path / "tiny.h5ad")
    rep = datasets.import_h5ad(store, neo4j_settings, h5, name="tiny", progress=False)
    assert rep.n_conditions == 4 and rep.n_cells == 18 and rep.genes_in_kg == 6
    assert rep.genes_not_in_kg == ["NOTINKG"]
    assert rep.targets_not_in_kg == ["FOO"]
    q = lambda s: store.read(cy(s))[0]["n"]  # noqa: E731
    assert (
        q("MATCH (:Dataset {name:'tiny'})-[:HAS_CONDITION]->(c:Condition) RETURN count(c) AS n")
        == 5
    )
    assert (
        q("MATCH (:Condition {id:'tiny/BRCA1+TP53'})-[:TARGETS]->(g:Gene) RETURN count(g) AS n")
        == 2
    )
    assert q("MATCH (g:Gene)-[:MEASURED_IN]->(:Dataset {name:'tiny'}) RETURN count(g) AS n") == 6
    b = bundle_mod.load(rep.bundle)
    assert b.summary.conditions[0] == "ctrl" and set(b.de_rank) == {
        "TP53+ctrl",
        "BRCA1+ctrl",
        "BRCA1+TP53",
        "FOO+ctrl",
    }
    # re-import replaces, it does not duplicate
    datasets.import_h5ad(store, neo4j_settings, h5, name="tiny", progress=False)
    assert q("MATCH (c:Condition {dataset:'tiny'}) RETURN count(c) AS n") == 5
    assert q("MATCH (g:Gene)-[:MEASURED_IN]->(:Dataset {name:'tiny'}) RETURN count(g) AS n") == 6


def test_import_errors_are_clear(store, neo4j_settings, kg_fixtures, tmp_path):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    h5 = _tiny_h5ad(tmp_path / "ctl.h5ad", control="non-targeting")
    with pytest.raises(DataError, match="no control cells"):
        datasets.import_h5ad(store, neo4j_settings, h5, name="x", progress=False)
    rep = datasets.import_h5ad(
        store, neo4j_settings, h5, name="x", control=["non-targeting"], progress=False
    )
    assert rep.n_conditions == 4
    counts = _tiny_h5ad(tmp_path / "counts.h5ad", counts=True)
    with pytest.raises(DataError, match="raw counts"):
        datasets.import_h5ad(store, neo4j_settings, counts, name="c", progress=False)
    rep = datasets.import_h5ad(
        store, neo4j_settings, counts, name="c", normalise=True, progress=False
    )
    meta = json.loads((rep.bundle / "meta.json").read_text())
    assert meta["normalised_on_import"] is True
    with pytest.raises(DataError, match="pert"):
        datasets.import_h5ad(
            store, neo4j_settings, h5, name="y", pert_col="perturbation", progress=False
        )
    assert store.read(cy("MATCH (d:Dataset {name:'y'}) RETURN count(d) AS n"))[0]["n"] == 0


def test_simulate_and_evaluate_cli(store, cli_env, tmp_path):
    load_synthetic_kg(store, n_genes=300)
    out = grape(
        cli_env,
        "data",
        "simulate",
        "--genes",
        "200",
        "--conditions",
        "40",
        "--cells-per-condition",
        "20",
        "--signal",
        "random-sign",
        "--name",
        "simtest",
    ).stdout
    assert "SYNTHETIC" in out
    assert "simtest" in grape(cli_env, "data", "list").stdout
    res = tmp_path / "res"
    out = grape(
        cli_env,
        "evaluate",
        "--dataset",
        "simtest",
        "--split",
        "simulation",
        "--seeds",
        "1..2",
        "--out",
        str(res),
    ).stdout
    for m in ("no-change", "mean", "additive", "linear", "SYNTHETIC"):
        assert m in out
    summary = json.loads((res / "summary.json").read_text())
    assert summary["synthetic"] is True and summary["seeds"] == [1, 2]
    assert {"no-change", "mean", "additive", "linear"} <= set(summary["models"])
    assert summary["models"]["no-change"]["pcc_delta_mean"] == 0.0
    assert summary["models"]["mean"]["rmse_mean"] < summary["models"]["no-change"]["rmse_mean"]
    assert (res / "violins_dac_pcc_delta.png").stat().st_size > 10_000
    # a prediction file (here the truth itself, as a long table) is scored beside them
    b = bundle_mod.load(bundle_mod.dataset_dir(cli_env["GRAPE_DATA_DIR"], "simtest"))
    rows = [
        (c, g, float(v))
        for c, m in b.truth().items()
        if c != "ctrl"
        for g, v in zip(b.summary.gene_ids, m, strict=True)
    ]
    pred = tmp_path / "truth.parquet"
    pd.DataFrame(rows, columns=["condition", "gene", "value"]).to_parquet(pred)
    grape(
        cli_env,
        "evaluate",
        "--dataset",
        "simtest",
        "--seeds",
        "1",
        "--out",
        str(res),
        "--predictions",
        f"oracle={pred}",
    )
    oracle = json.loads((res / "summary.json").read_text())["models"]["oracle"]
    assert oracle["pcc_delta_mean"] == pytest.approx(1.0) and oracle["rmse_mean"] == pytest.approx(
        0.0, abs=1e-6
    )


def test_too_few_conditions_for_split_is_clear(
    store, neo4j_settings, kg_fixtures, tmp_path, cli_env
):
    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    datasets.import_h5ad(
        store,
        neo4j_settings,
        _tiny_h5ad(tmp_path / "t.h5ad", only_one=True),
        name="tiny2",
        progress=False,
    )
    for split in ("simulation", "random"):
        p = grape(
            cli_env, "evaluate", "--dataset", "tiny2", "--split", split, "--seeds", "1", check=False
        )
        assert p.returncode == 1, p.stdout
        assert "Traceback" not in p.stderr and split in p.stderr
