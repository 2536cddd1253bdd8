"""A split's identity comes from its content, never its file name; a user's split is used
exactly as written (no silent validation carve); results of models evaluated one after
another into one results folder accumulate (hand-made bundles on disk, no KG needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from grapekg.app import evaluate as app_eval
from grapekg.app.train import run_identity
from grapekg.app.workspace import Workspace
from grapekg.evaluation import scoring as ev
from grapekg.model.grape.config import GrapeConfig
from grapekg.perturb.errors import DataError
from grapekg.perturb.splits import resolve_split, split_tag, validation_note
from grapekg.settings import Settings
from tests.test_evaluate_groups import SINGLES, _save

CONDS = ["ctrl", *SINGLES, "T0+T1", "T2+T3"]


def _split_file(path, train, test, val=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"train": list(train), "val": list(val), "test": list(test)}))
    return path


def _ws(tmp_path) -> Workspace:
    return Workspace(Settings.load(env={}, data_dir=tmp_path / "data"))


def test_split_id_is_the_content_not_the_file_name(tmp_path) -> None:
    cfg = GrapeConfig()
    a = _split_file(tmp_path / "a" / "simulation.json", SINGLES[:6], ["T0+T1", "T2+T3"])
    # the same lists in another order, another form (ctrl+T1) and another folder / name
    same = _split_file(
        tmp_path / "b" / "other.json",
        ["ctrl+T1", *reversed(SINGLES[2:6]), "T0+ctrl", "ctrl"],
        ["T3+T2", "T0+T1"],
    )
    edited = _split_file(tmp_path / "c" / "simulation.json", SINGLES[:5], ["T0+T1", "T2+T3"])
    tag = split_tag(str(a))
    assert tag.startswith("user-") and "simulation" not in tag
    assert split_tag(str(same)) == tag
    assert split_tag(str(edited)) != tag
    assert split_tag("simulation") == "simulation" and split_tag(tag) == tag
    builtin, _ = run_identity("ds", "simulation", "grape", 1, cfg)
    custom, _ = run_identity("ds", str(a), "grape", 1, cfg)
    assert builtin.startswith("ds-simulation-grape-s1-")
    assert custom != builtin and custom.startswith(f"ds-{tag}-grape-s1-")
    assert run_identity("ds", str(same), "grape", 1, cfg)[0] == custom
    assert run_identity("ds", str(edited), "grape", 1, cfg)[0] != custom
    with pytest.raises(DataError, match="file not found"):
        split_tag(str(tmp_path / "missing.json"))


def test_results_folder_of_an_absolute_or_relative_split_path(tmp_path, monkeypatch) -> None:
    ws = _ws(tmp_path)
    f = _split_file(tmp_path / "abs" / "split.json", SINGLES[:6], ["T0+T1"])
    tag = split_tag(str(f))
    assert ws.results_dir("ds", str(f)) == ws.data_dir / "results" / "ds" / tag
    monkeypatch.chdir(tmp_path / "abs")
    assert ws.results_dir("ds", "split.json") == ws.data_dir / "results" / "ds" / tag
    assert ws.combined_predictions("ds", "split.json", "x").parent.name == tag
    assert ws.results_dir("ds", "random").name == "random"


def test_a_user_split_with_empty_val_is_used_exactly(tmp_path) -> None:
    b = _save(tmp_path / "screen", CONDS, measured_targets=False)
    train = SINGLES[:8]
    f = _split_file(tmp_path / "split.json", train, ["T0+T1", "T2+T3"])
    split = resolve_split(str(f), b.summary.conditions, 1)
    assert split.val == [] and sorted(c for c in split.train if c != "ctrl") == sorted(train)
    note = validation_note(split)
    assert note.startswith("validation: none (user split)") and "all 8 training" in note
    # the mean baseline fits on every listed training condition (none carved away)
    truth = b.truth()
    pred = ev.baseline_predictor("train_mean", b)(split).values["T0+T1"]
    np.testing.assert_allclose(pred, np.mean([truth[c] for c in train], axis=0))
    # built-in splits still carve 15 %, and say so
    rnd = resolve_split("random", b.summary.conditions, 1)
    assert rnd.val and validation_note(rnd).startswith("validation: carved 15 % seeded")
    # the evaluation's notes and summary.json say which
    res = app_eval.evaluate(_ws(tmp_path), b, "screen", str(f), [1])
    summary = json.loads((res.out / "summary.json").read_text())
    assert summary["validation"] == note and note in summary["notes"]
    assert res.out.name == split_tag(str(f))


def _predictions(path, b, test, shift: float) -> None:
    truth = b.truth()
    ids = [str(g) for g in b.summary.gene_ids]
    rows = [(1, c, g, float(v) + shift) for c in test for g, v in zip(ids, truth[c], strict=True)]
    pd.DataFrame(rows, columns=["seed", "condition", "gene", "value"]).to_parquet(path)


def test_labels_evaluated_one_after_another_accumulate(tmp_path) -> None:
    b = _save(tmp_path / "screen", CONDS, measured_targets=False)
    ws = _ws(tmp_path)
    test = resolve_split("random", b.summary.conditions, 1).test
    for name, shift in (("x", 0.0), ("y", 0.3), ("x2", 1.0)):
        _predictions(tmp_path / f"{name}.parquet", b, test, shift)
    first = app_eval.evaluate(ws, b, "screen", "random", [1], [("X", tmp_path / "x.parquet")])
    x_rmse = first.result.summary.loc["X", "rmse_mean"]
    assert x_rmse == pytest.approx(0.0, abs=1e-9)  # X predicts the truth exactly
    second = app_eval.evaluate(ws, b, "screen", "random", [1], [("Y", tmp_path / "y.parquet")])
    assert second.out == first.out
    summary = json.loads((second.out / "summary.json").read_text())
    assert {"X", "Y", "mean", "additive"} <= set(summary["models"])
    assert summary["models"]["X"]["rmse_mean"] == pytest.approx(0.0, abs=1e-9)
    assert summary["models"]["Y"]["rmse_mean"] == pytest.approx(0.3)  # every gene off by 0.3
    per = pd.read_csv(second.out / "per_condition.csv")
    assert set(per["model"]) >= {"X", "Y"}
    assert len(per[per.model == "X"]) == len(first.result.per_condition.query("model == 'X'"))
    # X again (another prediction): only X's rows change, Y's stay as they were
    third = app_eval.evaluate(ws, b, "screen", "random", [1], [("X", tmp_path / "x2.parquet")])
    summary = json.loads((third.out / "summary.json").read_text())
    assert summary["models"]["X"]["rmse_mean"] == pytest.approx(1.0)
    assert summary["models"]["Y"]["rmse_mean"] == pytest.approx(0.3)
    per3 = pd.read_csv(third.out / "per_condition.csv")
    assert len(per3) == len(per)  # X replaced, not appended
    assert list(third.result.summary.index[:4]) == ["no-change", "mean", "additive", "linear"]
    # a different split in the same folder is never merged: another seed's lists differ
    other = app_eval.evaluate(ws, b, "screen", "random", [2], [])
    assert "Y" not in other.result.summary.index
    assert any("dropped" in n for n in other.result.notes)
