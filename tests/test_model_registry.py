"""The model registry: a model added from outside (one module, one entry point) trains
through ``grape train`` end to end; the built-in variants are pinned."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grapekg.app import registry
from grapekg.errors import ConfigError
from tests.synthetic_kg import load_synthetic_kg
from tests.test_cli import grape

PLUGIN = Path(__file__).parent / "fixtures" / "plugin_model" / "grape_shift_model.py"


def _site(tmp_path: Path) -> Path:
    """An installed distribution holding the plug-in module and its entry point."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(PLUGIN, site / PLUGIN.name)
    info = site / "grape_shift_model-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: grape-shift-model\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[grapekg.models]\nshift = grape_shift_model:ENTRY\n")
    return site


def test_a_plugin_model_trains_end_to_end(store, cli_env, tmp_path):
    load_synthetic_kg(store, n_genes=80)
    env = dict(cli_env, PYTHONPATH=os.pathsep.join([str(_site(tmp_path)), os.getcwd()]))
    sim = ["--genes", "60", "--conditions", "16", "--cells-per-condition", "6", "--name", "reg"]
    grape(env, "data", "simulate", *sim)
    assert "half the mean change" in grape(env, "models").stdout
    out = grape(
        env, "train", "--dataset", "reg", "--model", "shift", "--variant", "half", "--seeds",
        "1..2", "--set", "epochs=2",
    ).stdout  # fmt: skip
    for word in ("shift-half+epochs", "mean", "additive", "SYNTHETIC", "train MSE"):
        assert word in out, out
    data = Path(cli_env["GRAPE_DATA_DIR"])
    runs = sorted((data / "runs").glob("reg-simulation-shift-half+epochs-s*"))
    assert len(runs) == 2
    for run in runs:
        rec = json.loads((run / "run.json").read_text())
        assert rec["status"] == "complete" and rec["model"] == "shift"
        assert rec["written_back"] is False
        assert json.loads((run / "config.json").read_text())["scale"] == 0.5
    # the predictions are the control + half the mean training change, by hand
    from grapekg.perturb import bundle as bundle_mod
    from grapekg.perturb.splits import resolve_split

    b = bundle_mod.load(data / "datasets" / "reg")
    split = resolve_split("simulation", b.summary.conditions, 1)
    rows = [b.summary.index(c) for c in split.train if c != "ctrl"]
    want = b.summary.ctrl_mean + 0.5 * (b.summary.mean[rows] - b.summary.ctrl_mean).mean(0)
    pred = pd.read_parquet(data / "results" / "reg" / "simulation" / "shift-half+epochs.parquet")
    one = pred[(pred["seed"] == 1) & (pred["condition"] == split.test[0])]
    got = one.set_index("gene").loc[[str(g) for g in b.summary.gene_ids], "value"].to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # --jobs: the same seeds as parallel processes give the same runs' predictions
    par = grape(
        env, "train", "--dataset", "reg", "--model", "shift", "--variant", "half", "--seeds",
        "1..2", "--set", "epochs=2", "--label", "par", "--jobs", "2", "--no-evaluate",
    ).stdout  # fmt: skip
    assert par.count("✓ reg-simulation-par-s") == 2, par
    both = pd.read_parquet(data / "results" / "reg" / "simulation" / "par.parquet")
    pd.testing.assert_frame_equal(
        both.sort_values(["seed", "condition", "gene"]).reset_index(drop=True),
        pred.sort_values(["seed", "condition", "gene"]).reset_index(drop=True),
    )
    bad = grape(env, "train", "--dataset", "reg", "--model", "shift", "--top-k", "3", check=False)
    assert bad.returncode == 2 and "Shift does not take it" in bad.stderr


#: each built-in variant's settings, pinned: changing one is a decision, not an accident
PINNED = {
    ("grape", "paper"): ("grape", ()),
    ("grape", "shock"): (
        "grape-shock",
        (
            "prior_shock=true",
            "self_term=true",
            "control_input=true",
            "select_on=pcc_de20",
            "min_steps=300",
        ),
    ),  # fmt: skip
    ("grape", "vote"): ("grape-vote", ("prior_shock.vote=true",)),
    ("grape", "anchor"): ("grape-anchor", ("prior_shock.vote=true", "single_anchor=true")),
    ("grape", "anchor-h2"): (
        "grape-anchor-h2",
        ("prior_shock.vote=true", "single_anchor=true", "prior_shock.vote_hops=2"),
    ),
    ("grape", "lp"): (
        "grape-lp",
        ("prior_shock.vote=true", "single_anchor=true", "prior_shock.lp_vote=true"),
    ),
    ("biodsnn", "paper"): ("biodsnn", ()),
    ("biodsnn", "sign"): ("biodsnn-sign", ("direction=sign",)),
}


def test_built_in_variants_are_pinned():
    shock = PINNED[("grape", "shock")][1]
    seen = set()
    for entry in registry.models().values():
        for v in entry.variants:
            seen.add((entry.name, v.name))
            label, extra = PINNED[(entry.name, v.name)]
            base = (
                shock if entry.name == "grape" and v.name != "paper" and v.name != "shock" else ()
            )
            assert entry.label(v.name) == label
            assert v.settings == (*base, *extra)
    assert seen == set(PINNED)


@pytest.mark.parametrize("model", ["grape", "biodsnn"])
def test_every_variant_builds_its_config(model):
    from grapekg.app.overrides import apply_overrides, parse_overrides

    entry = registry.get(model)
    runs = entry.load()
    for v in entry.variants:
        cfg = apply_overrides(
            runs.make_config(dict(entry.options)),
            parse_overrides(runs.config_type, list(v.settings)),
        )
        if model == "grape" and v.name == "lp":
            assert cfg.single_anchor and cfg.prior_shock.vote and cfg.prior_shock.lp_vote
            assert cfg.select_on == "pcc_de20" and cfg.min_steps == 300
        if v.name == "paper":
            assert cfg == runs.make_config(dict(entry.options))


def test_unknown_model_and_variant_are_one_line_errors():
    with pytest.raises(ConfigError, match="--model 'nope': choose from grape, biodsnn"):
        registry.get("nope")
    with pytest.raises(ConfigError, match="--variant 'x': grape has paper, shock"):
        registry.GRAPE.variant("x")
