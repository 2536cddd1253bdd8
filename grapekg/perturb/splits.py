"""Seeded train / validation / test splits of perturbation conditions.

* ``random``: GRAPE-style hold-out of a seeded fraction of the conditions (default 30 %).
* ``simulation``: GEARS's ``simulation`` split (REFERENCES 1.3), reproduced draw for draw
  with numpy's legacy ``RandomState(seed)`` (what ``np.random.seed`` + ``np.random.choice``
  use), so the same condition strings give the same split as GEARS:

  1. U = sorted genes of all non-control conditions; T = ``choice(U, ⌊f_g·|U|⌋,
     replace=False)`` (f_g = ``train_gene_set_size``), O = U \\ T.
  2. Train ← singles of T genes. Combos with ≥ 1 gene in T: exactly one → test
     ``combo_seen1``; of the rest (sorted), after re-seeding, ``choice(·, ⌊f_c·n⌋,
     replace=False)`` → train, remainder → test ``combo_seen2`` (f_c =
     ``combo_seen2_train_frac``).
  3. Singles of O genes → test ``unseen_single``; combos with no gene in T → ``combo_seen0``.
  4. Validation: steps 1–3 re-applied to the train list with f_g = f_c = 0.9 (same seed);
     ``ctrl`` is added to train.
* ``combo``: the Norman protocol of Ahlmann-Eltze et al. (Nat Methods 2025): train on every
  single and a seeded fraction f (default 0.5) of the doubles, test on the other doubles;
  test subgroups ``combo_seen0/1/2`` = how many of a double's singles A+ctrl, B+ctrl are in
  train (:func:`combo_split`).
* a JSON file as :meth:`Split.to_json` writes it (:func:`split_from_file`).

:func:`resolve_split` is the one entry point of ``grape evaluate`` and ``grape train``: a
split name or a file. A built-in split gets a validation list when it has none
(:func:`with_validation` carves 15 % of train, seeded); a user's file is honoured exactly: an
empty ``val`` stays empty (the models then select on their training loss and baselines and
models fit on every training condition). Either way baselines and models fit on exactly
``split.train`` and ``split.val`` is held out for model selection only;
:func:`validation_note` says which case a table shows.

A split's identity (:func:`split_tag`), used in run ids and results folders, is its name for
a built-in split and ``user-<hash>`` for a file: a hash of the file's train / val / test lists
in canonical condition form, never of its name or path, so the same content gives the same
id wherever the file lives and an edited file gets a new one.
:func:`split_group` splits the union of a dataset group's conditions once and restricts it
to each member, so a perturbation held out is held out in every context.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from grapekg.errors import ConfigError, cut
from grapekg.perturb.conditions import CONTROL, normalise_condition, parse_condition
from grapekg.perturb.errors import DataError

__all__ = [
    "SPLIT_NAMES",
    "VAL_FRACTION",
    "Split",
    "combo_split",
    "make_split",
    "random_split",
    "resolve_split",
    "simulation_split",
    "split_from_file",
    "split_group",
    "split_id",
    "split_label",
    "split_tag",
    "validation_note",
    "with_validation",
]

SPLIT_NAMES = ("random", "simulation", "combo")
#: fraction of the training perturbations carved out for validation when a split has none
VAL_FRACTION = 0.15

SIM_SUBGROUPS = ("combo_seen0", "combo_seen1", "combo_seen2", "unseen_single")


@dataclass(frozen=True)
class Split:
    """Condition lists of one split and their subgroups (GEARS's pickle, as one object)."""

    name: str
    seed: int
    train: list[str]
    val: list[str]
    test: list[str]
    test_subgroup: dict[str, list[str]] = field(default_factory=dict)
    val_subgroup: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)

    def to_json(self, path: str | PathLike[str]) -> None:
        """Write the split as JSON (lists of condition strings)."""
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def from_json(cls, path: str | PathLike[str]) -> Split:
        """Read a split written by :meth:`to_json`."""
        return cls(**json.loads(Path(path).read_text()))


