"""`grape evaluate`: every baseline (and any prediction file) on a dataset, over seeds.

For seed s the split's test conditions are predicted by each model fitted on exactly the
split's training conditions (``split.train``; the validation list, when the split has one,
only model selection sees, so baselines and models see the same data; the tables say where
it came from: :func:`~grapekg.perturb.splits.validation_note`);
:func:`grapekg.evaluation.metrics.evaluate` scores each condition. A model's score for a
seed is the mean over test conditions; the table reports mean ± sd over seeds. Predictions
of other tools are read from AnnData (cells averaged per condition) or from a
table (long: condition, gene, value; or wide: a condition column plus one column per gene;
an optional ``seed`` column restricts rows to that seed's evaluation).

Where a model degenerates the result says n/a and why (:attr:`EvalResult.na`, the ``reason``
column of ``per_condition``, ``na`` / ``notes`` in ``summary.json``): the linear baseline on
a condition with no measured target (it equals the mean baseline there), GI correlations
over fewer than 5 doubles. A dataset group is scored per member and pooled (:func:`pool`).

On a SYNTHETIC dataset with saved truth the ceilings of :mod:`grapekg.evaluation.ceilings`
are scored like models, and every row gets ``gap``, the fraction of the mean → oracle gap it
closes on the headline metric h = ``pcc_delta_de20_excl_pert``: per seed s,
gap_s = (h_s(model) − h_s(mean)) / (h_s(ceiling:oracle) − h_s(mean)) (n/a when the
denominator is below 1e-9), then mean ± sd over seeds (so mean = 0, oracle = 1).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.evaluation import metrics as M
from grapekg.evaluation.baselines import BASELINES
from grapekg.parquet import read_parquet
from grapekg.perturb.bundle import Bundle
from grapekg.perturb.conditions import CONTROL, normalise_condition, parse_condition
from grapekg.perturb.errors import DataError
from grapekg.perturb.splits import Split, resolve_split, split_id, validation_note

log = logging.getLogger(__name__)

HEADLINE = [
    "rmse",
    "dac",
    "dac_nonzero",
    "pcc_delta",
    "pcc_delta_excl_pert",
    "pcc_delta_train_mean",
    "rmse_de20",
    "dac_de20",
    "pcc_delta_de20",
    "pcc_delta_de20_excl_pert",
    "gap",
    "pcc_delta_train_mean_de20",
    "pcc_delta_de40",
    "mse_de",
    "frac_opposite_direction_top20_non_dropout",
    "frac_within_5pct_de",
    "gi_magnitude_pearson",
]
#: table label -> baseline registry key (REFERENCES 5: no-change, mean, additive, linear;
#: linear-kg = the linear model with a KG perturbation embedding; kg-retrieval = the
#: similarity-weighted mean of the training singles' deltas, similarity from GO / STRING)
BASELINE_LABELS = {
    "no-change": "no_change",
    "mean": "train_mean",
    "additive": "additive",
    "linear": "linear_pca",
    "linear-kg": "linear_kg",
    "kg-retrieval": "kg_retrieval",
}
#: what a model's uncounted test targets lacked, for the note under the table
NO_EMBEDDING = "have no GO BP / Reactome membership (zero embedding = the mean baseline)"
NO_SIMILAR = (
    "have no training single sharing a GO term or STRING neighbour (predicted by the "
    "fallback: the mean training delta)"
)
#: rows of the ceilings (SYNTHETIC truth, :mod:`grapekg.evaluation.ceilings`)
CEILING_MEAN_SELF = "ceiling:mean+self"
CEILING_TRUE_GRAPH = "ceiling:true-graph-avg-sign"
CEILING_VOTE = "ceiling:true-graph-vote-sign"
CEILING_ORACLE = "ceiling:oracle"
#: the gap: metric it is computed on, the rows at 0 and at 1
GAP = "gap"
GAP_METRIC = "pcc_delta_de20_excl_pert"
GAP_FROM = "mean"
GAP_TO = CEILING_ORACLE
GAP_NOTE = (
    f"{GAP} = (score - {GAP_FROM}) / ({GAP_TO} - {GAP_FROM}) on {GAP_METRIC}, per seed "
    "(the fraction of the mean -> oracle gap closed; ceiling rows use the SYNTHETIC truth)"
)
#: shorter row labels for the terminal table (the files keep the full names)
DISPLAY_NAMES = {"frac_opposite_direction_top20_non_dropout": "frac_opposite_top20_nondropout"}
FIT_NOTE = (
    "baselines and models fit on the same training conditions; validation conditions (when "
    "the split has them) only select the model's epoch"
)


@dataclass
class Predicted:
    """One model's predictions for a split's test conditions, with what it could not do:
    ``na`` condition -> reason (scored n/a), ``unembedded`` / ``targets``: test targets the
    model had no input for (counted in a note, ``lacking`` says what they lack) / all its
    test targets."""

    values: dict[str, np.ndarray]
    na: dict[str, str] = field(default_factory=dict)
    unembedded: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    lacking: str = NO_EMBEDDING


#: per seed: condition -> predicted mean profile (bundle gene order), or a :class:`Predicted`
Predictions = Callable[[Split], "dict[str, np.ndarray] | Predicted"]


@dataclass
class EvalResult:
    dataset: str
    split: str
    seeds: list[int]
    per_condition: pd.DataFrame  # model, seed, condition, subgroup, metric, value, reason
    per_seed: pd.DataFrame  # model, seed, metric, value (mean over test conditions)
    summary: pd.DataFrame  # model x (metric_mean, metric_sd)
    synthetic: bool
    na: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> metric -> reason
    notes: list[str] = field(default_factory=list)
    split_ids: dict[int, str] = field(default_factory=dict)  # seed -> split_id of its lists
    validation: str = ""  # where the validation conditions came from (validation_note)

    def table(self, metrics: Sequence[str] = HEADLINE, digits: int = 4) -> pd.DataFrame:
        """model x metric strings: ``mean ± sd`` over seeds (``digits`` decimals), ``n/a
        (reason)`` where the model degenerates, ``-`` where undefined."""
        cols = [m for m in metrics if f"{m}_mean" in self.summary.columns]
        out = pd.DataFrame(index=self.summary.index)
        for m in cols:
            out[m] = [
                (
                    f"n/a ({self.na[model][m]})"
                    if m in self.na.get(model, {})
                    else "-"
                    if not np.isfinite(a)
                    else f"{a:.{digits}f} ± {b:.{digits}f}"
                    if np.isfinite(b)
                    else f"{a:.{digits}f}"
                )  # one seed: no sd
                for model, a, b in zip(
                    self.summary.index,
                    self.summary[f"{m}_mean"],
                    self.summary[f"{m}_sd"],
                    strict=True,
                )
            ]
        return out


def _positions(bundle: Bundle) -> dict[str, int]:
    """Gene symbol / Ensembl id (as measured and as resolved) -> position in the bundle."""
    pos: dict[str, int] = {}
    cols = [bundle.summary.gene_names, bundle.summary.gene_ids]
    cols += [bundle.genes[c] for c in ("symbol", "ensembl_id") if c in bundle.genes.columns]
    for col in cols:
        for i, g in enumerate(col):
            if isinstance(g, str) and g:
                pos.setdefault(g, i)
    return pos


def perturbed_positions(bundle: Bundle, conditions: Sequence[str]) -> dict[str, np.ndarray]:
    """Condition -> positions of its perturbed genes among the measured ones."""
    pos = _positions(bundle)
    return {
        c: np.array([pos[g] for g in parse_condition(c) if g in pos], dtype=np.int64)
        for c in conditions
    }


def baseline_predictor(
    key: str,
    bundle: Bundle,
    embedding: Mapping[str, np.ndarray] | None = None,
    knowledge: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
) -> Predictions:
    """Fit baseline ``key`` on exactly the split's training conditions (``split.train``;
    ``split.val`` is never seen), predict its test set. ``embedding`` (gene -> vector) is the
    KG perturbation embedding of ``linear_kg``; ``knowledge`` (source -> gene name as in the
    condition strings -> set) the sets of ``kg_retrieval``, used as given (a neighbourhood
    source must already hold each gene's own id: ``closed=()``)."""
    truth = bundle.truth()
    ctrl = truth[CONTROL]
    names = list(bundle.summary.gene_names)

    def build() -> object:
        if key == "linear_kg":
            return BASELINES[key](embedding)
        if key == "kg_retrieval":
            return BASELINES[key](knowledge, closed=())
        return BASELINES[key]()

    def run(split: Split) -> Predicted:
        train = {c: truth[c] for c in split.train if c != CONTROL and c in truth}
        model = build()
        model.fit(train, ctrl, names)
        test = list(split.test)
        out = Predicted(model.predict(test))
        if hasattr(model, "not_applicable"):
            out.na = model.not_applicable(test)
        if hasattr(model, "without_embedding"):
            out.unembedded = set(model.without_embedding(test))
            out.targets = {g for c in test for g in parse_condition(c)}
            out.lacking = NO_SIMILAR if key == "kg_retrieval" else NO_EMBEDDING
        return out

    return run


def _subgroups(split: Split) -> dict[str, str]:
    out = {c: g for g, cs in split.test_subgroup.items() for c in cs}
    for c in split.test:
        out.setdefault(c, "double" if len(parse_condition(c)) == 2 else "single")
    return out


def _few(items: Sequence[str], n: int = 3) -> str:
    items = sorted(items)
    return ", ".join(items[:n]) + (", ..." if len(items) > n else "")


def aggregate(
    per_condition: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, str]]]:
    """per-seed means over test conditions (NaN skipped), summary mean ± sd over seeds, and
    the n/a cells: (model, metric) whose every value is NaN for a stated reason."""
    per_seed = with_gap(
        per_condition.groupby(["model", "seed", "metric"], sort=False)["value"].mean().reset_index()
    )
    agg = (
        per_seed.groupby(["model", "metric"], sort=False)["value"]
        .agg(["mean", "std"])
        .reset_index()
    )
    summary = agg.pivot(index="model", columns="metric", values=["mean", "std"])
    summary.columns = [f"{m}_{'sd' if s == 'std' else 'mean'}" for s, m in summary.columns]
    summary = summary.reindex(list(dict.fromkeys(per_seed["model"])))
    na: dict[str, dict[str, str]] = {}
    if "reason" in per_condition.columns:
        flagged = per_condition[per_condition["reason"].fillna("") != ""]
        for (model, metric), rows in flagged.groupby(["model", "metric"], sort=False):
            if not np.isfinite(summary.loc[model, f"{metric}_mean"]):
                na.setdefault(str(model), {})[str(metric)] = str(rows["reason"].mode().iloc[0])
    return per_seed, summary, na


