"""The models ``grape train`` knows, their named variants, and how a new one is added.

An entry (:class:`ModelEntry`) says what the pipeline needs of a model without importing it
(no torch here: ``grape train --help`` and usage errors stay instant): its name, what its
runs are called, its ablations, which ``grape train`` options it takes and their defaults,
its named variants, and the module that implements :class:`grapekg.app.training.ModelRuns`
(config type, inputs read from the KG, fit, predict, the learned edges it writes back).

Built in: ``grape`` (:mod:`grapekg.app.train`) and ``biodsnn`` (:mod:`grapekg.app.biodsnn`).
Another package adds a model with one module and one entry point in the ``grapekg.models``
group naming a :class:`ModelEntry` (``mymodel = my_package.runs:ENTRY``), the way
``grapekg.adapters`` adds a knowledge source.

A **variant** is a named set of ``--set`` settings with the run label it gives
(``grape train --variant lp``); ``--set`` stays for tuning and wins over the variant's
value of the same key. The default variant of every model is ``paper``: the model as its
paper has it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from grapekg.errors import ConfigError, cut

__all__ = [
    "BIODSNN",
    "GRAPE",
    "ModelEntry",
    "Variant",
    "get",
    "models",
]


@dataclass(frozen=True)
class Variant:
    """A named combination of settings (``KEY=VALUE`` as ``--set`` takes them)."""

    name: str
    label: str
    description: str
    settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelEntry:
    """One trainable model of ``grape train --model NAME``.

    ``runs`` is ``module:attribute`` of the object implementing
    :class:`grapekg.app.training.ModelRuns`; ``options`` the ``grape train`` options the model
    takes with its default for each (None = the option's own default); an option a model does
    not take is refused when given.
    """

    name: str
    title: str
    description: str
    runs: str
    ablations: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    variants: tuple[Variant, ...] = (Variant("paper", "", "the model as published"),)

    def variant(self, name: str) -> Variant:
        """The variant called ``name`` (ConfigError naming ``--variant`` otherwise)."""
        for v in self.variants:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.variants)
        raise ConfigError(f"--variant {cut(name, 40)!r}: {self.name} has {known}")

    def label(self, variant: str) -> str:
        """The run label of a variant (``grape``, ``grape-lp``, ...)."""
        v = self.variant(variant)
        return v.label or self.name

    def load(self) -> Any:
        """The implementation (imported now: it needs torch)."""
        module, _, attr = self.runs.partition(":")
        return getattr(importlib.import_module(module), attr)


_SHOCK = (
    "prior_shock=true",
    "self_term=true",
    "control_input=true",
    "select_on=pcc_de20",
    "min_steps=300",
)
_VOTE = (*_SHOCK, "prior_shock.vote=true")
_ANCHOR = (*_VOTE, "single_anchor=true")

GRAPE = ModelEntry(
    name="grape",
    title="GRAPE",
    description="heterogeneous graph attention over the typed c/nc gene graph (arXiv 2505.03853)",
    runs="grapekg.app.train:GRAPE_RUNS",
    ablations=("only_seq", "only_desc", "only_fusion", "no_gsl", "no_biotype"),
    options={
        "epochs": 20,
        "align_epochs": 10,
        "hidden": 64,
        "heads": 4,
        "top_k": 4,
        "batch_size": 16,
        "lr": 1e-3,
        "neighbourhood": 0,
        "pert_channel": False,
    },
    variants=(
        Variant("paper", "grape", "the paper's model, Eq. 1-17 (the default)"),
        Variant(
            "shock",
            "grape-shock",
            "+ the knock-down's signed first-order effect on its KG neighbours (prior_shock), "
            "the perturbed gene's own level from its control level (self_term), the control "
            "level as input (control_input), epoch chosen on the DE genes' Pearson delta, "
            "at least 300 optimiser steps",
            _SHOCK,
        ),
        Variant(
            "vote",
            "grape-vote",
            "shock + the regulator's sign voted by its trained KG neighbours (prior_shock.vote)",
            _VOTE,
        ),
        Variant(
            "anchor",
            "grape-anchor",
            "vote + each measured training single's shrunken residual added back (single_anchor)",
            _ANCHOR,
        ),
        Variant(
            "anchor-h2",
            "grape-anchor-h2",
            "anchor with the sign vote averaged over two KG neighbourhoods "
            "(prior_shock.vote_hops=2)",
            (*_ANCHOR, "prior_shock.vote_hops=2"),
        ),
        Variant(
            "lp",
            "grape-lp",
            "anchor + a closed-form label-propagated sign vote of the training singles "
            "(prior_shock.lp_vote): the best measured on the learnable simulator",
            (*_ANCHOR, "prior_shock.lp_vote=true"),
        ),
    ),
)

BIODSNN = ModelEntry(
    name="biodsnn",
    title="BioDSNN",
    description="VAE + pathway-masked gene attention over GO and co-expression graphs",
    runs="grapekg.app.biodsnn:BIODSNN_RUNS",
    ablations=("no_vae", "no_mask", "no_attention"),
    options={"epochs": 20, "hidden": 64, "heads": 2, "batch_size": 32, "lr": 1e-3},
    variants=(
        Variant("paper", "biodsnn", "the paper's model (the default)"),
        Variant(
            "sign",
            "biodsnn-sign",
            "Eq. 9's direction term as written (sign, no gradient) instead of its smooth form",
            ("direction=sign",),
        ),
    ),
)

_BUILT_IN = (GRAPE, BIODSNN)


def models() -> dict[str, ModelEntry]:
    """Every model: the built-in ones, then those of the ``grapekg.models`` entry points
    (an entry point that fails to load, or is not a ModelEntry, is a ConfigError)."""
    out = {m.name: m for m in _BUILT_IN}
    for ep in entry_points(group="grapekg.models"):
        try:
            entry = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is named, not crashed on
            raise ConfigError(
                f"model plug-in {ep.name!r} ({ep.value}): {cut(str(exc), 120)}"
            ) from None
        if not isinstance(entry, ModelEntry) or entry.name != ep.name:
            raise ConfigError(
                f"model plug-in {ep.name!r} ({ep.value}): not a ModelEntry named {ep.name!r}"
            )
        if entry.name in out:
            raise ConfigError(f"model plug-in {ep.name!r}: a model of that name exists")
        out[entry.name] = entry
    return out


def get(name: str) -> ModelEntry:
    """The model called ``name`` (ConfigError naming ``--model`` otherwise)."""
    known = models()
    if name not in known:
        raise ConfigError(f"--model {cut(name, 40)!r}: choose from {', '.join(known)}")
    return known[name]