def _genes(condition: str) -> tuple[str, ...]:
    return parse_condition(condition)


def _perturbations(conditions: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for c in conditions:
        if _genes(c):
            seen.setdefault(str(c), None)
    return list(seen)


def _too_few(split: str, problem: str, counts: dict[str, int]) -> DataError:
    listed = ", ".join(f"{k} {v}" for k, v in counts.items())
    return DataError(
        f"{problem} ({listed}); use more conditions or another split", parameter=f"split='{split}'"
    )


def random_split(
    conditions: Iterable[str],
    *,
    test_fraction: float = 0.3,
    val_fraction: float = 0.0,
    seed: int = 1,
) -> Split:
    """Hold out n_test = round(test_fraction · n) of the n non-control conditions, chosen
    by ``RandomState(seed).permutation`` of the sorted list; then n_val =
    round(val_fraction · n_train) of the remaining ones (same permutation order).
    Subgroups: ``single`` and ``combo``. ``ctrl`` is always in train."""
    perts = sorted(_perturbations(conditions))
    n = len(perts)
    n_test = int(round(test_fraction * n))
    if n < 2 or n_test < 1 or n_test >= n:
        raise _too_few(
            "random",
            "needs at least one train and one test condition",
            {"conditions": n, "test": n_test},
        )
    order = [perts[i] for i in np.random.RandomState(seed).permutation(n)]
    test, rest = order[:n_test], order[n_test:]
    n_val = int(round(val_fraction * len(rest)))
    if val_fraction > 0 and (n_val < 1 or n_val >= len(rest)):
        raise _too_few(
            "random",
            "validation set would be empty or take all training conditions",
            {"train": len(rest), "val": n_val},
        )
    val, train = rest[:n_val], rest[n_val:]

    def groups(items: list[str]) -> dict[str, list[str]]:
        return {
            "single": [c for c in items if len(_genes(c)) == 1],
            "combo": [c for c in items if len(_genes(c)) > 1],
        }

    return Split(
        "random",
        seed,
        sorted(train) + [CONTROL],
        sorted(val),
        sorted(test),
        groups(sorted(test)),
        groups(sorted(val)),
        {"test_fraction": test_fraction, "val_fraction": val_fraction},
    )


def _perts_with_genes(genes: np.ndarray, perts: Sequence[str], kind: str) -> list[str]:
    chosen = set(genes.tolist())
    out = []
    for p in perts:
        g = _genes(p)
        is_single = len(g) == 1
        if (kind == "single") != is_single:
            continue
        if chosen.intersection(g):
            out.append(p)
    return out


def _simulation_once(
    perts: Sequence[str], gene_frac: float, combo_frac: float, seed: int
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    all_genes = np.unique([g for p in perts for g in _genes(p)])
    rs = np.random.RandomState(seed)
    train_genes = rs.choice(all_genes, int(len(all_genes) * gene_frac), replace=False)
    ood_genes = np.setdiff1d(all_genes, train_genes)
    train_set = set(train_genes.tolist())
    train = _perts_with_genes(train_genes, perts, "single")
    combos = _perts_with_genes(train_genes, perts, "combo")
    seen1 = [p for p in combos if sum(g in train_set for g in _genes(p)) == 1]
    remaining = np.setdiff1d(np.array(combos, dtype=object).astype(str), seen1)
    rs = np.random.RandomState(seed)
    combo_train = rs.choice(remaining, int(len(remaining) * combo_frac), replace=False)
    seen2 = np.setdiff1d(remaining, combo_train).tolist()
    train += combo_train.tolist()
    unseen_single = _perts_with_genes(ood_genes, perts, "single")
    seen0 = [
        p
        for p in _perts_with_genes(ood_genes, perts, "combo")
        if not train_set.intersection(_genes(p))
    ]
    groups = {
        "combo_seen0": seen0,
        "combo_seen1": seen1,
        "combo_seen2": seen2,
        "unseen_single": unseen_single,
    }
    test = seen1 + seen2 + unseen_single + seen0
    return train, test, groups


def simulation_split(
    conditions: Iterable[str],
    *,
    seed: int = 1,
    train_gene_set_size: float = 0.75,
    combo_seen2_train_frac: float = 0.75,
) -> Split:
    """GEARS ``simulation`` split (procedure in the module docstring; defaults as GEARS).

    ``conditions`` are condition strings as in the data (GEARS forms; ``ctrl`` ignored).

    Raises:
        DataError: naming the split and the counts when train, validation or test would
            be empty (GEARS fails there with ``KeyError: 'val'``, issues #56 / #81).
    """
    perts = _perturbations(conditions)
    n_genes = len({g for p in perts for g in _genes(p)})
    if not perts:
        raise _too_few("simulation", "no perturbation conditions", {"conditions": 0})
    train, test, test_groups = _simulation_once(
        perts, train_gene_set_size, combo_seen2_train_frac, seed
    )
    counts = {"conditions": len(perts), "genes": n_genes, "train": len(train), "test": len(test)}
    if not train or not test:
        raise _too_few("simulation", "train or test set is empty", counts)
    train, val, val_groups = _simulation_once(train, 0.9, 0.9, seed)
    counts.update(train=len(train), val=len(val))
    if not train or not val:
        raise _too_few(
            "simulation",
            "train or validation set is empty after carving validation from train with 0.9",
            counts,
        )
    return Split(
        "simulation",
        seed,
        train + [CONTROL],
        val,
        test,
        test_groups,
        val_groups,
        {
            "train_gene_set_size": train_gene_set_size,
            "combo_seen2_train_frac": combo_seen2_train_frac,
        },
    )


def combo_split(
    conditions: Iterable[str], *, seed: int = 1, combo_train_frac: float = 0.5
) -> Split:
    """Norman protocol (Ahlmann-Eltze et al., Nat Methods 2025, double perturbations): train
    = every single + n_c = ⌊f · |doubles|⌋ doubles chosen by ``RandomState(seed).choice``
    (without replacement) from the sorted doubles, f = ``combo_train_frac``; test = the other
    doubles. Test subgroup ``combo_seen{k}``: k = #{X ∈ {A, B} : X+ctrl in train}. ``val`` is
    empty (:func:`resolve_split` carves it from the training doubles)."""
    perts = sorted(_perturbations(conditions))
    singles = [p for p in perts if len(_genes(p)) == 1]
    doubles = [p for p in perts if len(_genes(p)) > 1]
    n_train = int(len(doubles) * combo_train_frac)
    counts = {"singles": len(singles), "doubles": len(doubles), "train doubles": n_train}
    if len(doubles) < 2 or n_train < 1 or n_train >= len(doubles):
        raise _too_few("combo", "needs doubles in both train and test", counts)
    rs = np.random.RandomState(seed)
    chosen = set(rs.choice(np.array(doubles), n_train, replace=False).tolist())
    train = singles + [d for d in doubles if d in chosen]
    test = [d for d in doubles if d not in chosen]
    seen = set(singles)
    groups: dict[str, list[str]] = {f"combo_seen{k}": [] for k in range(3)}
    for d in test:
        k = sum(f"{g}+{CONTROL}" in seen for g in _genes(d))
        groups[f"combo_seen{min(k, 2)}"].append(d)
    return Split(
        "combo",
        seed,
        train + [CONTROL],
        [],
        test,
        groups,
        {},
        {"combo_train_frac": combo_train_frac},
    )


def make_split(name: str, conditions: Iterable[str], *, seed: int = 1, **kwargs: float) -> Split:
    """Dispatch by name: ``random``, ``simulation`` or ``combo`` (no validation carve-out:
    use :func:`resolve_split` for that)."""
    if name == "random":
        return random_split(conditions, seed=seed, **kwargs)
    if name == "simulation":
        return simulation_split(conditions, seed=seed, **kwargs)
    if name == "combo":
        return combo_split(conditions, seed=seed, **kwargs)
    raise DataError(
        f"unknown split {cut(name)!r}; choose {', '.join(SPLIT_NAMES)}", parameter="split"
    )


def with_validation(split: Split, *, fraction: float = VAL_FRACTION) -> Split:
    """``split`` itself when it has validation conditions; otherwise n_val =
    max(1, round(fraction · n)) of its n training perturbations moved to ``val``, chosen by
    ``RandomState(seed).permutation`` of the sorted pool, where the pool is the training
    doubles for a ``combo`` split (validation resembles its test) and every training
    perturbation otherwise. Left unchanged when the pool has fewer than 2 conditions.
    For ``random`` this equals ``random_split(val_fraction=fraction)`` (what ``grape train``
    has always used)."""
    if split.val:
        return split
    if split.name == "random":
        try:
            return random_split(
                [*split.train, *split.test],
                test_fraction=split.params.get("test_fraction", 0.3),
                val_fraction=fraction,
                seed=split.seed,
            )
        except DataError:  # too few training conditions to spare one
            return split
    perts = [c for c in split.train if _genes(c)]
    pool = sorted(c for c in perts if split.name != "combo" or len(_genes(c)) > 1)
    if len(pool) < 2:
        return split
    n_val = max(1, int(round(fraction * len(pool))))
    order = [pool[i] for i in np.random.RandomState(split.seed).permutation(len(pool))]
    val = set(order[:n_val])
    kinds = {
        "single": sorted(c for c in val if len(_genes(c)) == 1),
        "combo": sorted(c for c in val if len(_genes(c)) > 1),
    }
    return Split(
        split.name,
        split.seed,
        [c for c in split.train if c not in val],
        sorted(val),
        split.test,
        split.test_subgroup,
        kinds,
        {**split.params, "val_fraction": fraction},
    )


def _few(items: Iterable[str], n: int = 3) -> str:
    items = list(items)
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return cut(", ".join(str(i) for i in items[:n]), 60) + more


def split_from_file(
    path: str | PathLike[str],
    conditions: Iterable[str],
    *,
    seed: int = 1,
    control_labels: str | Iterable[str] = CONTROL,
    sep: str = "+",
) -> Split:
    """A user's split: the JSON :meth:`Split.to_json` writes (keys ``train``, ``test``,
    optional ``val`` and ``test_subgroup``), conditions in GEARS form (``A+ctrl``, ``A+B``,
    ``ctrl``) or in the dataset's own labels (``control_labels``, ``sep``), normalised with
    :func:`~grapekg.perturb.conditions.normalise_condition` (labels that are not canonical
    are tried both ways). ``ctrl`` is put in train.

    Raises:
        DataError (one line naming the file): unreadable JSON, a missing list, conditions not
            in the dataset (a few listed), a condition in two lists, an empty test list.
    """
    path = Path(path)
    known = _canonical_map(conditions)

    def fail(problem: str) -> DataError:
        return DataError(problem, path=path, parameter="--split")

    raw = _read_split_file(path)
    lists: dict[str, list[str]] = {}
    unknown: list[str] = []
    for key in ("train", "val", "test"):
        items = raw.get(key, [])
        out: list[str] = []
        for item in items:
            cond = _normalise(str(item), known, control_labels, sep)
            if cond is None:
                unknown.append(str(item))
            elif cond != CONTROL and cond not in out:
                out.append(cond)
        lists[key] = out
    if unknown:
        raise fail(f"{len(unknown)} condition(s) not in the dataset: {_few(unknown)}")
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        both = [c for c in lists[a] if c in set(lists[b])]
        if both:
            raise fail(f"{len(both)} condition(s) in both {a} and {b}: {_few(both)}")
    if not lists["test"]:
        raise fail("the test list is empty")
    if not lists["train"]:
        raise fail("the train list is empty")
    test = set(lists["test"])
    groups = raw.get("test_subgroup") or {}
    subgroups = (
        {
            str(g): [
                c for c in (_normalise(str(x), known, control_labels, sep) for x in cs) if c in test
            ]
            for g, cs in groups.items()
            if isinstance(cs, list)
        }
        if isinstance(groups, dict) and groups
        else {
            "single": [c for c in lists["test"] if len(_genes(c)) == 1],
            "combo": [c for c in lists["test"] if len(_genes(c)) > 1],
        }
    )
    return Split(
        f"file:{path.name}",
        seed,
        lists["train"] + [CONTROL],
        lists["val"],
        lists["test"],
        subgroups,
        {},
        {},
    )


def _canonical_map(conditions: Iterable[str]) -> dict[str, str]:
    """Canonical string -> the dataset's own condition string."""
    out: dict[str, str] = {}
    for c in conditions:
        try:
            out.setdefault(normalise_condition(str(c)), str(c))
        except DataError:
            out.setdefault(str(c), str(c))
    return out


def _normalise(
    text: str, known: Mapping[str, str], control_labels: str | Iterable[str], sep: str
) -> str | None:
    """The dataset's condition string that ``text`` names (GEARS form or the dataset's own
    labels), ``ctrl`` for the control, None when it names none."""
    if text in known.values():
        return text
    for kwargs in ({}, {"control_labels": control_labels, "sep": sep}):
        try:
            cond = normalise_condition(text, **kwargs)  # type: ignore[arg-type]
        except DataError:
            continue
        if cond == CONTROL:
            return CONTROL
        if cond in known:
            return known[cond]
    return None


def _read_split_file(path: Path) -> dict:
    """The JSON object of a split file with list-valued ``train`` / ``val`` / ``test``
    (DataError naming the file otherwise)."""

    def fail(problem: str) -> DataError:
        return DataError(problem, path=path, parameter="--split")

    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise fail("file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise fail(f"not a JSON split file ({cut(str(e), 60)})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("train"), list):
        raise fail("expected a JSON object with lists 'train', 'val' (may be empty) and 'test'")
    for key in ("val", "test"):
        if not isinstance(raw.get(key, []), list):
            raise fail(f"'{key}' must be a list of condition strings")
    return raw


#: the identity of a user's split file as :func:`split_tag` writes it
USER_TAG = re.compile(r"user-[0-9a-f]{10}")


def _lists_hash(lists: Mapping[str, Iterable[str]]) -> str:
    """10 hex digits of the SHA-256 of the sorted train / val / test lists (``ctrl`` left
    out: every split trains with it)."""
    canon = {
        k: sorted({str(c) for c in lists.get(k, ()) if str(c) != CONTROL})
        for k in ("train", "val", "test")
    }
    return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()[:10]


def _canonical(item: object) -> str:
    try:
        return normalise_condition(str(item))
    except DataError:
        return str(item)


def split_tag(spec: str) -> str:
    """The identity of a split spec in run ids and results folders: a built-in name as it
    is, and for a JSON file ``user-<hash>`` of its content (:func:`_lists_hash` of the
    train / val / test lists, each condition in canonical form), never of its name or path:
    two files with the same lists share it, an edited file or another file of the same name
    does not. A tag given back (``user-…``) is returned unchanged.

    Raises:
        DataError (naming the file): the file cannot be read as a split.
    """
    spec = str(spec)
    if spec in SPLIT_NAMES or USER_TAG.fullmatch(spec):
        return spec
    raw = _read_split_file(Path(spec))
    lists = {k: [_canonical(x) for x in raw.get(k, [])] for k in ("train", "val", "test")}
    return f"user-{_lists_hash(lists)}"


def split_label(spec: str) -> str:
    """Folder / run-id tag of a split spec (:func:`split_tag`)."""
    return split_tag(spec)


def split_id(split: Split) -> str:
    """10 hex digits identifying a resolved split's train / val / test lists (the
    evaluation records one per seed, so tables of different splits are never merged)."""
    return _lists_hash({"train": split.train, "val": split.val, "test": split.test})


def is_user_split(split: Split) -> bool:
    """True for a split read from a user's file (:func:`split_from_file`)."""
    return split.name.startswith("file:")


def validation_note(split: Split) -> str:
    """One line for the tables: where the split's validation conditions come from."""
    n_train = len([c for c in split.train if c != CONTROL])
    if is_user_split(split):
        if not split.val:
            return (
                "validation: none (user split): models select their epoch on the training "
                f"loss; baselines and models fit on all {n_train} training conditions"
            )
        return f"validation: the user split's own {len(split.val)} conditions"
    if "val_fraction" in split.params and split.val:
        pct = 100 * float(split.params["val_fraction"])
        return (
            f"validation: carved {pct:.0f} % seeded ({len(split.val)} conditions taken from "
            f"the training perturbations of the built-in {split.name} split)"
        )
    if split.val:
        return f"validation: the {split.name} split's own {len(split.val)} conditions"
    return (
        f"validation: none ({split.name} split: too few training conditions to carve one); "
        "models select their epoch on the training loss"
    )


def resolve_split(
    spec: str,
    conditions: Iterable[str],
    seed: int = 1,
    *,
    control_labels: str | Iterable[str] = CONTROL,
    sep: str = "+",
) -> Split:
    """THE split of ``grape evaluate`` and ``grape train``: ``spec`` is a split name
    (:data:`SPLIT_NAMES`) or a path to a JSON split file (:func:`split_from_file`). A built-in
    split carries validation conditions where the training list allows
    (:func:`with_validation`); a user's file is returned exactly as written (an empty
    ``val`` stays empty). Baselines and models fit on the same ``split.train`` and
    ``split.val`` serves model selection only.

    Raises:
        ConfigError: an unknown name that is no existing file. DataError: a bad split file,
            or too few conditions for the split.
    """
    conditions = list(conditions)
    if spec in SPLIT_NAMES:
        split = make_split(spec, conditions, seed=seed)
    elif spec.endswith(".json") or Path(spec).is_file():
        return split_from_file(spec, conditions, seed=seed, control_labels=control_labels, sep=sep)
    else:
        raise ConfigError(
            f"--split: unknown split {cut(spec)!r}; choose {', '.join(SPLIT_NAMES)} "
            "or an existing .json file"
        )
    return with_validation(split)


def split_group(
    spec: str,
    members: Mapping[str, Iterable[str]],
    seed: int = 1,
    **kwargs: str | Iterable[str],
) -> dict[str, Split]:
    """Splits of a dataset group: one :func:`resolve_split` of the union of the members'
    conditions (same spec and seed), each member's split = that split restricted to its own
    conditions (lists and subgroups), so a perturbation held out is held out in every context.
    A member's test list may be empty (it has none of the held-out perturbations)."""
    sets = {m: {str(c) for c in cs} for m, cs in members.items()}
    union = sorted(set().union(*sets.values())) if sets else []
    whole = resolve_split(spec, union, seed, **kwargs)  # type: ignore[arg-type]

    def keep(items: Iterable[str], own: set[str]) -> list[str]:
        return [c for c in items if c in own or c == CONTROL]

    return {
        m: Split(
            whole.name,
            whole.seed,
            keep(whole.train, own),
            keep(whole.val, own),
            keep(whole.test, own),
            {g: keep(cs, own) for g, cs in whole.test_subgroup.items()},
            {g: keep(cs, own) for g, cs in whole.val_subgroup.items()},
            dict(whole.params),
        )
        for m, own in sets.items()
    }
