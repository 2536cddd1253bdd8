"""Import and simulate perturbation datasets: the flow joining the data layer
(:mod:`grapekg.perturb`) with the KG (:mod:`grapekg.kg.datasets`).

Import: stream an AnnData into condition-level summaries and DE genes (bundle files next to
the data folder), resolve its genes and perturbation targets to Ensembl ids through the KG,
and register ``(Dataset)-[:HAS_CONDITION]->(Condition)-[:TARGETS]->(Gene)`` and
``(Gene)-[:MEASURED_IN]->(Dataset)`` in one transaction (all or nothing). Simulation draws its
genes (with their GO BP terms and Reactome pathways) from the KG.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grapekg.app.workspace import Workspace
from grapekg.errors import GrapeError
from grapekg.kg import datasets as kg_datasets
from grapekg.kg.identity import GeneResolver, ResolutionReport
from grapekg.kg.loader import gene_index_from_store
from grapekg.kg.schema import load_default
from grapekg.kg.store import Store
from grapekg.perturb import bundle as bundle_mod
from grapekg.perturb import download as dl
from grapekg.perturb.conditions import CONTROL, parse_condition, shorten
from grapekg.perturb.de import compute_de
from grapekg.perturb.errors import DataError
from grapekg.perturb.guides import GuideAgreement, guide_agreement
from grapekg.perturb.progress import Progress
from grapekg.perturb.summaries import ConditionSummary, summarise_h5ad_contexts
from grapekg.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "DOWNLOADABLE",
    "GuideReport",
    "ImportReport",
    "SimulationResult",
    "context_name",
    "download_dataset",
    "group_members",
    "guide_report",
    "import_h5ad",
    "kg_gene_table",
    "list_datasets",
    "simulate_dataset",
]

#: public GEARS-format datasets ``grape data download`` knows
DOWNLOADABLE = tuple(dl.DATASETS)


@dataclass
class ImportReport:
    name: str
    bundle: Path
    n_cells: int
    n_genes: int
    n_conditions: int
    genes_in_kg: int
    genes_not_in_kg: list[str] = field(default_factory=list)
    genes_ambiguous: dict[str, list[str]] = field(default_factory=dict)
    targets_not_in_kg: list[str] = field(default_factory=list)
    synthetic: bool = False
    gene_line: str = ""  # ResolutionReport.line of the measured genes
    target_line: str = ""
    renamed: dict[str, str] = field(default_factory=dict)  # name -> Ensembl id, via a synonym
    external: dict[str, str] = field(default_factory=dict)  # name -> gene outside the release
    group: str | None = None  # the import's name, when this is one of its contexts
    context: str | None = None
    #: guide-level labels: condition -> guide -> cells
    guides: dict[str, dict[str, int]] = field(default_factory=dict)
    #: with --context-col: one report per context (this report then sums them up)
    members: list[ImportReport] = field(default_factory=list)
    #: genes with one value in every cell (no signal; the import warns with their count)
    constant_genes: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """One-line warnings about the data (constant genes)."""
        if not self.constant_genes:
            return []
        ex = ", ".join(shorten(g, 30) for g in self.constant_genes[:5])
        return [
            f"{len(self.constant_genes):,} of {self.n_genes:,} genes have the same value in "
            f"every cell (e.g. {ex}): they carry no signal and every model scores them exactly"
        ]


_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@contextmanager
def import_lock(ws: Workspace, name: str) -> Iterator[Path]:
    """Hold the import lock of dataset ``name`` (and its contexts ``NAME@*``): an exclusive
    ``flock`` on ``<data dir>/datasets/.NAME.lock``, taken without waiting. A second import of
    the same name while one runs fails at once with a one-line error naming the lock, so two
    imports never mix their files; the lock goes with its process (a killed import leaves
    none held). Staging folders left by killed imports of this name are removed once it is
    held (no other import of the name can be running then)."""
    import fcntl

    root = ws.data_dir / "datasets"
    root.mkdir(parents=True, exist_ok=True)
    lock = root / f".{name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise DataError(
                f"dataset {name} is being imported by another process"
                + (f" (pid {holder})" if holder.isdigit() else "")
                + f": its lock {lock} is held; wait for that import to finish",
                parameter="--name",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        for pattern in (f"{glob.escape(name)}.*.tmp", f"{glob.escape(name)}@*.*.tmp"):
            for stale in root.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)
        yield lock
    finally:
        os.close(fd)


def _staging_path(target: Path) -> Path:
    """Where this process stages the bundle of ``target``: a name of its own
    (``NAME.<pid>-<random>``; :func:`grapekg.perturb.bundle.stage` writes ``<that>.tmp``),
    never a folder another process could write at the same time."""
    return target.with_name(f"{target.name}.{os.getpid()}-{secrets.token_hex(4)}")


def context_name(name: str, value: str) -> str:
    """Member name of one context: ``NAME@<value>``, the value sanitised to [A-Za-z0-9_-]."""
    return f"{name}@{re.sub(r'[^A-Za-z0-9_-]', '_', str(value).strip())}"


def _read_synthetic(path: Path) -> bool:
    import h5py

    with h5py.File(path, "r") as f:
        if "uns" in f and "synthetic" in f["uns"]:
            return bool(np.asarray(f["uns"]["synthetic"][()]))
    return False


def _condition_rows(
    name: str, summary: ConditionSummary, resolver: GeneResolver, measured: dict[str, str]
) -> tuple[list[dict[str, Any]], ResolutionReport]:
    rows, results = [], {}
    for i, cond in enumerate(summary.conditions):
        targets = parse_condition(cond)
        resolved = []
        for t in targets:
            r = results.setdefault(t, kg_datasets.resolve_target(resolver, t, measured))
            if r.resolved:
                resolved.append(r.ensembl_id)
        kind = "control" if not targets else ("single" if len(targets) == 1 else "combo")
        rows.append(
            {
                "id": f"{name}/{cond}",
                "name": cond,
                "kind": kind,
                "n_cells": int(summary.n_cells[i]),
                "n_targets": len(targets),
                "targets": resolved,
            }
        )
    return rows, ResolutionReport(list(results.values()))


def import_h5ad(
    store: Store,
    settings: Settings,
    path: Path,
    *,
    name: str | None = None,
    pert_col: str = "condition",
    control: Sequence[str] = (CONTROL,),
    sep: str = "+",
    gene_name_col: str | None = None,
    min_cells: int = 2,
    normalise: bool = False,
    progress: Progress | None = None,
    guide_pattern: str | None = None,
    guide_col: str | None = None,
    context_col: str | None = None,
) -> ImportReport:
    """Summarise, resolve and register one AnnData file (see module docstring).

    The file is streamed once. With ``context_col`` every value of that obs column becomes
    its own dataset ``NAME@<value>`` (own control and conditions; meta ``group`` = NAME,
    ``context`` = the value). Guide-level labels (``guide_pattern`` / ``guide_col``) collapse
    to genes; their per-guide counts and mean profiles are kept in the bundle.

    A re-import never destroys a working dataset: the new bundles are written beside the old
    ones, registered in the KG in one transaction, and swapped into place only when that
    succeeded; on any failure the old bundles and KG registrations stay exactly as they were.
    """
    path = Path(path)
    name = name or path.stem.replace("perturb_processed", path.parent.name)
    if not _NAME.match(name):
        raise DataError(
            f"dataset name '{shorten(name)}' must be letters, digits, - or _", parameter="--name"
        )
    with import_lock(Workspace(settings), name):
        summaries = summarise_h5ad_contexts(
            path,
            pert_col=pert_col,
            control_labels=list(control),
            sep=sep,
            gene_name_col=gene_name_col,
            min_cells=min_cells,
            normalise=normalise,
            progress=progress,
            guide_pattern=guide_pattern,
            guide_col=guide_col,
            context_col=context_col,
        )
        members: dict[str, str | None] = {}
        for ctx in summaries:
            member = name if ctx is None else context_name(name, ctx)
            if member in members:
                raise DataError(
                    f"context values '{shorten(members[member])}' and '{shorten(ctx)}' both become "
                    f"the dataset name {member}",
                    path=path,
                    parameter=f"obs['{context_col}']",
                )
            members[member] = ctx
        synthetic = _read_synthetic(path)
        index = gene_index_from_store(store)
        if not len(index):
            raise DataError("the knowledge graph has no genes: run 'grape kg build' first")
        resolver = GeneResolver.from_store(store, index)
        first = next(iter(summaries.values()))
        genes, gene_report = kg_datasets.resolve_genes(resolver, first.gene_ids, first.gene_names)
        measured = {
            s: e
            for s, e, ok in genes[["symbol", "ensembl_id", "in_kg"]].itertuples(
                index=False, name=None
            )
            if ok
        }
        ws = Workspace(settings)
        staged: list[tuple[Path, Path]] = []
        entries, reports = [], []
        try:
            for member, ctx in members.items():
                summary = summaries[ctx]
                cond_rows, target_report = _condition_rows(member, summary, resolver, measured)
                missing_targets = sorted(r.name for r in target_report.results if not r.resolved)
                meta = {
                    "name": member,
                    "source_file": str(path.resolve()),
                    "pert_col": pert_col,
                    "control": list(control),
                    "sep": sep,
                    "normalised_on_import": normalise,
                    "n_cells": int(summary.n_cells.sum()),
                    "n_genes": len(summary.gene_ids),
                    "n_conditions": len(summary.conditions) - 1,
                    "genes_in_kg": int(genes["in_kg"].sum()),
                    "synthetic": synthetic,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "targets_not_in_kg": missing_targets,
                    "ambiguous_symbols": gene_report.ambiguous(),
                    "gene_resolution": gene_report.as_dict(),
                    "target_resolution": target_report.as_dict(),
                    "constant_genes": len(summary.constant_genes),
                }
                if guide_pattern is not None or guide_col is not None:
                    meta["guide_pattern"] = guide_pattern
                    meta["guide_col"] = guide_col
                if ctx is not None:
                    meta.update(group=name, context=ctx, context_col=context_col)
                target = ws.dataset_dir(member)
                staged.append(
                    (
                        bundle_mod.stage(
                            _staging_path(target), summary, compute_de(summary), genes, meta
                        ),
                        target,
                    )
                )
                entries.append((meta, target, cond_rows, genes))
                reports.append(
                    ImportReport(
                        name=member,
                        bundle=target,
                        n_cells=meta["n_cells"],
                        n_genes=meta["n_genes"],
                        n_conditions=meta["n_conditions"],
                        genes_in_kg=meta["genes_in_kg"],
                        genes_not_in_kg=[
                            s
                            for s, ok in zip(genes["symbol"], genes["in_kg"], strict=True)
                            if not ok
                        ],
                        genes_ambiguous=gene_report.ambiguous(),
                        targets_not_in_kg=missing_targets,
                        synthetic=synthetic,
                        gene_line=gene_report.line("measured genes"),
                        target_line=target_report.line("targets"),
                        renamed={**gene_report.renamed(), **target_report.renamed()},
                        external={**gene_report.external(), **target_report.external()},
                        group=meta.get("group"),
                        context=meta.get("context"),
                        guides=summary.guides,
                        constant_genes=list(summary.constant_genes),
                    )
                )
            stale = (
                sorted(set(kg_datasets.group_members(store, name)) - set(members))
                if context_col is not None
                else []
            )
            try:
                kg_datasets.register_many(store, entries, remove=stale)
            except GrapeError as err:
                raise DataError(
                    f"registering {', '.join(members)} in the KG failed, nothing was changed "
                    f"(the previous dataset, if any, is kept): {shorten(err, 300)}",
                    path=path,
                ) from None
        except BaseException:
            for tmp, _target in staged:
                bundle_mod.discard(tmp)
            raise
        for tmp, target in staged:
            bundle_mod.publish(tmp, target)
        for gone in stale:
            shutil.rmtree(ws.dataset_dir(gone), ignore_errors=True)
            log.info("removed %s: the re-import of group %s has no such context", gone, name)
        if context_col is None:
            return reports[0]
        all_targets = sorted({t for r in reports for t in r.targets_not_in_kg})
        return dataclasses.replace(
            reports[0],
            name=name,
            bundle=ws.dataset_dir(name),
            n_cells=sum(r.n_cells for r in reports),
            n_conditions=sum(r.n_conditions for r in reports),
            targets_not_in_kg=all_targets,
            target_line="",
            group=name,
            context=None,
            guides={},
            members=reports,
        )


def group_members(store_or_ws: Store | Workspace | Settings, name: str) -> list[str]:
    """The datasets of group ``name`` (imported with ``--context-col``: ``NAME@<context>``),
    sorted; empty when ``name`` is no group. With a Store, those registered in the KG; with a
    Workspace (or Settings), the bundles on disk whose meta ``group`` is ``name``."""
    if isinstance(store_or_ws, Store):
        return kg_datasets.group_members(store_or_ws, name)
    ws = store_or_ws if isinstance(store_or_ws, Workspace) else Workspace(store_or_ws)
    root = ws.data_dir / "datasets"
    out = []
    for meta in sorted(root.glob(f"{glob.escape(name)}@*/meta.json")):
        try:
            if json.loads(meta.read_text()).get("group") == name:
                out.append(meta.parent.name)
        except (OSError, ValueError):
            continue
    return sorted(out)


@dataclass
class GuideReport:
    """Guide agreement of one dataset (:func:`grapekg.perturb.guides.guide_agreement`)."""

    name: str
    rows: list[GuideAgreement]

    @property
    def median(self) -> float:
        vals = [r.pearson for r in self.rows if np.isfinite(r.pearson)]
        return float(np.median(vals)) if vals else float("nan")


def guide_report(store: Store, settings: Settings, name: str) -> list[GuideReport]:
    """Per target of dataset ``name`` (each member of a group): its guides, their cells and
    the Pearson r of their mean deltas versus control on the target's DE20 genes."""
    names = group_members(store, name) or [name]
    out = []
    for member in names:
        b = bundle_mod.load(kg_datasets.bundle_path(store, settings, member))
        table_ = b.guide_table()
        if table_ is None:
            raise DataError(
                f"dataset {member} was imported without guide-level labels; re-import it with "
                "--guide-pattern or --guide-col",
                parameter="NAME",
            )
        keys, n, means = table_
        de20 = {c: r[:20] for c, r in b.de_rank.items()}
        out.append(GuideReport(member, guide_agreement(keys, n, means, b.summary.ctrl_mean, de20)))
    return out


