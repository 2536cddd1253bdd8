"""Label tables: (perturbation, downstream gene, 0/1 label, train/test split) rows, as
PerturbQA ships them (``pert,gene,label,split``; Wu et al., ICLR 2025).

Two tasks: ``de`` (label 1 = the gene is differentially expressed under the perturbation) and
``direction`` (for DE pairs only: 1 = the gene goes up, 0 = down). The file's split is kept as
it is; a validation part for model selection is carved from the *training perturbations*
(:func:`carve_validation`: every pair of a chosen perturbation is validation), so the test
perturbations stay unseen and the validation perturbations are unseen by the fitted part.

Parsing is strict and all-or-nothing: the first bad row stops it with a one-line
:class:`~grapekg.perturb.errors.DataError` naming the file and the line (1 = the header):
a missing column, an empty field, a label that is not 0/1 (or the two values of
``positive``), a split that is not train/test, a pair listed twice, a perturbation in both
train and test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from grapekg.errors import show
from grapekg.perturb.errors import DataError

__all__ = [
    "MODALITIES",
    "SPLITS",
    "TASKS",
    "LabelTable",
    "carve_validation",
    "read_label_table",
]

TASKS = ("de", "direction")
MODALITIES = ("knockout", "knockdown", "activation")
SPLITS = ("train", "test")


@dataclass
class LabelTable:
    """The parsed rows: ``pairs`` has ``pert``, ``gene`` (str), ``label`` (int8 0/1),
    ``split`` ('train' / 'test') and ``line`` (the row's line in the file)."""

    path: Path
    pairs: pd.DataFrame

    @property
    def perturbations(self) -> list[str]:
        return sorted(set(self.pairs["pert"]))

    @property
    def genes(self) -> list[str]:
        return sorted(set(self.pairs["gene"]))

    def split_perturbations(self, split: str) -> list[str]:
        return sorted(set(self.pairs.loc[self.pairs["split"] == split, "pert"]))


def _delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","


def read_label_table(
    path: str | PathLike[str],
    *,
    pert_col: str = "pert",
    gene_col: str = "gene",
    label_col: str = "label",
    split_col: str = "split",
    positive: str | None = None,
) -> LabelTable:
    """Parse and check a label table (module docstring). ``positive``: the label value that
    means 1 (any one other value means 0); without it the labels must be ``0`` / ``1``."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path=path)
    cols = {"--pert-col": pert_col, "--gene-col": gene_col, "--label-col": label_col}
    cols["--split-col"] = split_col
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=_delimiter(path))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise DataError("empty file: no header line", path=path) from None
        pos = {}
        for option, col in cols.items():
            if col not in header:
                raise DataError(
                    f"line 1: no column {show(col)} in the header (columns: "
                    f"{show(', '.join(header))})",
                    path=path,
                    parameter=option,
                )
            pos[option] = header.index(col)
        ip, ig, il, isp = (pos[o] for o in cols)
        negative: str | None = None
        perts, genes, labels, splits, lines = [], [], [], [], []
        first_split: dict[str, tuple[str, int]] = {}
        seen: dict[tuple[str, str], int] = {}
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise DataError(
                    f"line {line}: {len(row)} fields, the header has {len(header)}", path=path
                )
            p, g, lab, sp = (row[i].strip() for i in (ip, ig, il, isp))
            for what, value in (("perturbation", p), ("gene", g), ("label", lab), ("split", sp)):
                if not value:
                    raise DataError(f"line {line}: empty {what}", path=path)
            if positive is None:
                if lab not in ("0", "1"):
                    raise DataError(f"line {line}: label {show(lab)} is not 0 or 1", path=path)
                y = int(lab)
            elif lab == positive:
                y = 1
            else:
                if negative is None:
                    negative = lab
                elif lab != negative:
                    raise DataError(
                        f"line {line}: label {show(lab)} is a third value (--positive "
                        f"{show(positive)}: the other labels are all {show(negative)})",
                        path=path,
                    )
                y = 0
            if sp not in SPLITS:
                raise DataError(f"line {line}: split {show(sp)} is not train or test", path=path)
            if (p, g) in seen:
                raise DataError(
                    f"line {line}: pair ({show(p)}, {show(g)}) repeats line {seen[(p, g)]}",
                    path=path,
                )
            seen[(p, g)] = line
            other = first_split.setdefault(p, (sp, line))
            if other[0] != sp:
                raise DataError(
                    f"line {line}: perturbation {show(p)} is in {sp} here and in {other[0]} on "
                    f"line {other[1]} (train and test perturbations must be disjoint)",
                    path=path,
                )
            perts.append(p)
            genes.append(g)
            labels.append(y)
            splits.append(sp)
            lines.append(line)
    if not perts:
        raise DataError("no data rows after the header", path=path)
    pairs = pd.DataFrame(
        {
            "pert": pd.Series(perts, dtype=object),
            "gene": pd.Series(genes, dtype=object),
            "label": np.asarray(labels, dtype=np.int8),
            "split": pd.Series(splits, dtype=object),
            "line": np.asarray(lines, dtype=np.int64),
        }
    )
    if not (pairs["split"] == "train").any():
        raise DataError("no training rows (split 'train')", path=path)
    return LabelTable(path, pairs)


def carve_validation(pairs: pd.DataFrame, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the validation rows: ``round(fraction * n)`` of the n training
    perturbations (at least 1 when ``fraction > 0`` and n >= 2, never all of them), drawn
    with ``numpy.random.default_rng(seed)`` from the sorted list; every row of a drawn
    perturbation is validation, test rows never are."""
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"{fraction}: must be in [0, 1)", parameter="--val-fraction")
    train = pairs["split"].to_numpy() == "train"
    perts = sorted(set(pairs.loc[train, "pert"]))
    n = len(perts)
    k = round(fraction * n)
    k = min(max(k, 1), n - 1) if fraction > 0 and n >= 2 else min(k, max(n - 1, 0))
    rng = np.random.default_rng(seed)
    chosen = {perts[i] for i in rng.choice(n, size=k, replace=False)} if k else set()
    return train & pairs["pert"].isin(chosen).to_numpy()
