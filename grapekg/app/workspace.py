"""One object for every path a flow reads or writes under the data and cache folders.

Layout (unchanged from earlier releases)::

    <data_dir>/datasets/<name>/                 dataset bundles (grapekg.perturb.bundle)
    <data_dir>/raw/<name>/                      simulated / downloaded raw files, planted edges
    <data_dir>/runs/<run_id>/                   one model run (config, weights, predictions, edges)
    <data_dir>/results/<dataset>/<split>/       evaluation tables, figures, combined predictions
                                                (<split>: a built-in name or user-<hash>)
    <data_dir>/results/recovery/                planted-edge recovery tables and curves
    <data_dir>/exports/                         graph exports
    <cache_dir>/embeddings/                     feature encoder caches
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grapekg.settings import Settings


@dataclass(frozen=True)
class Workspace:
    """Paths of one installation, from its :class:`~grapekg.settings.Settings`."""

    settings: Settings

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    @property
    def cache_dir(self) -> Path:
        return Path(self.settings.cache_dir)

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def find_run(self, run: str) -> Path:
        """A run given as a folder or as a run id (the folder is not checked)."""
        return Path(run) if Path(run).is_dir() else self.run_dir(run)

    def dataset_dir(self, name: str) -> Path:
        from grapekg.perturb.bundle import dataset_dir  # numpy / pandas: only when needed

        return dataset_dir(self.data_dir, name)

    def raw_dir(self, name: str | None = None) -> Path:
        return self.data_dir / "raw" if name is None else self.data_dir / "raw" / name

    def planted_edges(self, dataset: str) -> Path:
        return self.raw_dir(dataset) / "planted_edges.parquet"

    def simulation_truth(self, dataset: str) -> Path:
        """The noise-free truth of a simulated dataset (grapekg.perturb.truth)."""
        return self.raw_dir(dataset) / "simulation_truth.npz"

    def results_dir(self, dataset: str, split: str) -> Path:
        """Results of a dataset and split: ``split`` is a built-in name, a split file (its
        content's tag, :func:`grapekg.perturb.splits.split_tag`, never its path) or a tag."""
        from grapekg.perturb.splits import split_tag  # numpy: only when needed

        return self.data_dir / "results" / dataset / split_tag(split)

    def combined_predictions(self, dataset: str, split: str, label: str) -> Path:
        return self.results_dir(dataset, split) / f"{label}.parquet"

    @property
    def recovery_dir(self) -> Path:
        return self.data_dir / "results" / "recovery"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def embeddings_cache(self) -> Path:
        return self.cache_dir / "embeddings"
