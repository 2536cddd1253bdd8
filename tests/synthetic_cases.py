"""Small SYNTHETIC cases shared by model tests (not a test module)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from grapekg.perturb.simulate import Simulation, simulate, synthetic_genes

REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}


def clique_prior(n_cliques: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of every pair inside ``n_cliques`` blocks of ``size`` consecutive
    genes (row indices of the gene table)."""
    src, dst = [], []
    for k in range(n_cliques):
        block = range(k * size, (k + 1) * size)
        src += [a for a in block for b in block if a != b]
        dst += [b for a in block for b in block if a != b]
    return np.array(src), np.array(dst)


def clique_learnable(
    cells_per_condition: int,
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray], Simulation]:
    """160 synthetic genes, a prior graph of 8 cliques of 10, and a learnable simulation
    (50 conditions, 20 % doubles) whose planted network is that prior graph."""
    genes = synthetic_genes(160, seed=7)
    pairs = clique_prior(8, 10)
    sim = simulate(
        genes,
        relations=REL,
        n_conditions=50,
        cells_per_condition=cells_per_condition,
        seed=7,
        n_control_cells=80,
        add_de=False,
        signal="learnable",
        prior_pairs=pairs,
        combo_fraction=0.2,
    )
    return genes, pairs, sim
