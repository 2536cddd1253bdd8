"""Cut a real screen from ``../shared/data/real/`` (``$GRAPE_SHARED_DIR/data/real``) to a size
GEARS trains on in minutes on a few CPU cores, and write it in GEARS format for ``grape data
import`` (both models then read the same cells).

Steps (all stated in the tables): guide labels -> target gene (``ZAP70_1`` -> ``ZAP70``);
optionally one context (Datlinger: ``perturbation_2 == stimulated``); at most
``--cells-per-condition`` cells per condition, control included (seeded draw);
normalize_total (1e4) + log1p on all measured genes (grape's ``normalise_log1p``); then a gene
subset: the ``--genes`` genes with the largest variance of the log-normalised values over the
kept cells, plus every measured target gene; var order as in the file.

    python bench/peers/gears/prepare_real.py papalexi --out FILE.h5ad
    python bench/peers/gears/prepare_real.py datlinger --out FILE.h5ad
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from grapekg.perturb.summaries import normalise_log1p

REAL = (
    Path(os.environ.get("GRAPE_SHARED_DIR") or Path(__file__).resolve().parents[4] / "shared")
    / "data"
    / "real"
)
SPECS = {
    "papalexi": {
        "file": "papalexi2021_thp1_eccite.h5ad",
        "col": "target",
        "control": "non-targeting",
        "guide_suffix": False,
        "context": None,
        "cell_type": "THP-1",
        "genes": 299,
        "cells": 80,
    },
    "datlinger": {
        "file": "datlingerbock2021_jurkat_scifi.h5ad",
        "col": "perturbation",
        "control": "control",
        "guide_suffix": True,
        "context": ("perturbation_2", "stimulated"),
        "cell_type": "Jurkat",
        "genes": 500,
        "cells": 80,
    },
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(SPECS))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--genes", type=int, default=None, help="highly variable genes kept")
    p.add_argument("--cells-per-condition", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real-dir", type=Path, default=REAL)
    a = p.parse_args(argv)
    import anndata as ad

    spec = SPECS[a.name]
    n_genes = a.genes or spec["genes"]
    n_cells = a.cells_per_condition or spec["cells"]
    src = ad.read_h5ad(a.real_dir / spec["file"])
    obs = src.obs
    keep = np.ones(src.n_obs, bool)
    if spec["context"]:
        col, value = spec["context"]
        keep &= (obs[col].astype(str) == value).to_numpy()
    label = obs[spec["col"]].astype(str).to_numpy()
    target = np.array(
        [re.sub(r"_\d+$", "", v) if spec["guide_suffix"] else v for v in label], dtype=object
    )
    cond = np.array(["ctrl" if t == spec["control"] else f"{t}+ctrl" for t in target], dtype=object)
    rs = np.random.RandomState(a.seed)
    chosen = []
    for c in sorted(set(cond[keep])):
        idx = np.flatnonzero(keep & (cond == c))
        if len(idx) < 2:
            continue
        chosen.append(np.sort(rs.choice(idx, min(n_cells, len(idx)), replace=False)))
    rows = np.sort(np.concatenate(chosen))
    x = normalise_log1p(sp.csr_matrix(src.X[rows]))
    var_names = [str(v) for v in src.var_names]
    mean = np.asarray(x.mean(axis=0)).ravel()
    var = np.asarray(x.multiply(x).mean(axis=0)).ravel() - mean**2
    top = set(np.argsort(-var, kind="stable")[:n_genes].tolist())
    targets = {t for t in set(target[rows]) if t != spec["control"]}
    top |= {i for i, g in enumerate(var_names) if g in targets}
    cols = np.array(sorted(top))
    out = ad.AnnData(
        X=sp.csr_matrix(x[:, cols], dtype=np.float32),
        obs=pd.DataFrame(
            {"condition": cond[rows], "cell_type": spec["cell_type"]},
            index=[str(v) for v in src.obs_names[rows]],
        ),
        var=pd.DataFrame(
            {"gene_name": [var_names[i] for i in cols]}, index=[var_names[i] for i in cols]
        ),
    )
    a.out.parent.mkdir(parents=True, exist_ok=True)
    out.write_h5ad(a.out)
    info = {
        "name": a.name,
        "source": str(a.real_dir / spec["file"]),
        "cells": int(out.n_obs),
        "genes": int(out.n_vars),
        "hvg": n_genes,
        "measured_targets": sorted(targets & set(var_names)),
        "unmeasured_targets": sorted(targets - set(var_names)),
        "conditions": int(len(set(cond[rows]))),
        "cells_per_condition": n_cells,
        "context": spec["context"],
        "seed": a.seed,
    }
    a.out.with_suffix(".json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
