"""Perturbation condition strings.

GEARS writes a condition as ``ctrl`` (control cells), ``A+ctrl`` or ``ctrl+A``
(single knock-down of gene ``A``) and ``A+B`` (double). Other datasets use another
control label (``control``, ``non-targeting``) or another separator (``_``).

A condition is represented canonically as a sorted tuple of gene symbols
(``()`` for control, ``("A",)``, ``("A", "B")``); its canonical string is
``ctrl``, ``A+ctrl`` or ``A+B`` with the genes sorted, so that ``ctrl+A``,
``A+ctrl`` and ``A_control`` all map to ``A+ctrl``.
"""

from __future__ import annotations

from collections.abc import Iterable

from grapekg.perturb.errors import DataError

__all__ = [
    "CONTROL",
    "Condition",
    "canonical_string",
    "condition_name",
    "is_control",
    "n_perturbed",
    "normalise_condition",
    "parse_condition",
    "shorten",
]

CONTROL = "ctrl"
"""GEARS's control label, also the canonical one."""

Condition = tuple[str, ...]
"""Sorted tuple of perturbed gene symbols; ``()`` is the control."""


def shorten(value: object, limit: int = 80) -> str:
    """A value for an error message: a plain ``str`` (never ``np.str_('...')``) cut to
    ``limit`` characters with ``…`` and the full length, so one-line messages stay one line."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} chars)"


def _control_set(control_labels: str | Iterable[str]) -> frozenset[str]:
    labels = [control_labels] if isinstance(control_labels, str) else list(control_labels)
    return frozenset(label.strip().lower() for label in [*labels, CONTROL])


def parse_condition(
    text: str,
    *,
    control_labels: str | Iterable[str] = CONTROL,
    sep: str = "+",
) -> Condition:
    """Parse one condition string into a canonical tuple of gene symbols.

    The string is split on ``sep``; tokens equal (case-insensitively) to a
    control label (``ctrl`` is always one) are dropped; the remaining symbols are
    returned sorted. A string that is itself a control label is the control ``()``.

    Raises:
        DataError: for an empty string or token, or a gene repeated in one condition.
    """
    controls = _control_set(control_labels)
    raw = str(text).strip()
    if not raw:
        raise DataError("empty condition string", parameter="condition")
    if raw.lower() in controls:
        return ()
    tokens = [t.strip() for t in raw.split(sep)]
    if any(not t for t in tokens):
        raise DataError(
            f"empty gene token in condition '{shorten(text)}' (separator '{sep}')",
            parameter="condition",
        )
    genes = [t for t in tokens if t.lower() not in controls]
    if len(set(genes)) != len(genes):
        raise DataError(f"gene repeated in condition '{shorten(text)}'", parameter="condition")
    return tuple(sorted(genes))


def canonical_string(genes: Iterable[str]) -> str:
    """Canonical string of a condition: ``ctrl``, ``A+ctrl`` or ``A+B`` (genes sorted).

    Three or more genes are joined with ``+`` in sorted order (GEARS itself stops at two).
    """
    ordered = sorted(genes)
    if not ordered:
        return CONTROL
    if len(ordered) == 1:
        return f"{ordered[0]}+{CONTROL}"
    return "+".join(ordered)


def normalise_condition(
    text: str,
    *,
    control_labels: str | Iterable[str] = CONTROL,
    sep: str = "+",
) -> str:
    """``canonical_string(parse_condition(text, ...))``: e.g. ``ctrl+A`` -> ``A+ctrl``,
    ``B_A`` (sep ``_``) -> ``A+B``, ``non-targeting`` -> ``ctrl``."""
    return canonical_string(parse_condition(text, control_labels=control_labels, sep=sep))


def is_control(text: str, *, control_labels: str | Iterable[str] = CONTROL, sep: str = "+") -> bool:
    """True when the condition string perturbs no gene."""
    return parse_condition(text, control_labels=control_labels, sep=sep) == ()


def n_perturbed(text: str) -> int:
    """Number of perturbed genes of a canonical (or GEARS) condition string."""
    return len(parse_condition(text))


def condition_name(cell_type: str, condition: str) -> str:
    """GEARS ``condition_name``: ``f"{cell_type}_{condition}_{dose}"`` where dose is
    ``1+1`` when the condition string has two ``+``-separated parts (``A+ctrl`` and
    ``A+B``) and ``1`` otherwise (``ctrl``), e.g. ``K562_FOXA1+ctrl_1+1``, ``K562_ctrl_1``."""
    dose = "1+1" if len(condition.split("+")) == 2 else "1"
    return f"{cell_type}_{condition}_{dose}"
