"""``grape report``: figures of a run (:func:`grapekg.evaluation.report.make_report`) from
its gene representations before and after training, computed here from the saved model,
and the evaluation tables of its dataset and split."""

from __future__ import annotations

import json
from pathlib import Path

from grapekg.app.predict import results_of
from grapekg.app.runs import resolve_run
from grapekg.app.workspace import Workspace
from grapekg.evaluation.report import make_report
from grapekg.model.grape.learned import representations
from grapekg.model.grape.train import load_model

__all__ = ["report"]


def report(ws: Workspace, run: str, out: Path | None = None) -> dict[str, Path]:
    """Figures of the run (an id, folder, ``@latest`` or pattern: the newest complete match,
    :func:`grapekg.app.runs.resolve_run`; a failed run is refused with its reason) into
    ``out`` (default: ``<run folder>/report``); returns name -> file."""
    run_dir = resolve_run(ws, run)
    info_file = run_dir / "run.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    model, graph = load_model(run_dir)
    before, after = representations(model, graph)
    results = results_of(ws, info)
    return make_report(
        run_dir.name, info, before, after, list(graph.biotype), results, out or run_dir / "report"
    )
