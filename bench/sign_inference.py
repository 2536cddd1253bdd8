"""How far a learnable simulation's unseen regulators can be signed from their trained
neighbours at all (SYNTHETIC: why the unseen-singles gain varies so much by split).

    python bench/sign_inference.py [--dataset bench-learnable-1000] [--seeds 1..25]

Reads the saved truth (`<data dir>/raw/<dataset>/simulation_truth.npz`) and each seed's GEARS
simulation split; for every unseen single of the test set it asks whether the sign of its
mode follows from the true modes of the genes perturbed in training, by three votes over the
*true* graph (undirected, background edges included): paths of one or two hops (A + A², as
``ceiling:true-graph-vote-sign``), the same to three hops, and a random walk with restart
(α = 0.5, as ``lp_vote``). Prints, per seed, the unseen singles and the share each vote signs
right (a vote of 0 counts as wrong); writes `bench/results/sign_inference_<dataset>.txt`.
Nothing is trained; a model reading signs from its neighbours cannot do better on average.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from real_data import OUT, ROOT, seeds_of

from grapekg.perturb.conditions import CONTROL
from grapekg.perturb.splits import resolve_split


def walk_vote(adj: sp.csr_matrix, own: np.ndarray, restart: float = 0.5) -> np.ndarray:
    """Σ_k restart (1 − restart)^k (D⁻¹A)^k own, 30 steps."""
    deg = np.maximum(np.asarray(adj.sum(1)).ravel(), 1.0)
    step = sp.diags(1.0 / deg) @ adj
    x = restart * own
    total = x.copy()
    for _ in range(30):
        x = (1.0 - restart) * (step @ x)
        total += x
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="bench-learnable-1000")
    ap.add_argument("--seeds", default="1..25")
    args = ap.parse_args()
    data_dir = Path(os.environ.get("GRAPE_DATA_DIR") or ROOT / ".grape")
    z = np.load(data_dir / "raw" / args.dataset / "simulation_truth.npz", allow_pickle=False)
    conds = [str(c) for c in z["conditions"]]
    modes, shock = z["modes"], z["shock"]
    n = modes.shape[0]
    src, dst = z["edge_src"], z["edge_dst"]
    adj = sp.csr_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64).tocsr()
    two = adj + adj @ adj
    three = two + adj @ adj @ adj
    lines = [
        f"SYNTHETIC {args.dataset}: share of each split's unseen singles whose mode sign a vote "
        "of the trained genes' true modes over the true graph gets right",
        f"{'seed':>4} {'unseen':>6} {'1-2 hops':>9} {'1-3 hops':>9} {'walk':>6}",
    ]
    shares = []
    for seed in seeds_of(args.seeds):
        split = resolve_split("simulation", conds, seed=seed)
        rows = [conds.index(c) for c in split.train if c != CONTROL]
        trained = np.flatnonzero(np.abs(shock[rows]).sum(axis=0) > 0)
        own = np.zeros(n)
        own[trained] = modes[trained]
        unseen = split.test_subgroup.get("unseen_single", [])
        genes = [int(np.flatnonzero(shock[conds.index(c)])[0]) for c in unseen]
        votes = [np.sign(two @ own), np.sign(three @ own), np.sign(walk_vote(adj, own))]
        right = [float(np.mean([v[g] == modes[g] for g in genes])) if genes else 0.0 for v in votes]
        shares.append(right)
        lines.append(f"{seed:>4} {len(genes):>6} " + " ".join(f"{r:>9.2f}" for r in right))
    lo, hi = np.min(shares, axis=0), np.max(shares, axis=0)
    lines.append("range " + "  ".join(f"{a:.2f}-{b:.2f}" for a, b in zip(lo, hi, strict=True)))
    text = "\n".join(lines)
    print(text)
    (OUT / f"sign_inference_{args.dataset}.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
