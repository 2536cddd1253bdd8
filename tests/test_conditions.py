"""Condition-string parsing and canonical forms."""

import pytest

from grapekg.perturb.conditions import (
    canonical_string,
    condition_name,
    is_control,
    normalise_condition,
    parse_condition,
)
from grapekg.perturb.errors import DataError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ctrl", ()),
        ("A+ctrl", ("A",)),
        ("ctrl+A", ("A",)),
        ("B+A", ("A", "B")),
        (" A + B ", ("A", "B")),
    ],
)
def test_parse_gears_forms(text: str, expected: tuple[str, ...]) -> None:
    assert parse_condition(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ctrl", "ctrl"),
        ("ctrl+FOXA1", "FOXA1+ctrl"),
        ("FOXA1+ctrl", "FOXA1+ctrl"),
        ("KLF1+BAK1", "BAK1+KLF1"),
        ("BAK1+KLF1", "BAK1+KLF1"),
    ],
)
def test_canonical_string(text: str, expected: str) -> None:
    assert normalise_condition(text) == expected


def test_other_conventions() -> None:
    opts = {"control_labels": ["control", "non-targeting"], "sep": "_"}
    assert normalise_condition("non-targeting", **opts) == "ctrl"
    assert normalise_condition("Control", **opts) == "ctrl"
    assert normalise_condition("KLF1_BAK1", **opts) == "BAK1+KLF1"
    assert normalise_condition("KLF1_control", **opts) == "KLF1+ctrl"
    assert normalise_condition("KLF1", **opts) == "KLF1+ctrl"
    assert is_control("non-targeting", **opts)
    assert not is_control("KLF1", **opts)


def test_gene_symbols_keep_case() -> None:
    assert parse_condition("abc+ctrl") == ("abc",)
    assert canonical_string(["b", "A"]) == "A+b"


@pytest.mark.parametrize("bad", ["", "A++B", "A+A", "+A"])
def test_bad_strings_raise_data_error(bad: str) -> None:
    with pytest.raises(DataError, match="condition"):
        parse_condition(bad)


def test_condition_name_matches_gears() -> None:
    assert condition_name("K562", "FOXA1+ctrl") == "K562_FOXA1+ctrl_1+1"
    assert condition_name("K562", "A+B") == "K562_A+B_1+1"
    assert condition_name("K562", "ctrl") == "K562_ctrl_1"