def with_gap(per_seed: pd.DataFrame) -> pd.DataFrame:
    """``per_seed`` (model, seed, metric, value) plus the :data:`GAP` rows of every model
    (module docstring) when the mean baseline and the oracle were both scored; unchanged
    otherwise."""
    h = per_seed[per_seed["metric"] == GAP_METRIC]
    if not {GAP_FROM, GAP_TO} <= set(h["model"]):
        return per_seed
    wide = h.pivot_table(index="seed", columns="model", values="value", sort=False)
    low, high = wide[GAP_FROM], wide[GAP_TO]
    span = (high - low).where((high - low).abs() >= 1e-9)
    gap = wide.sub(low, axis=0).div(span, axis=0)
    rows = gap.reset_index().melt(id_vars="seed", var_name="model", value_name="value")
    rows["metric"] = GAP
    return pd.concat([per_seed, rows[["model", "seed", "metric", "value"]]], ignore_index=True)


def _na_notes(per_condition: pd.DataFrame) -> list[str]:
    """One line per model with some (not all) test conditions n/a."""
    out = []
    rows = per_condition[per_condition.metric == "rmse"]
    for model, sub in rows.groupby("model", sort=False):
        flagged = sub[sub["reason"].fillna("") != ""]
        if len(flagged) > 0:
            reason = flagged["reason"].mode().iloc[0]
            out.append(
                f"{model}: n/a for {len(flagged)} of {len(sub)} test conditions over seeds "
                f"({reason}; e.g. {_few(list(set(flagged.condition)))})"
                + ("; the others scored" if len(flagged) < len(sub) else "")
            )
    return out


