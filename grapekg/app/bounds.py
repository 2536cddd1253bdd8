"""The limits of ``grape train``'s options and ``--set`` values, checked before anything is
imported, read or written: a value outside them is a usage error (rc 2) naming the option,
never a run killed for memory minutes later or a run folder left behind.

Pure Python on purpose (no torch, no numpy): the command checks its options with this module
before it imports the model code. The same table checks ``--set KEY=VALUE`` (as soon as it is
parsed) and the final model configuration (every field, whether given as an option, through
``--set`` or as a default), so an option and the ``--set`` of the same setting obey one
limit.

Limits (documented in ``grape train --help`` through the option's own text where it has
one):

- ``lr`` in (0, 1]; every float setting finite (nan and inf are refused);
- ``hidden`` 8-2048, attention heads (``heads``, GRAPE's ``gat_heads`` / ``sim_heads``,
  BioDSNN's ``heads``) 1-32, and heads x hidden at most :data:`MAX_HEADS_X_HIDDEN`: the
  attention of one layer keeps (edges x heads x hidden) floats per relation, so at the limit
  (8,192) 10,000 edges take 0.33 GB a layer, and a thousand heads exhaust the memory of a
  workstation on a few hundred genes;
- epochs 1-100,000, ``top_k`` 1-256, ``batch_size`` 1-100,000, ``neighbourhood`` 0-3;
- the other integer settings as in :data:`GRAPE_BOUNDS` / :data:`BIODSNN_BOUNDS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grapekg.app.registry import BIODSNN, GRAPE
from grapekg.errors import ConfigError, cut

#: ablations of each built-in model (their registry entries)
ABLATIONS: dict[str, tuple[str, ...]] = {m.name: m.ablations for m in (GRAPE, BIODSNN)}
#: built-in split kinds (grapekg.perturb.splits.SPLIT_NAMES; a test keeps them equal)
SPLIT_NAMES = ("random", "simulation", "combo")

#: heads x hidden at most (memory of the attention, see the module docstring)
MAX_HEADS_X_HIDDEN = 8192

#: shared limits: setting -> (minimum, maximum, minimum excluded); None = unbounded
_COMMON: dict[str, tuple[float | None, float | None, bool]] = {
    "hidden": (8, 2048, False),
    "lr": (0.0, 1.0, True),
    "weight_decay": (0.0, 1.0, False),
    "epochs": (1, 100_000, False),
    "batch_size": (1, 100_000, False),
    "patience": (1, 100_000, False),
    "dropout": (0.0, 0.99, False),
    "grad_clip": (0.0, None, False),
    "seed": (0, 2**31 - 1, False),
}

#: GrapeConfig fields (grapekg.model.grape.config)
GRAPE_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    **_COMMON,
    "text_dim": (0, None, False),
    "dna_dim": (0, None, False),
    "gaussian_sigma": (0.0, 100.0, True),
    "temperature": (0.0, 100.0, True),
    "sim_heads": (1, 32, False),
    "sim_top_k": (1, 256, False),
    "gsl_hops": (1, 8, False),
    "gat_heads": (1, 32, False),
    "gat_layers": (1, 8, False),
    "prior_shock.vote_hops": (1, 16, False),
    "block_budget": (10_000, 1_000_000_000, False),
    "min_steps": (0, 10_000_000, False),
    "huber_delta": (0.0, None, True),
    "dir_weight": (0.0, None, False),
    "reg_weight": (0.0, None, False),
    "align_weight": (0.0, None, False),
    "align_epochs": (0, 100_000, False),
    "cells_per_step": (1, 1_000_000, False),
}

#: BiodsnnConfig fields (grapekg.model.biodsnn.config)
BIODSNN_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    **_COMMON,
    "heads": (1, 32, False),
    "go_layers": (1, 8, False),
    "coexpr_layers": (1, 8, False),
    "coexpr_top_k": (1, 1000, False),
    "coexpr_threshold": (0.0, 1.0, False),
    "pos_weight": (0.0, None, False),
    "ff_hidden": (1, 16_384, False),
    "attn_layers": (1, 8, False),
    "nomask_k": (1, 100_000, False),
    "dense_limit": (1, None, False),
    "vae_latent": (1, 4096, False),
    "noise": (0.0, None, False),
    "autofocus_gamma": (0.0, None, False),
    "beta": (0.0, None, False),
    "direction_lambda": (0.0, None, False),
    "direction_k": (0.0, None, True),
    "kl_weight": (0.0, None, False),
    "recon_weight": (0.0, None, False),
    "step_gamma": (0.0, 1.0, True),
    "steps_per_epoch": (0, 100_000, False),
}

#: the options of ``grape train`` and the settings each one sets (``--set`` of one of these
#: is refused: the option is the one way to give it). Option names as ``--set`` would spell
#: them (``top_k``) map to the model settings they fill.
GRAPE_OPTION_KEYS: dict[str, str] = {
    "epochs": "--epochs",
    "align_epochs": "--align-epochs",
    "hidden": "--hidden",
    "heads": "--heads",
    "gat_heads": "--heads",
    "sim_heads": "--heads",
    "top_k": "--top-k",
    "sim_top_k": "--top-k",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "pert_channel": "--pert-channel",
    "neighbourhood": "--neighbourhood",
    "device": "--device",
    "seed": "--seeds",
    "seeds": "--seeds",
}
BIODSNN_OPTION_KEYS: dict[str, str] = {
    "epochs": "--epochs",
    "hidden": "--hidden",
    "heads": "--heads",
    "batch_size": "--batch-size",
    "lr": "--lr",
    "device": "--device",
    "seed": "--seeds",
    "seeds": "--seeds",
}

#: the bounds of the option-named keys of ``--set`` (``top_k`` is ``--top-k``'s spelling)
_ALIASES = {"top_k": "sim_top_k", "neighbourhood": "neighbourhood"}
#: old flat ``--set`` keys of GRAPE and their dotted names (GrapeConfig.SET_ALIASES, which
#: needs torch to import; a test keeps them equal)
SET_ALIASES = {
    "prior_vote": "prior_shock.vote",
    "vote_hops": "prior_shock.vote_hops",
    "lp_vote": "prior_shock.lp_vote",
}
_OPTION_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    "neighbourhood": (0, 3, False),
    "align_epochs": (0, 100_000, False),
}


def _limit(value: float, lo: float | None, hi: float | None, open_lo: bool) -> str | None:
    """Why ``value`` is outside the limits, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if lo is not None and open_lo and value <= lo:
        return f"must be greater than {lo:g}"
    if lo is not None and value < lo:
        return f"must be at least {lo:g}"
    if hi is not None and value > hi:
        return f"must be at most {hi:g}"
    return None


