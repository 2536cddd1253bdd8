"""``grape predict``: a trained run's predicted mean expression after knocking down genes
(singles, doubles, genes never perturbed in training), as a table of the largest changes or
written as .h5ad, .csv or .parquet. Dispatches on the run's model: GRAPE (default) or BioDSNN
(``model.json`` in the run folder; :mod:`grapekg.model.biodsnn.train`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.app.workspace import Workspace
from grapekg.errors import ConfigError, GrapeError, cut
from grapekg.kg.store import Store
from grapekg.model.grape.graph import GeneGraph
from grapekg.model.grape.train import load_graph, load_model, predict_with
from grapekg.perturb.conditions import CONTROL, normalise_condition
from grapekg.settings import Settings

__all__ = [
    "Change",
    "Prediction",
    "biodsnn_summary",
    "predict_run",
    "top_changes",
    "write_predictions",
]


@dataclass
class Prediction:
    """Predicted profiles of one run: ``values[c]`` is ``[G]`` in the order of ``gene_ids``."""

    run_dir: Path
    conditions: list[str]
    gene_ids: list[str]
    symbols: dict[str, str]
    ctrl: np.ndarray
    values: dict[str, np.ndarray]

    def matrix(self) -> np.ndarray:
        return np.stack([self.values[c] for c in self.conditions])


@dataclass
class Change:
    gene: str
    symbol: str
    control: float
    predicted: float
    delta: float


def _compute_text(
    store: Store, settings: Settings, missing: list[str], ids: list[str]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Text features of the few genes added at predict time that lack one, computed now
    with the default text model (as ``grape features compute --modality text``)."""
    import tempfile

    from grapekg.app.features import FeatureOptions, compute_features
    from grapekg.app.train import MissingTextError, read_features

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "genes.txt"
        f.write_text("\n".join(missing) + "\n")
        compute_features(store, settings, FeatureOptions(modality="text", genes=str(f)))
    try:
        return read_features(store, ids)
    except MissingTextError as exc:
        raise ConfigError(
            f"--perturb: {', '.join(exc.missing[:3])} has no text feature: run 'grape "
            "features compute --modality text --genes FILE' with its id"
        ) from None


def _kg_additions(
    store: Store,
    settings: Settings,
    graph: GeneGraph,
    names: list[str],
    edges: str,
    run_info: dict[str, object],
) -> tuple[GeneGraph, dict[str, str]]:
    """Resolve names outside the graph through the identity routes and add those genes to
    the graph with their KG features and the prior edges between them and the graph's KG
    genes. Returns (graph, name -> gene id). ConfigError (one line) for unknown names."""
    from grapekg.app.train import MissingTextError, read_features
    from grapekg.kg.export import formats
    from grapekg.kg.export.reader import export_graph
    from grapekg.kg.identity import GeneResolver
    from grapekg.kg.loader import gene_index_from_store

    resolver = GeneResolver.from_store(store, gene_index_from_store(store))
    found: dict[str, str] = {}
    unknown = []
    for n in names:
        r = resolver.resolve(n)
        if r.resolved:
            found[n] = str(r.ensembl_id)
        else:
            unknown.append(
                n + (f" (ambiguous: {', '.join(r.candidates[:3])})" if r.candidates else "")
            )
    if unknown:
        raise ConfigError(cut(f"--perturb: no gene of the KG is named {', '.join(unknown)}"))
    new_ids = sorted({i for i in found.values() if i not in graph})
    if not new_ids:
        return graph, found
    graph_info = run_info.get("graph") if isinstance(run_info.get("graph"), dict) else {}
    absent = set(graph_info.get("not_in_kg", []))  # type: ignore[union-attr]
    kg_ids = [g for g in graph.gene_ids if g not in absent]
    hg = export_graph(store, kg_ids + new_ids, edges)
    data = formats.to_pyg(hg)
    rows = []
    for t in ("c", "nc"):
        if t in data.node_types:
            rows += [(e, s, t) for e, s in zip(data[t].ensembl_id, data[t].symbol, strict=True)]
    nodes = pd.DataFrame(rows, columns=["ensembl_id", "symbol", "biotype_class"])
    add = nodes[nodes["ensembl_id"].isin(new_ids)].reset_index(drop=True)
    ids = add["ensembl_id"].tolist()
    try:
        text, dna, mask = read_features(store, ids)
    except MissingTextError as exc:
        text, dna, mask = _compute_text(store, settings, exc.missing, ids)
    if graph.text is not None and text.shape[1] != graph.text.shape[1]:
        raise ConfigError(
            f"--perturb: the KG's text features have {text.shape[1]} dimensions, the run's "
            f"{graph.text.shape[1]}: compute them with the run's model (grape features compute)"
        )
    if graph.dna is not None and (dna is None or dna.shape[1] != graph.dna.shape[1]):
        dna, mask = None, None
    order = {t: [str(x) for x in data[t].ensembl_id] for t in ("c", "nc") if t in data.node_types}
    pairs = []
    for et in data.edge_types:
        if et[0] in order and et[2] in order:
            ei = data[et].edge_index
            pairs += [(order[et[0]][int(a)], order[et[2]][int(b)]) for a, b in ei.t().tolist()]
    new = set(ids)
    edges_df = pd.DataFrame(
        [(a, b) for a, b in pairs if a in new or b in new], columns=["src", "dst"]
    )
    bigger = graph.extended(
        add,
        text=text if graph.text is not None else None,
        dna=dna,
        dna_mask=mask,
        edges=edges_df,
        aliases={n: i for n, i in found.items()},
    )
    return bigger, found


