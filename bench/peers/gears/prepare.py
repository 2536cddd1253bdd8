"""Write everything GEARS needs for one grape dataset, from grape's own files and the KG.

Runs in grape-kg's environment (never imports GEARS). For dataset D (a bundle under
``$GRAPE_DATA_DIR/datasets/D/``, its cells in the bundle's source .h5ad) it writes to OUT:

* ``gears_data/gene2go_all.pkl``: ``dict[symbol -> set[GO id]]`` for every gene D measures
  and every gene its conditions target, read from the KG with ``go_inputs.cypher``;
* ``gears_data/essential_all_data_pert_genes.pkl``: the list of those symbols (GEARS's
  perturbation-graph vocabulary; with our own list the "default" graph is the dataset's);
* ``gears_data/go_essential_all/go_essential_all.csv``: ``source,target,importance`` with
  importance = Jaccard(GO(source), GO(target)), kept when > 0.1, the self pair (1.0) plus the
  20 largest per target (GEARS ``get_similarity_network`` keeps top k+1 per target, k = 20);
* ``adata.h5ad``: D's cells in GEARS format (obs condition = grape's canonical string
  ``A+ctrl`` / ``A+B`` / ``ctrl``, obs cell_type, var index = the bundle's gene ids,
  var gene_name = its symbols, X = the log-normalised values grape summarised, CSR float32);
* ``splits/seed<S>.pkl`` (+ ``.json``): ``{'train', 'val', 'test'}`` condition lists of
  ``grapekg.perturb.splits.make_split(SPLIT, conditions, seed=S)``, for GEARS's custom split.

    python bench/peers/gears/prepare.py --dataset D --split simulation --seeds 1..3 --out DIR

The pickles are files we write for GEARS (it requires pickles); nothing here reads one.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, normalise_condition, parse_condition
from grapekg.perturb.splits import make_split
from grapekg.perturb.summaries import normalise_log1p
from grapekg.settings import Settings

HERE = Path(__file__).resolve().parent
JACCARD_MIN = 0.1  # GEARS: edges with Jaccard > 0.1
TOP_K = 20  # GEARS: num_similar_genes_go_graph


def read_go_rows(dataset: str, namespace: str | None = None) -> list[dict]:
    """GO term ids per gene of ``dataset`` from the KG (``go_inputs.cypher``).

    The one place that talks to Neo4j: rows ``{ensembl_id, symbol, position, go_ids}``.
    """
    from grapekg.cypher import CypherFile
    from grapekg.kg.store import Store

    text = (HERE / "go_inputs.cypher").read_text()
    query = CypherFile("gears_go_inputs", text, "GO ids per gene for GEARS", kind="internal")
    with Store.connect(Settings.load()) as store:
        return store.read(query, {"dataset": dataset, "namespace": namespace})


def parse_seeds(text: str) -> list[int]:
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",") if x]


def go_sets(rows: list[dict], bundle: bundle_mod.Bundle) -> tuple[dict[str, set[str]], dict]:
    """symbol (as the dataset writes it) -> set of GO ids; measured genes by var position,
    unmeasured targets by their KG symbol (grape resolved them by that symbol)."""
    names = [str(s) for s in bundle.summary.gene_names]
    gene2go: dict[str, set[str]] = {}
    for r in rows:
        sym = names[int(r["position"])] if r["position"] is not None else str(r["symbol"])
        gene2go.setdefault(sym, set()).update(str(t) for t in r["go_ids"])
    targets = sorted({g for c in bundle.summary.perturbations for g in parse_condition(c)})
    no_go = [t for t in targets if not gene2go.get(t)]
    for t in targets:  # a target without GO terms stays perturbable (an isolated GO node)
        gene2go.setdefault(t, set())
    info = {
        "genes": len(gene2go),
        "genes_with_go": sum(bool(v) for v in gene2go.values()),
        "targets": len(targets),
        "targets_without_go": no_go,
        "go_terms": len(set().union(*gene2go.values())) if gene2go else 0,
    }
    return gene2go, info


def go_jaccard(gene2go: dict[str, set[str]]) -> pd.DataFrame:
    """All pairs with Jaccard > 0.1 (sparse products), self pair 1.0, top 21 per target."""
    genes = sorted(gene2go)
    terms = sorted(set().union(*gene2go.values()))
    tix = {t: i for i, t in enumerate(terms)}
    rows, cols = [], []
    for i, g in enumerate(genes):
        for t in gene2go[g]:
            rows.append(i)
            cols.append(tix[t])
    a = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(genes), len(terms)))
    size = np.asarray(a.sum(axis=1)).ravel()
    inter = (a @ a.T).tocoo()
    union = size[inter.row] + size[inter.col] - inter.data
    w = inter.data / union
    keep = (w > JACCARD_MIN) & (inter.row != inter.col)
    df = pd.DataFrame(
        {
            "source": np.array(genes, dtype=object)[inter.row[keep]],
            "target": np.array(genes, dtype=object)[inter.col[keep]],
            "importance": w[keep],
        }
    )
    df = (
        df.sort_values(["target", "importance", "source"], ascending=[True, False, True])
        .groupby("target", sort=False)
        .head(TOP_K)
    )
    self_loops = pd.DataFrame({"source": genes, "target": genes, "importance": 1.0})
    return (
        pd.concat([self_loops, df], ignore_index=True)
        .sort_values(["target", "importance"], ascending=[True, False], kind="stable")
        .reset_index(drop=True)
    )


def write_go_inputs(bundle: bundle_mod.Bundle, out: Path) -> dict:
    rows = read_go_rows(bundle.name)
    gene2go, info = go_sets(rows, bundle)
    gdir = out / "gears_data"
    (gdir / "go_essential_all").mkdir(parents=True, exist_ok=True)
    with open(gdir / "gene2go_all.pkl", "wb") as f:
        pickle.dump(gene2go, f)
    with open(gdir / "essential_all_data_pert_genes.pkl", "wb") as f:
        pickle.dump(sorted(gene2go), f)
    edges = go_jaccard(gene2go)
    edges.to_csv(gdir / "go_essential_all" / "go_essential_all.csv", index=False)
    info["go_edges"] = int(len(edges))
    return info


def convert_cells(bundle: bundle_mod.Bundle, out: Path) -> dict:
    """The dataset's cells in GEARS format, with exactly the values grape summarised."""
    import anndata as ad

    meta = bundle.meta
    src = ad.read_h5ad(meta["source_file"])
    x = sp.csr_matrix(src.X)
    if meta.get("normalised_on_import"):
        x = normalise_log1p(x)
    labels = src.obs[meta.get("pert_col", "condition")].astype(str).to_numpy()
    canon = {
        raw: normalise_condition(
            raw, control_labels=meta.get("control", [CONTROL]), sep=meta.get("sep", "+")
        )
        for raw in np.unique(labels)
    }
    cond = np.array([canon[v] for v in labels], dtype=object)
    known = set(bundle.summary.conditions)
    keep = np.isin(cond, list(known))
    ids = [str(g) for g in bundle.summary.gene_ids]
    if [str(v) for v in src.var_names] != ids:
        raise SystemExit(f"{meta['source_file']}: var order differs from the bundle's")
    cell_type = (
        str(src.obs["cell_type"].iloc[0])
        if "cell_type" in src.obs
        else str(meta.get("cell_type", "cells"))
    )
    obs = pd.DataFrame(
        {"condition": cond[keep], "cell_type": cell_type},
        index=[f"c{i}" for i in np.flatnonzero(keep)],
    )
    var = pd.DataFrame(
        {"gene_name": [str(s) for s in bundle.summary.gene_names]}, index=pd.Index(ids, name=None)
    )
    a = ad.AnnData(X=x[keep].astype(np.float32), obs=obs, var=var)
    a.write_h5ad(out / "adata.h5ad")
    return {
        "cells": int(a.n_obs),
        "genes": int(a.n_vars),
        "conditions": int(len(set(cond[keep]))),
        "cell_type": cell_type,
    }


def write_splits(bundle: bundle_mod.Bundle, split: str, seeds: list[int], out: Path) -> dict:
    sdir = out / "splits"
    sdir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for s in seeds:
        sp_ = make_split(split, bundle.summary.conditions, seed=s)
        d = {"train": list(sp_.train), "val": list(sp_.val), "test": list(sp_.test)}
        with open(sdir / f"seed{s}.pkl", "wb") as f:
            pickle.dump(d, f)
        sp_.to_json(sdir / f"seed{s}.json")
        sizes[s] = {k: len(v) for k, v in d.items()}
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", default="simulation")
    p.add_argument("--seeds", default="1..3")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    s = Settings.load()
    b = bundle_mod.load(bundle_mod.dataset_dir(s.data_dir, a.dataset))
    a.out.mkdir(parents=True, exist_ok=True)
    info = {
        "dataset": a.dataset,
        "synthetic": b.synthetic,
        "split": a.split,
        "go": write_go_inputs(b, a.out),
        "cells": convert_cells(b, a.out),
        "splits": write_splits(b, a.split, parse_seeds(a.seeds), a.out),
    }
    info["seconds"] = round(time.perf_counter() - t0, 1)
    (a.out / "prepare.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