def check_value(
    option: str, key: str, value: Any, table: Mapping[str, tuple[float | None, float | None, bool]]
) -> None:
    """``value`` of setting ``key`` within ``table``'s limits (every float finite), else a
    ConfigError naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    bounds = table.get(_ALIASES.get(key, key)) or _OPTION_BOUNDS.get(key)
    why = _limit(value, None, None, False) if bounds is None else _limit(value, *bounds)
    if why:
        sep = "" if option.endswith("=") else " "
        raise ConfigError(f"{option}{sep}{cut(str(value), 40)}: {why}")


def check_heads_hidden(heads: int, hidden: int, option: str = "--heads") -> None:
    """heads x hidden at most :data:`MAX_HEADS_X_HIDDEN` (the attention's memory)."""
    if heads * hidden > MAX_HEADS_X_HIDDEN:
        raise ConfigError(
            f"{option} {heads} with --hidden {hidden}: heads x hidden = {heads * hidden:,} is "
            f"more than {MAX_HEADS_X_HIDDEN:,} (the attention keeps edges x heads x hidden "
            "floats per layer); use fewer heads or a smaller --hidden"
        )


def check_options(model: str, options: Mapping[str, Any]) -> None:
    """The numeric options of ``grape train`` (``model`` grape or biodsnn) within their
    limits; None (an option left to the model's default) is skipped."""
    table = GRAPE_BOUNDS if model == "grape" else BIODSNN_BOUNDS
    for key, value in options.items():
        if value is None:
            continue
        table_key = {"heads": "gat_heads" if model == "grape" else "heads", "top_k": "sim_top_k"}
        check_value(f"--{key.replace('_', '-')}", table_key.get(key, key), value, table)
    heads, hidden = options.get("heads"), options.get("hidden")
    if heads is not None and hidden is not None:
        check_heads_hidden(int(heads), int(hidden))


def _number(raw: str) -> int | float | None:
    """``raw`` as an int or a float (nan and inf included), or None when it is neither."""
    text = raw.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def check_set_pairs(model: str, pairs: list[str]) -> None:
    """``--set KEY=VALUE`` before the model code is imported: a numeric value out of the
    limits of its key is a bounds error (``--set top_k=-5``), then a key that is an option of
    ``grape train`` is refused with the option to use (``--set hidden=32``: use --hidden).
    Unknown keys and non-numeric values are left to the model's own parser."""
    table = GRAPE_BOUNDS if model == "grape" else BIODSNN_BOUNDS
    options = GRAPE_OPTION_KEYS if model == "grape" else BIODSNN_OPTION_KEYS
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep:
            continue
        if model == "grape":
            key = SET_ALIASES.get(key, key)
        value = _number(raw)
        if value is not None and (key in table or key in options or key in _ALIASES):
            check_value(f"--set {cut(key, 40)}=", key, value, table)
        if key in options:
            raise ConfigError(
                f"--set {cut(key, 40)}: '{key}' is an option of grape train: use "
                f"{options[key]} instead of --set"
            )


def check_config(model: str, config: Any) -> None:
    """Every numeric field of a built GrapeConfig / BiodsnnConfig within its limits (the
    values of options, ``--set`` and defaults alike), and heads x hidden."""
    table = GRAPE_BOUNDS if model == "grape" else BIODSNN_BOUNDS
    for key in table:
        value: Any = config
        for part in key.split("."):  # a nested setting is checked when it is on
            value = getattr(value, part, None)
        if value is not None:
            check_value(f"setting {key}", key, value, table)
    for heads_key in ("gat_heads", "sim_heads", "heads"):
        if hasattr(config, heads_key) and hasattr(config, "hidden"):
            check_heads_hidden(int(getattr(config, heads_key)), int(config.hidden))