def predict_run(
    ws: Workspace,
    run: str,
    perturb: Sequence[str],
    open_store: Callable[[], AbstractContextManager[Store]] | None = None,
) -> Prediction:
    """Load the run (an id, a folder, ``@latest`` or a pattern: the newest complete match in
    the graph, :func:`grapekg.app.runs.resolve_run`; a failed run is refused) and predict
    each condition (``A`` or ``A+B``; symbols, previous symbols, aliases or Ensembl ids). A gene
    outside the run's graph is read from the KG (``open_store``) with its features and prior
    edges and added to the graph: the GAT layers are inductive (Eq. 11), so its knock-down
    reaches the measured genes through those edges."""
    from grapekg.app.runs import resolve_run

    run_dir = resolve_run(ws, run, open_store=open_store)
    if not (run_dir / "config.json").exists():
        raise ConfigError(f"--run '{run}': no run folder at {run_dir}")
    from grapekg.model.biodsnn.train import is_biodsnn_run

    if is_biodsnn_run(run_dir):
        return _predict_biodsnn(run_dir, perturb, open_store)
    meta = json.loads((run_dir / "meta.json").read_text())
    info_file = run_dir / "run.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    graph = load_graph(run_dir)
    parsed = []
    for p in perturb:
        genes = [g.strip() for g in str(p).split("+") if g.strip() and g.strip() != CONTROL]
        if not genes:
            raise ConfigError(f"--perturb {cut(str(p))!r}: name one gene or A+B")
        parsed.append(genes)
    outside = sorted({g for gs in parsed for g in gs if g not in graph})
    ids: dict[str, str] = {}
    if outside:
        if open_store is None:
            raise ConfigError(
                f"--perturb: gene(s) not in the run's graph: {cut(', '.join(outside))}"
            )
        edges = str((info.get("graph") or {}).get("edges", "go,reactome"))
        with open_store() as store:
            graph, ids = _kg_additions(store, ws.settings, graph, outside, edges, info)
    model, graph = load_model(run_dir, graph=graph if outside else None)
    conds = [normalise_condition("+".join(gs) if len(gs) > 1 else f"{gs[0]}+ctrl") for gs in parsed]
    index = [[graph.index_of(ids.get(g, g)) for g in gs] for gs in parsed]
    pred = predict_with(model, index)
    return Prediction(
        run_dir,
        conds,
        [str(g) for g in meta["gene_ids"]],
        {
            **dict(zip(graph.gene_ids, graph.symbols, strict=True)),
            **dict(zip(meta["gene_ids"], meta.get("gene_names", meta["gene_ids"]), strict=True)),
        },
        np.load(run_dir / "ctrl.npy"),
        {c: pred[i] for i, c in enumerate(conds)},
    )


