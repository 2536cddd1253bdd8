"""GEARS simulation split (draw-for-draw), the seeded random split, the combo (Norman)
split, user split files and the group splits of resolve_split / split_group."""

import itertools
import json

import numpy as np
import pytest

from grapekg.errors import ConfigError
from grapekg.perturb.errors import DataError
from grapekg.perturb.splits import (
    Split,
    make_split,
    random_split,
    resolve_split,
    simulation_split,
    split_group,
    split_label,
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


# ---------------------------------------------------------------------- combo, files, resolve
def _norman(n_genes: int = 10) -> list[str]:
    """Singles of G0..G7 (G8, G9 have no single) and every double of G0..G9."""
    genes = [f"G{i}" for i in range(n_genes)]
    singles = [f"{g}+ctrl" for g in genes[:8]]
    return ["ctrl", *singles, *(f"{a}+{b}" for a, b in itertools.combinations(genes, 2))]


def test_combo_split_trains_on_singles_and_half_the_doubles() -> None:
    conds = _norman()
    split = make_split("combo", conds, seed=3)
    doubles = [c for c in conds if "+" in c and "ctrl" not in c]
    singles = [c for c in conds if c.endswith("+ctrl")]
    assert set(singles) <= set(split.train) and "ctrl" in split.train
    train_doubles = [c for c in split.train if c in doubles]
    assert len(train_doubles) == len(doubles) // 2
    assert sorted(train_doubles + split.test) == sorted(doubles)
    assert split.val == []
    # subgroup = how many of the double's singles are in train (G8, G9 have none)
    for k in range(3):
        for d in split.test_subgroup[f"combo_seen{k}"]:
            assert sum(f"{g}+ctrl" in split.train for g in d.split("+")) == k
    assert "G8+G9" in split.test_subgroup["combo_seen0"] or "G8+G9" in split.train
    assert sum(len(v) for v in split.test_subgroup.values()) == len(split.test)
    assert make_split("combo", conds, seed=3) == split
    assert make_split("combo", conds, seed=4) != split
    half = make_split("combo", conds, seed=3, combo_train_frac=0.25)
    assert len([c for c in half.train if c in doubles]) == int(len(doubles) * 0.25)
    with pytest.raises(DataError, match="combo.*doubles 0"):
        make_split("combo", ["ctrl", "A+ctrl", "B+ctrl"])


def test_resolve_split_carves_validation_for_every_kind() -> None:
    conds = _conditions()
    # random: exactly what grape train always used (random_split with val_fraction 0.15)
    assert resolve_split("random", conds, 2) == random_split(conds, seed=2, val_fraction=0.15)
    assert resolve_split("random", conds, 2).test == random_split(conds, seed=2).test
    # simulation: unchanged (it has its own validation)
    assert resolve_split("simulation", conds, 2) == simulation_split(conds, seed=2)
    # combo: 15 % of the training doubles
    norman = _norman()
    plain, combo = make_split("combo", norman, seed=1), resolve_split("combo", norman, 1)
    assert combo.test == plain.test and combo.val
    assert all("ctrl" not in c for c in combo.val)
    n_train_doubles = len([c for c in plain.train if "ctrl" not in c])
    assert len(combo.val) == round(0.15 * n_train_doubles)
    assert sorted(combo.train + combo.val) == sorted(plain.train)
    assert resolve_split("combo", norman, 1) == combo
    with pytest.raises(ConfigError, match="unknown split 'nope'"):
        resolve_split("nope", conds, 1)


def _write(tmp_path, obj, name: str = "split.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def test_split_file_normalises_labels_and_keeps_an_empty_val(tmp_path) -> None:
    conds = ["ctrl", "A+ctrl", "B+ctrl", "C+ctrl", "D+ctrl", "A+B", "C+D"]
    path = _write(
        tmp_path,
        {
            "train": ["ctrl+A", "B", "C_control", "D+ctrl", "ctrl"],
            "val": [],
            "test": ["B+A", "C+D"],
        },
    )
    split = resolve_split(str(path), conds, 1, control_labels=["control"], sep="_")
    assert split.name == "file:split.json"
    assert sorted(split.test) == ["A+B", "C+D"]
    assert sorted(split.train) == ["A+ctrl", "B+ctrl", "C+ctrl", "D+ctrl", "ctrl"]
    assert split.val == []  # a user's split is used as written: no validation carved
    assert split.test_subgroup == {"single": [], "combo": ["A+B", "C+D"]}
    # a Split written by to_json reads back (its val kept)
    sim = simulation_split(_conditions(), seed=1)
    sim.to_json(tmp_path / "sim.json")
    back = resolve_split(str(tmp_path / "sim.json"), _conditions(), 1)
    assert back.test == sim.test and back.val == sim.val and back.train == sim.train
    assert back.test_subgroup == sim.test_subgroup
    assert split_label(str(path)).startswith("user-") and split_label("combo") == "combo"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"train": ["A+ctrl"], "val": [], "test": ["X+ctrl", "Y+Z", "W"]}, "3 condition.*X\\+ctrl"),
        ({"train": ["A+ctrl", "B+ctrl"], "val": [], "test": ["ctrl+A"]}, "both train and test: A"),
        ({"train": ["A+ctrl"], "val": ["B+ctrl"], "test": ["B+ctrl"]}, "both val and test"),
        ({"train": ["A+ctrl"], "val": [], "test": []}, "test list is empty"),
        ({"train": ["A+ctrl"], "test": "B+ctrl"}, "'test' must be a list"),
        ({"val": []}, "expected a JSON object"),
        ("{not json", "not a JSON split file"),
    ],
)
def test_split_file_validation_is_one_line_naming_the_file(tmp_path, content, message) -> None:
    conds = ["ctrl", "A+ctrl", "B+ctrl", "A+B"]
    path = _write(tmp_path, content)
    with pytest.raises(DataError, match=message) as err:
        resolve_split(str(path), conds, 1)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="file not found"):
        resolve_split(str(tmp_path / "missing.json"), conds, 1)


def test_split_group_holds_a_perturbation_out_in_every_context() -> None:
    a = _conditions(seed=0)
    b = [c for c in a if not c.startswith("G0")]  # context b lacks some conditions
    b = [*b, "H1+ctrl"]
    parts = split_group("simulation", {"x@a": a, "x@b": b}, 1)
    whole = resolve_split("simulation", sorted(set(a) | set(b)), 1)
    for member, own in (("x@a", a), ("x@b", b)):
        s = parts[member]
        for key in ("train", "val", "test"):
            assert set(getattr(s, key)) - {"ctrl"} == set(getattr(whole, key)) & set(own) - {"ctrl"}
        for group, cs in s.test_subgroup.items():
            assert set(cs) == set(whole.test_subgroup[group]) & set(own)
    shared_test = set(parts["x@a"].test) & set(b)
    assert shared_test <= set(parts["x@b"].test)
