"""Evaluation of a dataset's split over seeds (``grape evaluate``, and the last step of
``grape train``): the six baselines (no-change, mean, additive, linear, linear-kg,
kg-retrieval) and any prediction files scored with :mod:`grapekg.evaluation.scoring`; tables
and figures written to the dataset's results folder (:meth:`Workspace.results_dir
<grapekg.app.workspace.Workspace.results_dir>`) unless another is given.

The KG inputs of the two KG baselines are read here (evaluation never imports the KG):

- ``linear-kg``: GO biological-process terms ∪ Reactome pathways of the measured genes and
  the targets (:mod:`grapekg.kg.annotations`), embedded by
  :func:`~grapekg.evaluation.baselines.membership_embedding` (:func:`kg_embedding`);
- ``kg-retrieval``: each target's GO term set (every namespace) and its closed STRING
  neighbourhood (its partners and itself, by Ensembl id), read by
  :func:`~grapekg.kg.export.gene_sets.knowledge_sets` and keyed by the names of the
  condition strings (:func:`kg_knowledge`); similarity = the sum of the two Jaccards
  (:class:`~grapekg.evaluation.baselines.KGRetrievalDelta`, a double additive over its
  genes). A graph with neither source loaded leaves the row out, with a note.

A label dataset (``grape labels import``) is refused with one line: it has no expression to
score here.

A SYNTHETIC dataset made by ``grape data simulate`` also gets the ceilings of
:mod:`grapekg.evaluation.ceilings` (rows ``ceiling:*``, computed from the simulation's saved
truth, :meth:`Workspace.simulation_truth
<grapekg.app.workspace.Workspace.simulation_truth>`) and the ``gap`` row of
:mod:`grapekg.evaluation.scoring`; without a matching truth file a note says why not.

A dataset GROUP ``NAME`` (datasets ``NAME@<context>``, one per context of an import with
``--context-col``) is evaluated member by member on the member splits of
:func:`~grapekg.perturb.splits.split_group` and pooled into an "overall" result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grapekg.app.workspace import Workspace
from grapekg.evaluation import ceilings
from grapekg.evaluation import scoring as ev
from grapekg.evaluation.baselines import membership_embedding
from grapekg.evaluation.scoring import DISPLAY_NAMES  # noqa: F401 - re-exported for the CLI
from grapekg.kg import annotations
from grapekg.kg import label_datasets as kg_labels
from grapekg.kg.datasets import bundle_path
from grapekg.kg.export.gene_sets import Knowledge, knowledge_sets
from grapekg.kg.store import Store
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.errors import DataError
from grapekg.perturb.progress import Progress, counter
from grapekg.perturb.splits import Split, split_group, split_label
from grapekg.perturb.truth import SimulationTruth

__all__ = [
    "Evaluation",
    "GroupEvaluation",
    "evaluate",
    "evaluate_group",
    "group_members",
    "kg_embedding",
    "kg_knowledge",
    "load_bundle",
    "load_truth",
]


@dataclass
class Evaluation:
    """Scores of every model, the files written and their folder."""

    result: ev.EvalResult
    files: dict[str, Path]
    out: Path


@dataclass
class GroupEvaluation:
    """One :class:`Evaluation` per member (context) and the pooled "overall" one."""

    name: str
    members: dict[str, Evaluation]
    overall: Evaluation


#: the sources of ``kg-retrieval`` and the note when the graph has none of them
RETRIEVAL_SOURCES = ("go", "string")
NO_RETRIEVAL_KNOWLEDGE = "kg-retrieval: no GO/STRING in the graph"


def load_bundle(store: Store, ws: Workspace, dataset: str) -> bundle_mod.Bundle:
    """The dataset's bundle (summary, DE genes, gene table), found through the KG; a label
    dataset (no expression to score) is refused with a DataError."""
    if kg_labels.dataset_kind(store, dataset) == "labels":
        raise DataError(
            f"{dataset} is a label dataset: score it with bench/perturbqa.py or grape labels "
            f"train --dataset {dataset} (grape evaluate scores expression datasets)"
        )
    return bundle_mod.load(bundle_path(store, ws.settings, dataset))


def group_members(store: Store | None, ws: Workspace, name: str) -> list[str]:
    """Member datasets of group ``name`` (``name@*``, meta ``group`` = name):
    :func:`grapekg.app.datasets.group_members` (registered in the KG with a store, else the
    bundles on disk). Empty for a plain dataset name."""
    from grapekg.app.datasets import group_members as listed

    if "@" in name:
        return []
    return listed(store if store is not None else ws, name)


def kg_embedding(
    store: Store, bundle: bundle_mod.Bundle, dataset: str, n_components: int = 10
) -> dict[str, np.ndarray]:
    """Perturbation embedding of ``linear-kg``: SVD (K = ``n_components``) of the GO BP ∪
    Reactome membership matrix over the measured genes (in the KG) and the targets, keyed by
    Ensembl id, measured symbol and target name (as in the condition strings)."""
    ids = _ensembl_ids(store, bundle, dataset)
    unique = sorted(set(ids.values()))
    emb = membership_embedding(annotations.memberships(store, unique), unique, n_components)
    return {n: emb[g] for n, g in ids.items() if g in emb}


def _ensembl_ids(store: Store, bundle: bundle_mod.Bundle, dataset: str) -> dict[str, str]:
    """Name -> Ensembl id of the measured genes in the KG (by Ensembl id, symbol and measured
    name) and of the perturbation targets (by their names in the condition strings, as the
    dataset's import resolved them)."""
    genes = bundle.genes
    ids = {}  # name -> Ensembl id
    if {"ensembl_id", "in_kg"} <= set(genes.columns):
        symbols = genes["symbol"] if "symbol" in genes.columns else genes["ensembl_id"]
        for i, (gid, sym, ok) in enumerate(
            zip(genes["ensembl_id"], symbols, genes["in_kg"], strict=True)
        ):
            if ok:
                ids[str(gid)] = str(gid)
                ids[str(sym)] = str(gid)
                ids.setdefault(str(bundle.summary.gene_names[i]), str(gid))
    for cond, gids, syms in annotations.condition_targets(store, dataset):
        names = list(parse_condition(cond))
        pairs = dict(zip(syms, gids, strict=False))
        for n in [n for n in names if n in pairs]:
            ids.setdefault(n, pairs.pop(n))
            names.remove(n)
        if len(names) == 1 and len(pairs) == 1:
            ids.setdefault(names[0], next(iter(pairs.values())))
    return ids


def kg_knowledge(
    store: Store, bundle: bundle_mod.Bundle, dataset: str
) -> tuple[dict[str, dict[str, set[str]]], Knowledge, list[str]]:
    """The sets of ``kg-retrieval`` for the dataset's perturbation targets: source (``go``,
    ``string``; only those with any set in the graph) -> target name (as in the condition
    strings) -> set. The STRING set is the CLOSED neighbourhood, partners and the gene
    itself, all by Ensembl id, so the baseline uses the sets as given (``closed=()``);
    a gene without partners has no STRING set. Also returned: what
    :func:`~grapekg.kg.export.gene_sets.knowledge_sets` read (versions, for the note) and
    the targets' Ensembl ids."""
    names = {g for c in bundle.summary.conditions for g in parse_condition(c)}
    ids = {n: g for n, g in _ensembl_ids(store, bundle, dataset).items() if n in names}
    unique = sorted(set(ids.values()))
    read = knowledge_sets(store, unique, RETRIEVAL_SOURCES)
    sets: dict[str, dict[str, set[str]]] = {}
    for source in read.used:
        by_id = read.sets[source]
        closed = source == "string"
        sets[source] = {
            n: set(by_id[g]) | ({g} if closed else set()) for n, g in ids.items() if by_id.get(g)
        }
    return sets, read, unique


def load_truth(
    ws: Workspace, bundle: bundle_mod.Bundle, dataset: str
) -> tuple[SimulationTruth | None, str | None]:
    """The saved simulation truth of a SYNTHETIC dataset, or None and why not (None, None
    for a dataset that is not synthetic). The truth must sit beside the file the dataset was
    imported from and describe the same genes and conditions."""
    if not bundle.synthetic:
        return None, None
    path = ws.simulation_truth(dataset)
    if not path.exists():
        return None, (
            f"no ceilings: {path} not found (simulate the dataset again with "
            "'grape data simulate' to save its truth)"
        )
    source = bundle.meta.get("source_file")
    if source and Path(source).resolve().parent != path.resolve().parent:
        return None, f"no ceilings: {dataset} was not imported from {path.parent}"
    truth = SimulationTruth.load(path)
    why = ceilings.mismatch(truth, bundle)
    if why is not None:
        return None, f"no ceilings: the simulation truth {path}: {why}"
    return truth, None


def _models(
    bundle: bundle_mod.Bundle,
    predictions: Iterable[tuple[str, Path]],
    embedding: Mapping[str, np.ndarray] | None,
    context: str | None = None,
    truth: SimulationTruth | None = None,
    knowledge: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
) -> dict[str, ev.Predictions]:
    """Baselines, then the prediction files, then the ceilings (when ``truth`` is given)."""
    models: dict[str, ev.Predictions] = {}
    for label, key in ev.BASELINE_LABELS.items():
        if key == "linear_kg" and embedding is None:
            continue  # no KG at hand (a caller without a store)
        if key == "kg_retrieval" and not knowledge:
            continue  # no KG at hand, or neither GO nor STRING in it (a note says which)
        models[label] = ev.baseline_predictor(key, bundle, embedding, knowledge)
    for label, file in predictions:
        models[label] = ev.load_predictions(Path(file), bundle, context=context)
    if truth is not None:
        for label, predictor in ceilings.ceiling_predictors(truth, bundle).items():
            models.setdefault(label, predictor)
    return models


def evaluate(
    ws: Workspace,
    bundle: bundle_mod.Bundle,
    dataset: str,
    split: str,
    seeds: Sequence[int],
    predictions: Iterable[tuple[str, Path]] = (),
    *,
    out: Path | None = None,
    progress: Progress | None = None,
    store: Store | None = None,
    embedding: Mapping[str, np.ndarray] | None = None,
    knowledge: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    splits: Mapping[int, Split] | None = None,
    context: str | None = None,
) -> Evaluation:
    """Score the baselines and the ``(label, file)`` predictions (.h5ad, .csv, .tsv,
    .parquet; a label may replace a baseline's) on ``split`` (a name or a JSON split file)
    for each seed, and write the tables and figures into ``out`` (default: the dataset's
    results folder), and the ceilings when the dataset's simulation truth is saved
    (:func:`load_truth`). ``linear-kg`` needs ``embedding`` or a ``store`` to build it from
    (:func:`kg_embedding`); without either it is left out; so is ``kg-retrieval`` without
    ``knowledge`` (source -> target name -> set, used as given: :func:`kg_knowledge`) or a
    store to read it from, and, with a note, when the store has neither GO nor STRING.
    ``splits``: seed -> split (a group
    member's share of the group split), instead of resolving ``split`` here. Models scored
    earlier into the same folder on the same split and not scored now are kept in the
    tables (:func:`grapekg.evaluation.scoring.merge_earlier`): several ``grape train
    --label X`` runs accumulate; a label scored again replaces only its own rows."""
    if embedding is None and store is not None:
        embedding = kg_embedding(store, bundle, dataset)
    kg_notes: list[str] = []
    if knowledge is None and store is not None:
        knowledge, read, targets = kg_knowledge(store, bundle, dataset)
        kg_notes.append(
            f"kg-retrieval: similarity = Jaccard of GO terms + Jaccard of closed STRING "
            f"neighbourhoods; targets with sets: {read.line(targets)}"
            if knowledge
            else NO_RETRIEVAL_KNOWLEDGE
            if not any(read.versions.values())
            else "kg-retrieval: no perturbation target has a GO term or STRING partner in the graph"
        )
    truth, why = load_truth(ws, bundle, dataset)
    models = _models(bundle, predictions, embedding, context, truth, knowledge)
    with counter(progress, "evaluating", len(models) * len(seeds)) as advance:
        res = ev.evaluate_models(bundle, split, list(seeds), models, splits=splits, advance=advance)
    res.notes += kg_notes
    if truth is not None:
        res.notes.append(ev.GAP_NOTE)
    elif why is not None:
        res.notes.append(why)
    folder = out or ws.results_dir(dataset, split_label(split))
    res = ev.merge_earlier(res, folder)
    return Evaluation(res, ev.write_outputs(res, folder), folder)


def evaluate_group(
    store: Store | None,
    ws: Workspace,
    name: str,
    members: Sequence[str],
    split: str,
    seeds: Sequence[int],
    predictions: Iterable[tuple[str, Path]] = (),
    *,
    out: Path | None = None,
    progress: Progress | None = None,
) -> GroupEvaluation:
    """Evaluate every member of group ``name`` on its member split (one
    :func:`~grapekg.perturb.splits.split_group` of the union per seed), then pool them
    (:func:`grapekg.evaluation.scoring.pool`). Outputs: each member in its own results folder
    (``out/<member>`` with ``out``), the pooled one in the group's (``out/overall``). A
    prediction file with a ``context`` column is filtered to each member's context."""
    bundles = {
        m: load_bundle(store, ws, m) if store is not None else bundle_mod.load(ws.dataset_dir(m))
        for m in members
    }
    first = next(iter(bundles.values()))
    labels = first.meta.get("control") or [CONTROL]
    sep = str(first.meta.get("sep") or "+")
    per_seed = {
        seed: split_group(
            split,
            {m: b.summary.conditions for m, b in bundles.items()},
            seed,
            control_labels=labels,
            sep=sep,
        )
        for seed in seeds
    }
    label = split_label(split)
    done: dict[str, Evaluation] = {}
    skipped = [m for m in bundles if not any(per_seed[s][m].test for s in seeds)]
    for m, b in bundles.items():
        if m in skipped:
            continue
        context = str(b.meta.get("context") or m.partition("@")[2])
        done[m] = evaluate(
            ws,
            b,
            m,
            split,
            seeds,
            predictions,
            out=(out / m) if out else ws.results_dir(m, label),
            progress=progress,
            store=store,
            splits={s: per_seed[s][m] for s in seeds},
            context=context,
        )
    if not done:
        raise DataError(f"no member of group {name!r} has test conditions", parameter="--split")
    overall = ev.pool(name, {m: e.result for m, e in done.items()})
    overall.notes += [f"{m}: no test condition in any seed (not scored)" for m in skipped]
    folder = (out / "overall") if out else ws.results_dir(name, label)
    return GroupEvaluation(
        name, done, Evaluation(overall, ev.write_outputs(overall, folder), folder)
    )