def _predict_biodsnn(
    run_dir: Path,
    perturb: Sequence[str],
    open_store: Callable[[], AbstractContextManager[Store]] | None,
) -> Prediction:
    """BioDSNN's prediction: its perturbation embeddings cover the run's nodes (measured genes
    and the dataset's targets), so a gene is named by symbol, id or, through the KG's identity
    routes (``open_store``), a previous symbol or alias of one of those nodes; a gene outside
    them is a one-line ConfigError (the embedding table is not inductive, unlike GRAPE's GAT)."""
    from grapekg.model.biodsnn.train import load_model as load_bio
    from grapekg.model.biodsnn.train import predict_with as predict_bio

    meta = json.loads((run_dir / "meta.json").read_text())
    model, data = load_bio(run_dir)
    parsed = []
    for p in perturb:
        genes = [g.strip() for g in str(p).split("+") if g.strip() and g.strip() != CONTROL]
        if not genes:
            raise ConfigError(f"--perturb {cut(str(p))!r}: name one gene or A+B")
        parsed.append(genes)
    outside = sorted({g for gs in parsed for g in gs if g not in data.aliases})
    ids: dict[str, str] = {}
    if outside and open_store is not None:
        from grapekg.kg.identity import GeneResolver
        from grapekg.kg.loader import gene_index_from_store

        with open_store() as store:
            resolver = GeneResolver.from_store(store, gene_index_from_store(store))
            for g in outside:
                r = resolver.resolve(g)
                if r.resolved and str(r.ensembl_id) in data.aliases:
                    ids[g] = str(r.ensembl_id)
    missing = [g for g in outside if g not in ids]
    if missing:
        raise ConfigError(
            cut(
                f"--perturb: {', '.join(missing)} is not a gene of this BioDSNN run (its "
                "perturbation embeddings cover the dataset's measured genes and targets only)"
            )
        )
    conds = [normalise_condition("+".join(gs) if len(gs) > 1 else f"{gs[0]}+ctrl") for gs in parsed]
    index = [[data.index(ids.get(g, g)) for g in gs] for gs in parsed]
    pred = predict_bio(model, index)
    gene_ids = [str(g) for g in meta["gene_ids"]]
    return Prediction(
        run_dir,
        conds,
        gene_ids,
        dict(zip(gene_ids, meta.get("gene_names", gene_ids), strict=True)),
        np.load(run_dir / "ctrl.npy"),
        {c: pred[i] for i, c in enumerate(conds)},
    )


def biodsnn_summary(ws: Workspace, run: str) -> dict[str, object] | None:
    """What ``grape report`` shows for a BioDSNN run (None for another model's run)."""
    from grapekg.app.runs import resolve_run
    from grapekg.model.biodsnn.train import is_biodsnn_run

    run_dir = resolve_run(ws, run)
    if not is_biodsnn_run(run_dir):
        return None
    meta = json.loads((run_dir / "meta.json").read_text())
    info_file = run_dir / "run.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    graph = info.get("graph") or {}
    hist = meta.get("history") or []
    return {
        "run": run_dir.name,
        "dataset": info.get("dataset", "?"),
        "split / seed": f"{info.get('split', '?')} / {info.get('seed', '?')}",
        "synthetic": bool(info.get("synthetic")),
        "best epoch": meta.get("best_epoch"),
        "validation mse_de (best)": f"{meta.get('best_val_mse_de', float('nan')):.5f}",
        "epochs run": len(hist),
        "train loss first -> last": (
            f"{hist[0]['loss']:.4f} -> {hist[-1]['loss']:.4f}" if hist else "n/a"
        ),
        "co-expression from": f"{graph.get('coexpression')} ({graph.get('coexpression_samples')})",
        "mask edges": graph.get("mask_edges"),
        "GO-Jaccard edges": graph.get("go_edges"),
        "snapshot": str(info.get("snapshot_id", ""))[:12],
        "results": str(results_of(ws, info)),
    }


def results_of(ws: Workspace, info: dict[str, object]) -> Path:
    """The results folder of a run's dataset and split, from its ``run.json``: the split's
    recorded identity (``split_id``), else its spec (a built-in name, or a file still there),
    else the folder named as the spec's last part (runs recorded before split ids)."""
    dataset = str(info.get("dataset", "?"))
    split = str(info.get("split_id") or info.get("split") or "?")
    try:
        return ws.results_dir(dataset, split)
    except GrapeError:
        return ws.data_dir / "results" / dataset / Path(split).stem


def top_changes(pred: Prediction, condition: str, top: int) -> list[Change]:
    """The ``top`` genes with the largest predicted |change| from control."""
    p = pred.values[condition]
    d = p - pred.ctrl
    ids = pred.gene_ids
    return [
        Change(ids[i], pred.symbols.get(ids[i], ""), float(pred.ctrl[i]), float(p[i]), float(d[i]))
        for i in np.argsort(-np.abs(d))[:top]
    ]


def write_predictions(pred: Prediction, out: Path) -> None:
    """``.h5ad`` (conditions x genes, ``var['gene_name']``), else a wide table with a
    ``condition`` column: ``.parquet``, or CSV for any other suffix."""
    mat = pred.matrix()
    ids, conds = pred.gene_ids, pred.conditions
    if out.suffix == ".h5ad":
        import anndata as ad

        a = ad.AnnData(
            X=mat.astype(np.float32),
            obs=pd.DataFrame({"condition": conds}, index=conds),
            var=pd.DataFrame({"gene_name": [pred.symbols.get(i, "") for i in ids]}, index=ids),
        )
        a.uns["grapekg"] = {"run": pred.run_dir.name, "kind": "predicted condition means"}
        a.write_h5ad(out)
        return
    wide = pd.DataFrame(mat, columns=ids)
    wide.insert(0, "condition", conds)
    if out.suffix == ".parquet":
        wide.to_parquet(out, index=False)
    else:
        wide.to_csv(out, index=False)
