"""GEARS simulation split (draw-for-draw) and the seeded random split."""

import itertools

import numpy as np
import pytest

from grapekg.perturb.errors import DataError
from grapekg.perturb.splits import (
    Split,
    make_split,
    random_split,
    simulation_split,
)


def _conditions(n_genes: int = 40, n_combos: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    genes = [f"G{i:02d}" for i in range(n_genes)]
    singles = [f"{g}+ctrl" if i % 2 else f"ctrl+{g}" for i, g in enumerate(genes)]
    pairs = list(itertools.combinations(genes, 2))
    combos = [
        f"{a}+{b}" for a, b in (pairs[i] for i in rng.choice(len(pairs), n_combos, replace=False))
    ]
    return ["ctrl", *singles, *combos]


def _gears_reference(pert_list: list[str], gene_frac: float, combo_frac: float, seed: int):
    """GEARS's get_simulation_split restated with the global numpy RNG it uses."""
    genes = np.unique([g for p in np.unique(pert_list) for g in p.split("+") if g != "ctrl"])
    np.random.seed(seed)
    train_genes = np.random.choice(genes, int(len(genes) * gene_frac), replace=False)
    ood = np.setdiff1d(genes, train_genes)

    def from_genes(gs, kind):
        pool = [p for p in pert_list if ("ctrl" in p) == (kind == "single") and p != "ctrl"]
        return [p for p in pool if len(np.intersect1d(p.split("+"), gs)) > 0]

    train = list(from_genes(train_genes, "single"))
    combos = from_genes(train_genes, "combo")
    seen1 = [p for p in combos if len([t for t in p.split("+") if t in train_genes]) == 1]
    combos = np.setdiff1d(combos, seen1)
    np.random.seed(seed)
    combo_train = np.random.choice(combos, int(len(combos) * combo_frac), replace=False)
    seen2 = np.setdiff1d(combos, combo_train).tolist()
    train += list(combo_train)
    unseen = from_genes(ood, "single")
    seen0 = [
        p
        for p in from_genes(ood, "combo")
        if len([t for t in p.split("+") if t in train_genes]) == 0
    ]
    return train, {
        "combo_seen0": seen0,
        "combo_seen1": seen1,
        "combo_seen2": seen2,
        "unseen_single": unseen,
    }


def test_simulation_split_reproduces_gears_draws() -> None:
    conds = _conditions()
    perts = [c for c in conds if c != "ctrl"]
    split = simulation_split(conds, seed=1)
    train, groups = _gears_reference(perts, 0.75, 0.75, 1)
    for name, members in groups.items():
        assert sorted(split.test_subgroup[name]) == sorted(members), name
    val_train, val_groups = _gears_reference(train, 0.9, 0.9, 1)
    assert sorted(split.train) == sorted([*val_train, "ctrl"])
    assert sorted(split.val) == sorted(v for g in val_groups.values() for v in g)


def test_simulation_split_partitions_and_subgroup_definitions() -> None:
    conds = _conditions()
    split = simulation_split(conds, seed=3)
    perts = set(conds) - {"ctrl"}
    parts = [set(split.train) - {"ctrl"}, set(split.val), set(split.test)]
    assert set.union(*parts) == perts
    assert sum(len(p) for p in parts) == len(perts)
    assert "ctrl" in split.train
    train_genes = {
        g
        for c in split.train + split.val
        for g in c.split("+")
        if g != "ctrl"
        if f"{g}+ctrl" in split.train + split.val or f"ctrl+{g}" in split.train + split.val
    }
    for c in split.test_subgroup["combo_seen2"]:
        assert all(g in train_genes for g in c.split("+"))
    for c in split.test_subgroup["combo_seen0"]:
        assert not any(g in train_genes for g in c.split("+"))
    for c in split.test_subgroup["unseen_single"]:
        gene = next(g for g in c.split("+") if g != "ctrl")
        assert gene not in train_genes
    assert all(len(v) > 0 for v in split.test_subgroup.values())


def test_simulation_split_is_seeded() -> None:
    conds = _conditions()
    assert simulation_split(conds, seed=1) == simulation_split(
        list(reversed(conds)), seed=1
    ) or sorted(simulation_split(conds, seed=1).test) == sorted(
        simulation_split(list(reversed(conds)), seed=1).test
    )
    assert sorted(simulation_split(conds, seed=1).test) != sorted(
        simulation_split(conds, seed=2).test
    )


@pytest.mark.parametrize("conds", [["ctrl", "A+ctrl"], ["ctrl", "A+ctrl", "B+ctrl"], ["ctrl"]])
def test_simulation_split_too_few_is_a_data_error(conds: list[str]) -> None:
    with pytest.raises(DataError, match=r"split='simulation'.*conditions \d+"):
        simulation_split(conds)


def test_random_split() -> None:
    conds = _conditions()
    split = random_split(conds, seed=7)
    n = len(conds) - 1
    assert len(split.test) == round(0.3 * n)
    assert len(split.train) - 1 == n - len(split.test)
    assert not set(split.test) & set(split.train)
    assert split == random_split(list(reversed(conds)), seed=7)
    assert split.test != random_split(conds, seed=8).test
    assert sorted(split.test_subgroup["single"] + split.test_subgroup["combo"]) == split.test
    with_val = random_split(conds, seed=7, val_fraction=0.1)
    assert with_val.test == split.test and len(with_val.val) == round(0.1 * (n - len(split.test)))


def test_random_split_too_few() -> None:
    with pytest.raises(DataError, match=r"split='random'.*conditions 1"):
        random_split(["ctrl", "A+ctrl"])


def test_json_roundtrip_and_dispatch(tmp_path) -> None:
    split = make_split("simulation", _conditions(), seed=1)
    split.to_json(tmp_path / "s.json")
    assert Split.from_json(tmp_path / "s.json") == split
    with pytest.raises(DataError, match="unknown split"):
        make_split("nope", _conditions())
