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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from grapekg.perturb.conditions import CONTROL, parse_condition
from grapekg.perturb.errors import DataError

__all__ = ["Split", "random_split", "simulation_split", "make_split"]

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


def make_split(name: str, conditions: Iterable[str], *, seed: int = 1, **kwargs: float) -> Split:
    """Dispatch by name: ``random`` or ``simulation``."""
    if name == "random":
        return random_split(conditions, seed=seed, **kwargs)
    if name == "simulation":
        return simulation_split(conditions, seed=seed, **kwargs)
    raise DataError(f"unknown split {name!r}; choose 'random' or 'simulation'", parameter="split")