def _simulation_candidates(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(coding genes with a GO or Reactome annotation, non-coding genes (lncRNA / miRNA
    first)) usable by the simulator (unique symbols that survive the GEARS syntax)."""
    df = kg_datasets.simulation_candidates(store).drop_duplicates("symbol", keep=False)
    # symbols that would not survive the GEARS condition syntax ('+' separator, 'ctrl')
    bad = df["symbol"].str.contains(r"[+_\s]", regex=True) | (df["symbol"].str.lower() == CONTROL)
    df = df[~bad]
    coding = df[(df.cls == "c") & ((df.n_go > 0) | (df.n_pw > 0))]
    nc = df[df.cls == "nc"]
    nc = pd.concat(
        [nc[nc.biotype.isin(["lncRNA", "miRNA"])], nc[~nc.biotype.isin(["lncRNA", "miRNA"])]]
    )
    return coding, nc


def _annotated(store: Store, chosen: pd.DataFrame) -> pd.DataFrame:
    chosen = chosen.reset_index(drop=True)
    ann = kg_datasets.bp_terms_and_pathways(store, chosen["ensembl_id"].tolist())
    chosen["go_terms"] = [ann[e]["go"] for e in chosen["ensembl_id"]]
    chosen["pathways"] = [ann[e]["pw"] for e in chosen["ensembl_id"]]
    return chosen.rename(columns={"cls": "biotype_class"})[
        ["ensembl_id", "symbol", "biotype_class", "biotype", "go_terms", "pathways"]
    ]


def _split_counts(n_genes: int, coding: pd.DataFrame, nc: pd.DataFrame, frac: float):
    n_c = min(len(coding), round(n_genes * frac))
    n_nc = n_genes - n_c
    if n_nc > len(nc):
        raise DataError(f"the KG has only {len(nc)} usable non-coding genes", parameter="--genes")
    return n_c, n_nc


def kg_gene_table(
    store: Store, n_genes: int, *, seed: int = 0, coding_fraction: float = 0.6
) -> pd.DataFrame:
    """``n_genes`` real KG genes for the simulator, seeded: coding genes with a GO or
    Reactome annotation, and non-coding genes (lncRNA / miRNA first), each with the lists of
    its GO biological-process terms and Reactome pathways."""
    coding, nc = _simulation_candidates(store)
    rng = np.random.default_rng(seed)
    n_c, n_nc = _split_counts(n_genes, coding, nc, coding_fraction)
    pick_c = coding.iloc[np.sort(rng.choice(len(coding), n_c, replace=False))]
    pool = nc.iloc[: max(n_nc * 3, n_nc)]
    pick_nc = pool.iloc[np.sort(rng.choice(len(pool), n_nc, replace=False))]
    return _annotated(store, pd.concat([pick_c, pick_nc]))


def clustered_gene_table(
    store: Store,
    n_genes: int,
    *,
    seed: int = 0,
    coding_fraction: float = 0.6,
    per_hub: int = 20,
    clustered_share: float = 0.7,
) -> pd.DataFrame:
    """Like :func:`kg_gene_table`, but the coding genes come in prior-graph neighbourhoods
    (the learnable simulator's gene table): hubs drawn at random among the coding
    candidates, each followed by up to ``per_hub`` of its KG prior neighbours (GO-Jaccard /
    Reactome prior edges, drawn at random), until ``clustered_share`` of the coding genes
    are chosen; the rest of the coding genes at random. A random gene set of a 20,000-gene
    KG holds almost none of its prior edges (1,000 genes: 2.6 per gene), so a knock-down's
    prior neighbours would mostly be unmeasured; here a hub's neighbours are measured."""
    from grapekg.kg.export.priors import ensure_default_priors as ensure_priors

    coding, nc = _simulation_candidates(store)
    rng = np.random.default_rng(seed)
    n_c, n_nc = _split_counts(n_genes, coding, nc, coding_fraction)
    ensure_priors(store)
    ids = coding["ensembl_id"].astype(str).to_numpy()
    usable = set(ids.tolist())
    order = rng.permutation(len(ids))
    n_hubs = max(1, int(np.ceil(clustered_share * n_c / (per_hub + 1))))
    hubs = [str(ids[i]) for i in order[:n_hubs]]
    nb_src, nb_dst, nb_ids = _prior_neighbourhood(store, hubs)
    chosen: list[str] = []
    seen: set[str] = set()
    for h in hubs:
        if len(chosen) >= round(clustered_share * n_c):
            break
        if h not in seen:
            chosen.append(h)
            seen.add(h)
        hi = nb_ids.index(h) if h in nb_ids else -1
        nbrs = sorted({nb_ids[d] for d in nb_dst[nb_src == hi]} & usable - seen) if hi >= 0 else []
        for g in [nbrs[i] for i in rng.permutation(len(nbrs))[:per_hub]]:
            chosen.append(g)
            seen.add(g)
    rest = [str(ids[i]) for i in order[n_hubs:] if str(ids[i]) not in seen]
    chosen += rest[: n_c - len(chosen)]
    pick_c = coding.set_index("ensembl_id", drop=False).loc[sorted(chosen[:n_c])]
    pool = nc.iloc[: max(n_nc * 3, n_nc)]
    pick_nc = pool.iloc[np.sort(rng.choice(len(pool), n_nc, replace=False))]
    return _annotated(store, pd.concat([pick_c, pick_nc]))


def _prior_neighbourhood(
    store: Store, genes: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Prior edges (both directions) of ``genes`` and their one-hop prior neighbours: (source
    rows, target rows, ensembl ids of the rows)."""
    graph = _prior_graph(store, genes, hops=1)
    ei = graph.prior_edge_index().numpy()
    return ei[0], ei[1], [str(g) for g in graph.gene_ids]


def _prior_graph(store: Store, genes: list[str], hops: int = 0, edges: str = "go,reactome"):
    from grapekg.kg.export import formats
    from grapekg.kg.export.reader import export_graph
    from grapekg.model.grape.graph import GeneGraph

    data = formats.to_pyg(export_graph(store, genes, edges, hops=hops))
    for t in ("c", "nc"):
        if t in data.node_types:
            data[t].gene_id = list(data[t].ensembl_id)
    return GeneGraph.from_heterodata(data)


@dataclass
class SimulationResult:
    """A simulated dataset: where its files are, its planted edges and its import report."""

    h5ad: Path
    planted_edges: Path
    n_planted: int
    report: ImportReport
    truth: Path | None = None
    signal: str = "learnable"


def prior_pairs(
    store: Store, ensembl_ids: list[str], edges: str = "go,reactome"
) -> tuple[np.ndarray, np.ndarray]:
    """The prior edges GRAPE receives for these genes (the default GO-Jaccard and Reactome
    priors, built once if missing; undirected, as both directed pairs), as row indices of
    ``ensembl_ids``: what the learnable simulator plants its prior edges on."""
    from grapekg.kg.export.priors import ensure_default_priors as ensure_priors

    ensure_priors(store)
    graph = _prior_graph(store, ensembl_ids, edges=edges)
    row = {g: i for i, g in enumerate(ensembl_ids)}
    at = np.array([row.get(str(g), -1) for g in graph.gene_ids], dtype=np.int64)
    ei = graph.prior_edge_index().numpy()
    src, dst = at[ei[0]], at[ei[1]]
    keep = (src >= 0) & (dst >= 0)
    return src[keep], dst[keep]


def simulate_dataset(
    store: Store,
    settings: Settings,
    *,
    genes: int = 5000,
    conditions: int = 150,
    cells_per_condition: int = 50,
    combos: float = 0.4,
    seed: int = 0,
    name: str = "sim5k",
    signal: str = "learnable",
    status: Any = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Choose KG genes, simulate a SYNTHETIC dataset on them (GEARS format, labelled
    synthetic; ``signal`` ``learnable`` or ``random-sign``, :mod:`grapekg.perturb.simulate`)
    and import it. Beside the data under ``raw/<name>``: the planted edges and the noise-free
    truth (:class:`~grapekg.perturb.truth.SimulationTruth`, for the ceilings of ``grape
    evaluate``). ``status(text)``, when given, is a context manager shown around the slow
    steps (the CLI's spinner)."""
    from contextlib import nullcontext

    from grapekg.perturb.simulate import SIGNALS
    from grapekg.perturb.simulate import simulate as run_sim

    if signal not in SIGNALS:
        raise DataError(f"choose from {', '.join(SIGNALS)}, got {signal!r}", parameter="--signal")
    ws = Workspace(settings)
    out = ws.raw_dir(name)
    out.mkdir(parents=True, exist_ok=True)
    step = status or (lambda _text: nullcontext())
    with step("choosing KG genes…"):
        if signal == "learnable":
            table_ = clustered_gene_table(store, genes, seed=seed)
        else:
            table_ = kg_gene_table(store, genes, seed=seed)
    pairs = None
    if signal == "learnable":
        with step("reading the KG prior edges among them…"):
            pairs = prior_pairs(store, table_["ensembl_id"].astype(str).tolist())
    with step("simulating (SYNTHETIC)…"):
        relations = {r: (s, d) for s, r, d in load_default().gene_relations}
        sim = run_sim(
            table_,
            n_conditions=conditions,
            cells_per_condition=cells_per_condition,
            combo_fraction=combos,
            seed=seed,
            relations=relations,
            signal=signal,
            prior_pairs=pairs,
        )
    h5 = out / "perturb_processed.h5ad"
    sim.adata.write_h5ad(h5)
    planted = ws.planted_edges(name)
    sim.edges.to_parquet(planted, index=False)
    truth = sim.truth.save(ws.simulation_truth(name))
    rep = import_h5ad(store, settings, h5, name=name, progress=progress)
    return SimulationResult(h5, planted, len(sim.edges), rep, truth, signal)


def list_datasets(store: Store) -> list[dict[str, Any]]:
    """Datasets registered in the KG, each with its ``kind`` (``expression``, or ``labels``
    for a label dataset of ``grape labels import``, which has no cells) and, for a label
    dataset, its ``task`` (from the bundle's meta file; None when unreadable)."""
    from grapekg.app.labels import META
    from grapekg.kg import label_datasets as kg_labels

    rows = []
    for row in kg_datasets.list_datasets(store):
        kind = kg_labels.dataset_kind(store, row["name"])
        task = None
        if kind == "labels" and row.get("bundle"):
            try:
                task = json.loads((Path(row["bundle"]) / META).read_text()).get("task")
            except (OSError, ValueError):
                task = None
        rows.append({**row, "kind": "labels" if kind == "labels" else "expression", "task": task})
    return rows


def download_dataset(
    settings: Settings,
    dataset: str,
    dest: Path | None = None,
    *,
    url: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download a public GEARS-format dataset into ``dest`` (default ``<data dir>/raw``)."""
    return dl.download(
        dataset, dest or Workspace(settings).raw_dir(), url=url, sha256=sha256, progress=progress
    )
