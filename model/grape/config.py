"""Typed GRAPE configuration, saved as JSON beside the ``state_dict``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar, Literal

__all__ = ["GrapeConfig", "PriorShockConfig"]


@dataclass
class PriorShockConfig:
    """Settings of the prior-shock extension (:mod:`~grapekg.model.grape.prior_shock`).

    vote: the regulator's sign also from a learned per-gene value averaged over its closed
        prior neighbourhood, so an unseen regulator takes the sign of the trained ones
        within two prior hops.
    vote_hops: with ``vote``: how many times the vote is averaged over closed prior
        neighbourhoods (h; the sign reaches 2h hops).
    lp_vote: the regulator's sign also from a closed-form label-propagated (leave-one-out)
        vote of the training singles' fitted effects, scaled by a learned gain
        (:mod:`~grapekg.model.grape.lp_vote`).
    """

    vote: bool = False
    vote_hops: int = 1
    lp_vote: bool = False

    def __post_init__(self) -> None:
        if self.vote_hops < 1:
            raise ValueError("prior_shock.vote_hops must be >= 1")


@dataclass
class GrapeConfig:
    """Every hyper-parameter of :class:`~grapekg.model.grape.model.GrapeModel` and training.

    Model (paper section 4; defaults from section 5.1 where it gives them):
        hidden: q_m, the width of aligned, fused and HGAT features.
        text_dim, dna_dim: input widths d_text, d_seq (0 = modality absent; set from the
            :class:`GeneGraph` by :func:`~grapekg.model.grape.train.train_grape`).
        gaussian_sigma: σ of the projection heads' elementwise Gaussian transform
            exp(−x²/2σ²) (the authors' code uses 0.1; None = no transform).
        temperature: 𝒯 of the alignment loss (Eq. 1).
        sim_heads: T, heads of the multi-head similarity (Eq. 4; paper: 4).
        sim_top_k: neighbours kept per gene when building each modality graph (Eq. 3).
        eps_text, eps_dna, eps_fus: sparsity thresholds ε^m (Eq. 3).
        gsl_hops: K of the K-hop GCN structure learning (Eq. 6-8).
        gsl_threshold: ε of Eq. 9 (edges of the learned graph kept when 𝔾 ≥ ε).
        gat_heads: H of Eq. 11 (paper: 4). gat_layers: L of Eq. 11.
        dropout: dropout on HGAT layer outputs and attention.
        graph_source: edges used by the HGAT: the learned graph, the prior (KG) edges, or
            their union.
        edge_weight_in_gat: pass learned edge weights to GATv2 as a 1-d edge feature (so
            the reconstruction loss also trains the structure learner; paper: edge set only).
        mask_mode: how a perturbed gene's fused feature is masked (same in training and
            prediction): ``learned`` replaces it by a learned mask vector, ``zero`` by 0.
        block_budget: largest number of similarity entries materialised at once.
        shared_head: Eq. 12 weights W_i = W_0 + V_i with a shared W_0 (see
            :mod:`~grapekg.model.grape.head`); False = the paper's independent W_i.
        init_mean_delta: start the head's biases at the mean training delta (training
            starts from the mean baseline); False = zero biases.
    Extensions (not in the paper; each off by default and built by
    :mod:`~grapekg.model.grape.extensions` through the
    :class:`~grapekg.model.grape.extension.GrapeExtension` protocol):
        pert_channel: the direct perturbation channel
            (:mod:`~grapekg.model.grape.pert_channel`).
        self_term: predict a perturbed gene's own level with one shared function of its
            control expression (:mod:`~grapekg.model.grape.self_term`).
        control_input: add the control expression (standardised) and a "measured" flag of
            every node to the HGAT input Z_fus through a learned linear map (the paper's nodes
            see only sequence and text; :mod:`~grapekg.model.grape.control_input`).
        prior_shock: None (off) or a :class:`PriorShockConfig`: the knock-down's signed
            first-order effect on its prior (KG) neighbours, sign and strength read from the
            regulator's HGAT embedding (:mod:`~grapekg.model.grape.prior_shock`), with its
            optional sign votes as that config's fields (so a vote without the term it
            signs cannot be written).
        single_anchor: after training, anchor every condition on the measured training
            singles of its genes: the model's prediction plus each one's empirical-Bayes
            shrunken training residual (:mod:`~grapekg.model.grape.single_anchor`).
    Training options (how the epoch is chosen, not what the model computes):
        select_on: the validation score that picks the best epoch and drives early
            stopping: ``mse`` (paper: all-gene MSE, Eq. 14), ``mse_de20`` (MSE on each
            validation condition's top-20 DE genes, as GEARS selects) or ``pcc_de20``
            (Pearson delta on them, higher is better); DE genes exclude the perturbed ones.
        min_steps: at least this many optimiser steps, whatever ``epochs`` says (a split
            with a few dozen training conditions has ~3 steps per epoch): the number of
            epochs becomes max(epochs, ceil(min_steps / steps per epoch)), patience scaled
            by the same factor, and early stopping waits until those steps are done, so a
            term that is slow to learn (a sign vote) is not cut off by an early plateau.
            The best validation epoch is kept either way. 0 = ``epochs`` as given (paper).
    Loss (Eq. 14-18): huber_delta δ, dir_weight, reg_weight, align_weight.
    Ablations: only_seq, only_desc (one modality), only_fusion (graphs from Z_fus only),
        no_gsl (HGAT on G_agg), no_biotype (one node type, homogeneous GATv2).
    Training: lr, weight_decay (AdamW), epochs, batch_size (conditions per step),
        align_epochs (Eq. 1 pre-training), patience (early stopping on validation MSE),
        seed, incremental (exact L-hop propagation, see
        :mod:`~grapekg.model.grape.incremental`), mode (``condition`` or ``cell``),
        cells_per_step (cell mode), grad_clip.
    """

    hidden: int = 64
    text_dim: int = 0
    dna_dim: int = 0
    gaussian_sigma: float | None = 0.1
    temperature: float = 0.1
    sim_heads: int = 4
    sim_top_k: int = 4
    eps_text: float = 0.5
    eps_dna: float = 0.5
    eps_fus: float = 0.5
    gsl_hops: int = 2
    gsl_threshold: float = 0.3
    gat_heads: int = 4
    gat_layers: int = 2
    dropout: float = 0.1
    graph_source: Literal["learned", "prior", "union"] = "union"
    edge_weight_in_gat: bool = True
    mask_mode: Literal["learned", "zero"] = "learned"
    block_budget: int = 4_000_000
    shared_head: bool = True
    init_mean_delta: bool = True
    pert_channel: bool = False
    self_term: bool = False
    prior_shock: PriorShockConfig | None = None
    control_input: bool = False
    single_anchor: bool = False
    select_on: Literal["mse", "mse_de20", "pcc_de20"] = "mse"
    min_steps: int = 0
    huber_delta: float = 0.7
    dir_weight: float = 1.0
    reg_weight: float = 1.0
    align_weight: float = 1.0
    only_seq: bool = False
    only_desc: bool = False
    only_fusion: bool = False
    no_gsl: bool = False
    no_biotype: bool = False
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 20
    batch_size: int = 16
    align_epochs: int = 10
    patience: int = 5
    seed: int = 0
    incremental: bool = True
    mode: Literal["condition", "cell"] = "condition"
    cells_per_step: int = 64
    grad_clip: float = 1.0

    #: the flat ``--set`` keys of configurations written before the extensions had their
    #: own configs, and the dotted settings they now are
    SET_ALIASES: ClassVar[dict[str, str]] = {
        "prior_vote": "prior_shock.vote",
        "vote_hops": "prior_shock.vote_hops",
        "lp_vote": "prior_shock.lp_vote",
    }

    def __post_init__(self) -> None:
        if self.only_seq and self.only_desc:
            raise ValueError("only_seq and only_desc exclude each other")
        if self.graph_source not in ("learned", "prior", "union"):
            raise ValueError(
                f"graph_source must be learned, prior or union, got {self.graph_source!r}"
            )
        if self.mask_mode not in ("learned", "zero"):
            raise ValueError(f"mask_mode must be learned or zero, got {self.mask_mode!r}")
        if self.mode not in ("condition", "cell"):
            raise ValueError(f"mode must be condition or cell, got {self.mode!r}")
        if self.select_on not in ("mse", "mse_de20", "pcc_de20"):
            raise ValueError(f"select_on must be mse, mse_de20 or pcc_de20, got {self.select_on!r}")
        self.prior_shock = _prior_shock(self.prior_shock)
        if self.min_steps < 0:
            raise ValueError("min_steps must be >= 0")
        if self.gat_layers < 1 or self.gsl_hops < 1 or self.sim_heads < 1:
            raise ValueError("gat_layers, gsl_hops and sim_heads must be >= 1")

    @property
    def use_text(self) -> bool:
        return self.text_dim > 0 and not self.only_seq

    @property
    def use_dna(self) -> bool:
        return self.dna_dim > 0 and not self.only_desc

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GrapeConfig:
        """The config of :meth:`to_dict`; also reads a config written with the flat keys
        (``prior_shock: bool`` beside ``prior_vote``, ``vote_hops``, ``lp_vote``) as the
        same model."""
        d = _nested(d)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown GrapeConfig fields: {unknown}")
        return cls(**d)

    def to_json(self, path: str | PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_json(cls, path: str | PathLike[str]) -> GrapeConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _prior_shock(value: object) -> PriorShockConfig | None:
    """The ``prior_shock`` field as its config: a PriorShockConfig or None as given, its
    dict (read from JSON), or a bool (True = the default settings, False = off)."""
    if value is None or isinstance(value, PriorShockConfig):
        return value
    if isinstance(value, bool):
        return PriorShockConfig() if value else None
    if isinstance(value, dict):
        known = {f.name for f in fields(PriorShockConfig)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown prior_shock settings: {unknown}")
        return PriorShockConfig(**value)
    raise ValueError(f"prior_shock must be true, false or its settings, got {value!r}")


def _nested(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with the flat prior-shock keys of :attr:`GrapeConfig.SET_ALIASES` folded into
    the nested ``prior_shock`` settings. Without prior_shock on, a vote switched on is
    refused (such a config could not be written then) and ``vote_hops``, which older
    configs always wrote and nothing read, is dropped."""
    flat = {k: d[k] for k in GrapeConfig.SET_ALIASES if k in d}
    if not flat:
        return d
    out = {k: v for k, v in d.items() if k not in flat}
    sub = {GrapeConfig.SET_ALIASES[k].split(".", 1)[1]: v for k, v in flat.items()}
    shock = out.get("prior_shock")
    if shock is None or shock is False:
        on = [k for k, v in flat.items() if v is True]
        if on:
            raise ValueError(f"{on[0]} needs prior_shock=true")
        return out
    base = asdict(_prior_shock(shock))  # type: ignore[arg-type]
    out["prior_shock"] = base | sub
    return out
