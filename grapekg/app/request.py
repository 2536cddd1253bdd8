"""``grape train``'s request and the checks that need no model code: the model and variant
(:mod:`grapekg.app.registry`), ablations, split, label, options a model does not take, the
numeric limits of :mod:`grapekg.app.bounds`, and the run label. Pure Python (no numpy, pandas
or torch), so a usage error answers at once and imports nothing heavy."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from grapekg.app import bounds, registry
from grapekg.errors import ConfigError, cut

__all__ = ["TrainRequest", "check_request", "model_options", "run_label"]


@dataclass
class TrainRequest:
    """``grape train``'s choices, as given (None = the model's default)."""

    dataset: str
    model: str = "grape"
    variant: str = "paper"
    split: str = "simulation"
    seeds: list[int] = field(default_factory=lambda: [1])
    ablations: list[str] = field(default_factory=lambda: ["none"])
    options: dict[str, Any] = field(default_factory=dict)
    set_pairs: list[str] = field(default_factory=list)
    label: str | None = None
    device: str = "auto"
    write_back: bool = True
    jobs: int = 1


def check_request(req: TrainRequest) -> registry.ModelEntry:
    """Every usage check that needs no model code (ConfigError, one line, rc 2): the model
    and variant, ablations, split, label, options the model does not take, the numeric
    limits of :mod:`grapekg.app.bounds` and the ``--set`` keys' limits."""
    entry = registry.get(req.model)
    variant = entry.variant(req.variant)
    for abl in req.ablations:
        if abl != "none" and abl not in entry.ablations:
            raise ConfigError(
                f"--ablation {cut(abl, 40)!r}: {entry.name} has "
                f"{', '.join(('none', *entry.ablations))}"
            )
    if not req.split.lower().endswith(".json") and req.split not in bounds.SPLIT_NAMES:
        raise ConfigError(f"--split {cut(req.split, 40)!r}: choose from "
                          f"{', '.join(bounds.SPLIT_NAMES)} or a split .json file")  # fmt: skip
    if req.jobs < 1:
        raise ConfigError(f"--jobs {req.jobs}: at least 1")
    if req.jobs > 1 and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ConfigError("--jobs: seeds run as parallel processes or data-parallel, not both")
    if req.label is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}", req.label):
        raise ConfigError(f"--label {req.label[:40]!r}: letters, digits and _ . + - (at most 64)")
    for key, value in req.options.items():
        if key not in entry.options and value not in (None, False):
            takes = ", ".join("--" + k.replace("_", "-") for k in entry.options)
            raise ConfigError(
                f"--{key.replace('_', '-')}: {entry.title} does not take it ({takes})"
            )
    numbers = {
        k: (entry.options[k] if v is None else v)
        for k, v in req.options.items()
        if k in entry.options and not isinstance(entry.options[k], bool)
    }
    if entry.name in ("grape", "biodsnn"):
        bounds.check_options(entry.name, numbers)
        bounds.check_set_pairs(entry.name, [*variant.settings, *req.set_pairs])
    return entry


def model_options(entry: registry.ModelEntry, req: TrainRequest) -> dict[str, Any]:
    """The options the model takes: given ones, else the entry's defaults."""
    given = {k: v for k, v in req.options.items() if v is not None}
    return {k: given.get(k, default) for k, default in entry.options.items()}


def run_label(
    entry: registry.ModelEntry, req: TrainRequest, ablation: str | None, user_keys: list[str]
) -> str:
    """``--label`` (with the ablation appended), else the variant's label (``-pc`` with
    GRAPE's perturbation channel), ``-<ablation>``, and ``+KEY`` per ``--set`` key."""
    if req.label:
        return req.label if ablation is None else f"{req.label}-{ablation.replace('_', '-')}"
    base = entry.label(req.variant)
    if req.options.get("pert_channel"):
        base += "-pc"
    if ablation:
        base += f"-{ablation.replace('_', '-')}"
    return base + "".join(f"+{k}" for k in sorted(user_keys))