def evaluate_models(
    bundle: Bundle,
    split_name: str,
    seeds: Sequence[int],
    models: Mapping[str, Predictions],
    *,
    splits: Mapping[int, Split] | None = None,
    gi: bool = True,
    advance: Callable[[int], None] | None = None,
) -> EvalResult:
    """Score every model on the split of each seed: ``splits[seed]`` when given (a group
    member's share of the group split), else :func:`~grapekg.perturb.splits.resolve_split`
    of ``split_name`` (a name or a JSON file). Metrics of
    :func:`grapekg.evaluation.metrics.evaluate` with the perturbed genes and m_train = mean
    of the split's training perturbations; conditions a model cannot score are n/a."""
    truth = bundle.truth()
    ctrl = truth[CONTROL]
    perts = [c for c in bundle.summary.conditions]
    perturbed = perturbed_positions(bundle, perts)
    labels = bundle.meta.get("control") or [CONTROL]
    sep = str(bundle.meta.get("sep") or "+")
    frames, notes = [], []
    unembedded: dict[str, tuple[set[str], set[str]]] = {}
    lacking: dict[str, str] = {}
    ids: dict[int, str] = {}
    validation = ""
    for seed in seeds:
        split = (
            splits[seed]
            if splits is not None
            else resolve_split(split_name, perts, seed, control_labels=labels, sep=sep)
        )
        ids[int(seed)] = split_id(split)
        validation = validation or validation_note(split)
        if not split.test:
            notes.append(f"seed {seed}: no test condition in {bundle.name}")
            continue
        groups = _subgroups(split)
        train = [truth[c] for c in split.train if c != CONTROL and c in truth]
        m_train = np.mean(np.stack(train), axis=0) if train else None
        for name, predict in models.items():
            got = predict(split)
            res = got if isinstance(got, Predicted) else Predicted(got)
            pred = res.values
            conds = [c for c in split.test if c in pred]
            if not conds:
                log.warning("%s has no prediction for the test conditions of seed %d", name, seed)
                continue
            if res.targets:
                miss, all_t = unembedded.setdefault(name, (set(), set()))
                lacking[name] = res.lacking
                miss |= res.unembedded
                all_t |= res.targets
            t = M.evaluate(
                pred,
                truth,
                ctrl,
                bundle.de_rank,
                bundle.non_dropout_20,
                conditions=conds,
                gi=gi,
                seed=seed,
                perturbed=perturbed,
                train_mean=m_train,
                not_applicable=res.na,
            )
            t.insert(0, "seed", seed)
            t.insert(0, "model", name)
            t["subgroup"] = t["condition"].map(groups).fillna("all")
            frames.append(t)
            if advance:
                advance(1)
    if not frames:
        raise DataError(f"no test condition to score in {bundle.name}", parameter="--split")
    per_condition = pd.concat(frames, ignore_index=True)
    per_seed, summary, na = aggregate(per_condition)
    notes += _na_notes(per_condition)
    for name, (miss, all_t) in unembedded.items():
        if miss:
            notes.append(
                f"{name}: {len(miss)} of {len(all_t)} test targets {lacking[name]}: "
                f"{_few(list(miss))}"
            )
    return EvalResult(
        bundle.name,
        split_name,
        list(seeds),
        per_condition,
        per_seed,
        summary,
        bundle.synthetic,
        na,
        [FIT_NOTE, *([validation] if validation else []), *notes],
        ids,
        validation,
    )


