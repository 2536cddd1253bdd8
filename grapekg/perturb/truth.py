"""The saved truth of a SYNTHETIC simulation: what the generator knew before drawing cells.

:func:`grapekg.perturb.simulate.simulate` returns it beside the AnnData, and ``grape data
simulate`` writes it next to the planted edges (``raw/<name>/simulation_truth.npz``), so the
ceilings of :mod:`grapekg.evaluation.ceilings` can be computed later from the dataset name.

It holds, for the G genes in the simulation's order and every condition p (``ctrl`` first):
the noise-free mean log-expression z_p = max(μ + δ_p, 0) (step 5 of the generator), the
knock-down shock s0_p (nonzero on the perturbed genes only; the value propagated through W),
the generic-response vector r and its per-condition amplitude a_p, the planted edges (index
pairs, signed weight, relation), each gene's regulator mode (±1; random-sign: 0) and the
generator's parameters. Everything is stored as plain arrays (no pickles).

The measurement model maps a noise-free mean z to the expected mean of the observed cells
(:func:`expected_mean`): with ε ~ N(0, σ²) (``noise_sd``), log L ~ N(0, τ²) (``library_sd``)
and dropout rate ρ,

    E[ȳ | z] = E_{ε, L}[ y (1 − exp(−ρ y)) ],  y = log1p(L · expm1(max(z + ε, 0))),

computed by Gauss-Hermite quadrature over ε and log L. This is the best possible prediction
of a condition's observed mean profile (the oracle).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grapekg.perturb.errors import DataError

__all__ = ["SimulationTruth", "expected_mean", "propagate"]

#: quadrature nodes over ε and over log L
_NODES = (24, 8)


def _normal_nodes(n: int, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_k and weights w_k with Σ_k w_k f(x_k) ≈ E[f(X)], X ~ N(0, sd²)."""
    t, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * sd * t, w / np.sqrt(np.pi)


def expected_mean(
    z: np.ndarray, noise_sd: float, library_sd: float, dropout_rate: float
) -> np.ndarray:
    """E[ȳ | z] of the measurement model (module docstring) for every entry of ``z``
    (any shape; log-expression means >= 0)."""
    z = np.asarray(z, dtype=np.float64)
    eps, w_eps = _normal_nodes(_NODES[0], noise_sd)
    log_l, w_l = _normal_nodes(_NODES[1], library_sd)
    flat = z.reshape(-1)
    out = np.empty_like(flat)
    step = 4096
    for i in range(0, flat.size, step):
        v = np.maximum(flat[i : i + step, None, None] + eps[None, :, None], 0.0)
        y = np.log1p(np.exp(log_l)[None, None, :] * np.expm1(v))
        kept = y * (1.0 - np.exp(-dropout_rate * y))
        out[i : i + step] = np.einsum("gel,e,l->g", kept, w_eps, w_l)
    return out.reshape(z.shape)


def propagate(w_t: Any, shock: np.ndarray, damping: float, steps: int) -> np.ndarray:
    """Network response of step 3 of the generator: δ = Σ_{k=0..K} (α Wᵀ)^k s0 (α =
    ``damping``, K = ``steps``, ``w_t`` = Wᵀ as a sparse matrix), the perturbed genes (s0 ≠ 0)
    reset to their shock, δ clipped to ±3."""
    delta, current = shock.copy(), shock.copy()
    for _ in range(steps):
        current = damping * (w_t @ current)
        delta += current
    targets = shock != 0
    delta[targets] = shock[targets]
    return np.clip(delta, -3.0, 3.0)


@dataclass
class SimulationTruth:
    """The generator's noise-free truth (module docstring); rows of ``mean`` / ``shock``
    follow ``conditions``, columns follow ``gene_ids``."""

    signal: str
    gene_ids: np.ndarray  # [G] str
    conditions: list[str]  # [C], ctrl first
    mean: np.ndarray  # [C, G] noise-free z_p
    shock: np.ndarray  # [C, G] knock-down shock s0_p
    generic: np.ndarray  # [G] r
    amplitude: np.ndarray  # [C] a_p (0 for ctrl)
    modes: np.ndarray  # [G] regulator mode ±1 (learnable), 0 (random-sign)
    edge_src: np.ndarray  # [E] int
    edge_dst: np.ndarray  # [E] int
    edge_weight: np.ndarray  # [E] float
    edge_relation: np.ndarray  # [E] str
    params: dict[str, Any] = field(default_factory=dict)

    def row(self, condition: str) -> int:
        try:
            return self.conditions.index(condition)
        except ValueError:
            raise DataError(
                f"condition {condition!r} is not in the simulation", parameter="condition"
            ) from None

    def expected(self, z: np.ndarray) -> np.ndarray:
        """:func:`expected_mean` with this simulation's measurement parameters."""
        p = self.params
        return expected_mean(z, p["noise_sd"], p["library_sd"], p["dropout_rate"])

    def save(self, path: Path) -> Path:
        """Write one compressed ``.npz`` (plain arrays, params as JSON text)."""
        path = Path(path)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                signal=np.array(self.signal),
                gene_ids=np.asarray(self.gene_ids, dtype=str),
                conditions=np.asarray(self.conditions, dtype=str),
                mean=np.asarray(self.mean, dtype=np.float64),
                shock=np.asarray(self.shock, dtype=np.float64),
                generic=np.asarray(self.generic, dtype=np.float64),
                amplitude=np.asarray(self.amplitude, dtype=np.float64),
                modes=np.asarray(self.modes, dtype=np.float64),
                edge_src=np.asarray(self.edge_src, dtype=np.int64),
                edge_dst=np.asarray(self.edge_dst, dtype=np.int64),
                edge_weight=np.asarray(self.edge_weight, dtype=np.float64),
                edge_relation=np.asarray(self.edge_relation, dtype=str),
                params=np.array(json.dumps(self.params)),
            )
        return path

    @classmethod
    def load(cls, path: Path) -> SimulationTruth:
        """Read a file written by :meth:`save` (DataError naming the file when unreadable)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as f:
                data: Mapping[str, np.ndarray] = {k: f[k] for k in f.files}
            return cls(
                signal=str(data["signal"]),
                gene_ids=data["gene_ids"],
                conditions=[str(c) for c in data["conditions"]],
                mean=data["mean"],
                shock=data["shock"],
                generic=data["generic"],
                amplitude=data["amplitude"],
                modes=data["modes"],
                edge_src=data["edge_src"],
                edge_dst=data["edge_dst"],
                edge_weight=data["edge_weight"],
                edge_relation=data["edge_relation"],
                params=json.loads(str(data["params"])),
            )
        except (OSError, ValueError, KeyError) as err:
            raise DataError(f"not a simulation truth file ({err})", path=path) from None