def pool(name: str, members: Mapping[str, EvalResult]) -> EvalResult:
    """The "overall" result of a dataset group: per-condition metrics of every member pooled
    (a ``context`` column added), the mean over all members' test conditions per seed, then
    mean ± sd over seeds (GI aggregate rows: the mean of the members' values)."""
    frames = [r.per_condition.assign(context=m) for m, r in members.items()]
    per_condition = pd.concat(frames, ignore_index=True)
    per_seed, summary, na = aggregate(per_condition)
    first = next(iter(members.values()))
    shared = {FIT_NOTE, first.validation}
    notes = [FIT_NOTE, *([first.validation] if first.validation else [])]
    notes += [f"{m}: {n}" for m, r in members.items() for n in r.notes if n not in shared]
    return EvalResult(
        name,
        first.split,
        sorted({s for r in members.values() for s in r.seeds}),
        per_condition,
        per_seed,
        summary,
        any(r.synthetic for r in members.values()),
        na,
        notes,
        {},
        first.validation,
    )


# ---------------------------------------------------------------------- prediction files
def load_predictions(
    path: Path, bundle: Bundle, pert_col: str = "condition", *, context: str | None = None
) -> Predictions:
    """A prediction file as a predictor (see module docstring for the formats); with
    ``context`` a table's ``context`` column (when it has one) keeps that context's rows."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", path=path, parameter="--predictions")
    ids = [str(g) for g in bundle.summary.gene_ids]
    syms = [str(s) for s in bundle.summary.gene_names]
    if path.suffix == ".h5ad":
        import anndata as ad

        a = ad.read_h5ad(path)
        if pert_col not in a.obs:
            raise DataError(f"obs has no column {pert_col!r}", path=path, parameter="--predictions")
        cols = [str(v) for v in a.var_names]
        X = a.X.toarray() if hasattr(a.X, "toarray") else np.asarray(a.X)
        wide = pd.DataFrame(X, columns=cols)
        wide.insert(0, "condition", a.obs[pert_col].astype(str).to_numpy())
        wide = wide.groupby("condition", sort=False).mean().reset_index()
    elif path.suffix in (".csv", ".tsv", ".parquet"):
        df = (
            read_parquet(path)
            if path.suffix == ".parquet"
            else pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")
        )
        if "condition" not in df.columns:
            raise DataError("table has no 'condition' column", path=path, parameter="--predictions")
        if context is not None and "context" in df.columns:
            df = df[df["context"].astype(str) == context].drop(columns="context")
        if {"gene", "value"} <= set(df.columns):
            keys = ["condition"] + (["seed"] if "seed" in df.columns else [])
            wide = df.pivot_table(index=keys, columns="gene", values="value").reset_index()
        else:
            wide = df
    else:
        raise DataError("use .h5ad, .csv, .tsv or .parquet", path=path, parameter="--predictions")
    gene_cols = [c for c in wide.columns if c not in ("condition", "seed", "context")]
    use = ids if set(ids) <= set(gene_cols) else syms if set(syms) <= set(gene_cols) else None
    if use is None:
        missing = len(set(ids) - set(gene_cols))
        raise DataError(
            f"lacks {missing} of the dataset's {len(ids)} genes (columns must be "
            "Ensembl ids or symbols)",
            path=path,
            parameter="--predictions",
        )
    wide["condition"] = [normalise_condition(str(c)) for c in wide["condition"]]
    values = wide[use].to_numpy(dtype=np.float64)
    seeds = wide["seed"].to_numpy() if "seed" in wide.columns else None

    def run(split: Split) -> dict[str, np.ndarray]:
        keep = np.ones(len(wide), bool) if seeds is None else seeds == split.seed
        return {c: values[i] for i, c in enumerate(wide["condition"]) if keep[i]}

    return run


# ---------------------------------------------------------------------- accumulation
def _model_seeds(per_condition: pd.DataFrame) -> dict[str, list[int]]:
    """Model -> the seeds it was scored on."""
    return {
        str(m): sorted({int(s) for s in sub})
        for m, sub in per_condition.groupby("model", sort=False)["seed"]
    }


def _kind(model: str) -> int:
    return 0 if model in BASELINE_LABELS else 2 if str(model).startswith("ceiling:") else 1


def merge_earlier(res: EvalResult, folder: Path) -> EvalResult:
    """``res`` with the models of an earlier evaluation in ``folder`` that ``res`` does not
    score (``per_condition.csv`` and ``summary.json`` as :func:`write_outputs` wrote them), so
    models trained one after another (``grape train --label X`` then ``--label Y``) end in
    one table; a model ``res`` scores replaces its own earlier rows only. The earlier rows
    are kept only when both evaluations share a seed and were scored on the same split lists
    for every seed they share (``split_ids``; else, or when the earlier files are unreadable
    or predate split ids, they are dropped with a note). Aggregates are recomputed; a kept
    model scored on other seeds than ``res`` says so in a note."""
    summary_f, per_f = folder / "summary.json", folder / "per_condition.csv"
    if not (summary_f.exists() and per_f.exists()):
        return res
    try:
        old = json.loads(summary_f.read_text())
        old_ids = {int(k): str(v) for k, v in (old.get("split_ids") or {}).items()}
        old_pc = pd.read_csv(per_f, dtype={"condition": str, "reason": str})
    except (OSError, ValueError, KeyError) as exc:
        res.notes.append(f"earlier results in {folder} not kept (unreadable: {exc})")
        return res
    keep = old_pc[~old_pc["model"].astype(str).isin(set(res.per_condition["model"]))]
    if keep.empty:
        return res
    shared = set(old_ids) & set(res.split_ids)
    if not shared or any(old_ids[s] != res.split_ids[s] for s in shared):
        why = (
            "no split ids recorded"
            if not old_ids
            else "no seed in common"
            if not shared
            else "another split or dataset version"
        )
        dropped = ", ".join(dict.fromkeys(keep["model"].astype(str)))
        res.notes.append(f"earlier results of {dropped} in {folder} dropped ({why})")
        return res
    keep = keep[[c for c in res.per_condition.columns if c in keep.columns]]
    order = list(dict.fromkeys([*old_pc["model"].astype(str), *res.per_condition["model"]]))
    order.sort(key=_kind)
    per_condition = pd.concat([res.per_condition, keep], ignore_index=True)
    per_condition["_o"] = per_condition["model"].map({m: i for i, m in enumerate(order)})
    per_condition = (
        per_condition.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    )
    per_seed, summary, na = aggregate(per_condition)
    seeds_now = sorted(res.split_ids)
    kept = _model_seeds(keep)
    notes = [n for n in res.notes if not any(n.startswith(f"{m}: ") for m in kept)]
    notes += [
        n
        for n in old.get("notes", [])
        if any(n.startswith(f"{m}: ") for m in kept) and "kept from an earlier" not in n
    ]
    notes += [
        f"{m}: kept from an earlier evaluation, scored on seeds {', '.join(map(str, s))}"
        for m, s in kept.items()
        if s != seeds_now
    ]
    ids = {**old_ids, **res.split_ids}
    return replace(
        res,
        per_condition=per_condition,
        per_seed=per_seed,
        summary=summary,
        na=na,
        notes=list(dict.fromkeys(notes)),
        split_ids=dict(sorted(ids.items())),
    )


# ---------------------------------------------------------------------- outputs
def write_outputs(res: EvalResult, out: Path) -> dict[str, Path]:
    """CSV / JSON tables and PNG figures (violins as GRAPE Fig. 4; GI as BioDSNN Fig. 6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    tag = " (SYNTHETIC data)" if res.synthetic else ""
    files = {
        "summary_csv": out / "summary.csv",
        "summary_json": out / "summary.json",
        "per_condition": out / "per_condition.csv",
    }
    res.summary.to_csv(files["summary_csv"])
    files["summary_json"].write_text(
        json.dumps(
            {
                "dataset": res.dataset,
                "split": res.split,
                "seeds": res.seeds,
                "synthetic": res.synthetic,
                "validation": res.validation,
                "split_ids": {str(k): v for k, v in res.split_ids.items()},
                "model_seeds": _model_seeds(res.per_condition),
                "na": res.na,
                "notes": res.notes,
                "models": {
                    m: {k: (None if not np.isfinite(v) else float(v)) for k, v in row.items()}
                    for m, row in res.summary.iterrows()
                },
            },
            indent=1,
        )
    )
    res.per_condition.to_csv(files["per_condition"], index=False)
    pc = res.per_condition
    models = list(res.summary.index)
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.6 * len(models), 4.2))
    for ax, metric, label in (
        (axes[0], "dac", "direction accuracy (DAC)"),
        (axes[1], "pcc_delta", "Pearson delta"),
    ):
        data = [
            pc[(pc.model == m) & (pc.metric == metric)]["value"].dropna().to_numpy() for m in models
        ]
        ax.violinplot([d if len(d) else [np.nan] for d in data], showmedians=True)
        ax.set_xticks(range(1, len(models) + 1), models, rotation=30, ha="right")
        ax.set_title(label)
    fig.suptitle(
        f"{res.dataset}, {res.split} split, seeds {res.seeds[0]}..{res.seeds[-1]}: "
        f"per test condition{tag}",
        fontsize=9,
    )
    fig.tight_layout()
    files["violins"] = out / "violins_dac_pcc_delta.png"
    fig.savefig(files["violins"], dpi=120)
    plt.close(fig)
    gi = pc[pc.metric.isin(["gi_magnitude_true", "gi_magnitude_pred"])]
    if len(gi):
        wide = gi.pivot_table(
            index=["model", "seed", "condition"], columns="metric", values="value"
        ).reset_index()
        fig, ax = plt.subplots(figsize=(5, 4.5))
        for m in models:
            sub = wide[wide.model == m]
            if len(sub):
                ax.scatter(
                    sub["gi_magnitude_true"], sub["gi_magnitude_pred"], s=14, alpha=0.7, label=m
                )
        lim = float(np.nanmax(wide[["gi_magnitude_true", "gi_magnitude_pred"]].to_numpy())) * 1.05
        ax.plot([0, lim], [0, lim], "k--", lw=0.8)
        ax.set_xlabel("true GI magnitude")
        ax.set_ylabel("predicted GI magnitude")
        ax.set_title(f"doubles: genetic-interaction magnitude{tag}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        files["gi"] = out / "gi_magnitude.png"
        fig.savefig(files["gi"], dpi=120)
        plt.close(fig)
    return files
