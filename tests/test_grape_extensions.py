"""GRAPE's extension protocol: the paper's model and training loop name no extension, the
extensions' typed configs make a dependency impossible to write, an old flat config reads as
the nested one, the unperturbed HGAT pass is computed once per forward, and the build and
contribution orders are the ones the extension table states. Data here are synthetic."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch

from grapekg.model.grape import model as model_module
from grapekg.model.grape import train as train_module
from grapekg.model.grape.config import GrapeConfig, PriorShockConfig
from grapekg.model.grape.extension import GrapeExtension, Stage, Step
from grapekg.model.grape.extensions import EXTENSIONS
from grapekg.model.grape.graph import GeneGraph, directed_edge_types
from grapekg.model.grape.prior_shock import PriorShock
from grapekg.model.grape.train import build_model, load_model, predict_with, train_grape
from grapekg.perturb.splits import Split
from grapekg.perturb.summaries import ConditionSummary

TYPES = directed_edge_types([("c", "cc", "c"), ("c", "cn", "nc"), ("nc", "nn", "nc")])
#: every extension's config name, attribute, class and option names
EXTENSION_WORDS = {
    "pert_channel", "self_term", "control_input", "ctrl_in", "prior_shock", "single_anchor",
    "prior_vote", "vote_hops", "lp_vote", "lp_gain", "PerturbationChannel", "SelfKnockdown",
    "ControlInput", "PriorShock", "SingleAnchor", "anchor",
}  # fmt: skip
ALL_ON = dict(
    pert_channel=True,
    self_term=True,
    control_input=True,
    prior_shock=PriorShockConfig(vote=True, vote_hops=2, lp_vote=True),
    single_anchor=True,
)
TINY = dict(hidden=8, gat_heads=2, sim_heads=1, sim_top_k=2, align_epochs=0, dropout=0.0)


def _names_in(func: object) -> set[str]:
    """Identifiers, attribute names and string constants in a function's source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))  # type: ignore[arg-type]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.update(node.value.replace(".", " ").split())
    return out


@pytest.mark.parametrize(
    "func",
    [
        model_module.GrapeModel.__init__,
        model_module.GrapeModel.forward,
        model_module.GrapeModel._forward_incremental,
        model_module.GrapeModel._forward_full,
        train_module.train_grape,
        train_module._epochs,
        train_module.load_model,
    ],
    ids=lambda f: f.__qualname__,
)
def test_the_paper_model_and_the_loop_name_no_extension(func):
    named = _names_in(func) & EXTENSION_WORDS
    assert not named, f"{func.__qualname__} names {sorted(named)}"
    # the check can fail: the table itself names them
    assert {"pert_channel", "prior_shock"} <= set(EXTENSIONS)


def test_a_vote_without_prior_shock_cannot_be_written():
    with pytest.raises(TypeError):
        GrapeConfig(lp_vote=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        GrapeConfig(prior_vote=True)  # type: ignore[call-arg]
    fields = set(GrapeConfig.__dataclass_fields__)
    assert not {"prior_vote", "vote_hops", "lp_vote"} & fields
    assert GrapeConfig(prior_shock=True).prior_shock == PriorShockConfig()
    assert GrapeConfig(prior_shock=False).prior_shock is None
    with pytest.raises(ValueError, match="prior_shock must be"):
        GrapeConfig(prior_shock="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vote_hops"):
        PriorShockConfig(vote_hops=0)


def _old_flat(**flat: object) -> dict[str, object]:
    """A config dict as written before the extensions had their own configs."""
    d = GrapeConfig().to_dict()
    d.update({"prior_shock": False, "prior_vote": False, "vote_hops": 1, "lp_vote": False})
    d.update(flat)
    return d


def test_an_old_flat_config_reads_as_the_nested_one(tmp_path):
    on = GrapeConfig.from_dict(
        _old_flat(prior_shock=True, prior_vote=True, vote_hops=2, lp_vote=True, hidden=8)
    )
    assert on.prior_shock == PriorShockConfig(vote=True, vote_hops=2, lp_vote=True)
    assert on.hidden == 8
    assert GrapeConfig.from_dict(_old_flat(vote_hops=3)).prior_shock is None  # nothing read it
    with pytest.raises(ValueError, match="prior_vote needs prior_shock"):
        GrapeConfig.from_dict(_old_flat(prior_vote=True))
    with pytest.raises(ValueError, match="unknown prior_shock settings"):
        GrapeConfig.from_dict({"prior_shock": {"votes": True}})
    # the nested form round-trips through JSON
    on.to_json(tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["prior_shock"]["vote_hops"] == 2
    assert GrapeConfig.from_json(tmp_path / "c.json") == on
    # every alias names a setting of the nested config
    for flat, dotted in GrapeConfig.SET_ALIASES.items():
        head, leaf = dotted.split(".")
        assert head == "prior_shock" and leaf in PriorShockConfig.__dataclass_fields__, flat


def _case() -> tuple[GeneGraph, ConditionSummary, Split]:
    """24 synthetic genes, the first 16 measured, prior edges from regulators 16-21 to them;
    random mean profiles of singles 16-21 and two doubles."""
    from grapekg.perturb.simulate import synthetic_genes

    genes = synthetic_genes(24, seed=4)
    ids = genes["ensembl_id"].to_numpy()
    pairs = [(r, d) for r in range(16, 22) for d in range(r - 16, r - 16 + 6)]
    prior = pd.DataFrame({"src": [ids[a] for a, _ in pairs], "dst": [ids[b] for _, b in pairs]})
    graph = GeneGraph.from_gene_table(genes, prior, edge_types=TYPES, text_dim=8, dna_dim=4)
    sym = list(genes["symbol"])
    singles = [f"{sym[i]}+ctrl" for i in range(16, 22)]
    doubles = ["+".join(sorted((sym[16], sym[17]))), "+".join(sorted((sym[18], sym[21])))]
    conds = ["ctrl", *singles, *doubles]
    rng = np.random.default_rng(1)
    mean = rng.normal(size=(len(conds), 16)).astype(np.float32)
    summary = ConditionSummary(
        conditions=conds,
        gene_ids=np.asarray(ids[:16]),
        gene_names=np.asarray(sym[:16]),
        n_cells=np.full(len(conds), 5),
        mean=mean,
        var=np.full_like(mean, 0.1),
        frac_nonzero=np.ones_like(mean),
    )
    split = Split("file", 1, ["ctrl", *singles[:4], doubles[0]], [singles[4]], [doubles[1]])
    return graph, summary, split


def _model(**cfg: object):
    graph, summary, _ = _case()
    torch.manual_seed(0)
    model, _ = build_model(graph, GrapeConfig(**TINY, **cfg), summary.gene_ids, summary.ctrl_mean)
    model.refresh_candidates()
    return model.eval(), graph


def _count_hgat(model) -> list[int]:
    calls = [0]
    model.hgat.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("incremental", [True, False])
def test_the_unperturbed_pass_runs_once_per_forward(incremental):
    """Incremental: one HGAT pass (the unperturbed one, read by the incremental forward and
    by prior_shock). Full: the batched masked pass plus one unperturbed pass for
    prior_shock, none without it."""
    for shock, expect in ((PriorShockConfig(), 1), (None, 1)):
        model, graph = _model(prior_shock=shock, incremental=incremental)
        calls = _count_hgat(model)
        with torch.no_grad():
            model([[graph.index_of(graph.symbols[16])], []])
        assert calls[0] == expect + (0 if incremental or shock is None else 1), (shock, calls)


def test_the_shared_pass_gives_the_prediction_of_a_separate_one(monkeypatch):
    """In eval mode (no dropout draw) reading the step's shared unperturbed pass gives
    bit-identical predictions to recomputing it for prior_shock, as the model did before the
    pass was shared."""
    model, graph = _model(**ALL_ON)
    pert = [[graph.index_of(graph.symbols[i])] for i in (16, 17, 20)] + [[]]
    with torch.no_grad():
        model.prior_shock.readout.weight.normal_()  # a nonzero term
        shared, _ = model(pert)

    def separate(self, pred, step):
        h = step._hgat(step.x0[None], step.relations, step.is_coding)[-1][0]
        return pred + self(h, step.perturbed).to(pred.dtype)

    monkeypatch.setattr(PriorShock, "contribute", separate)
    with torch.no_grad():
        again, _ = model(pert)
    assert float(shared[:, :].abs().sum()) > 0 and torch.equal(shared, again)


def test_build_registration_and_contribution_orders():
    """Extensions are built after the paper's modules in table order (the random draws of
    their initialisation and model.parameters() follow it), so the paper's weights are the
    same with or without them; contributions run terms, then the override, then the
    anchor."""
    paper, _ = _model()
    model, _ = _model(**ALL_ON)
    assert [n for n, m in model.named_children()] == [
        "encoder", "sims", "gsl", "hgat", "head",
        "pert_channel", "self_term", "ctrl_in", "prior_shock", "single_anchor",
    ]  # fmt: skip
    ps = paper.state_dict()
    for k, v in model.state_dict().items():
        if k in ps:
            assert torch.equal(v, ps[k]), k
    extra = set(model.state_dict()) - set(ps)
    assert {"ctrl_in.weight", "ctrl_in.bias", "prior_shock.vote", "self_term.a"} <= extra
    order = [e.attribute for e in sorted(model.extensions, key=lambda e: e.stage)]
    # ctrl_in adds nothing to the prediction (its default contribute returns it as is)
    assert order == ["pert_channel", "ctrl_in", "prior_shock", "self_term", "single_anchor"]
    assert all(isinstance(e, GrapeExtension) for e in model.extensions)
    assert model.per_node_weight_keys() == ["prior_shock.vote"]
    assert [k.attribute for k in EXTENSIONS.values()] == model.extension_names
    assert Stage.TERM < Stage.OVERRIDE < Stage.ANCHOR


def test_an_extension_taken_off_is_skipped():
    model, graph = _model(**ALL_ON)
    model.single_anchor = None
    assert "single_anchor" not in [e.attribute for e in model.extensions]
    with torch.no_grad():
        pred, _ = model([[graph.index_of(graph.symbols[16])]])
    assert pred.shape == (1, 16)


def test_an_old_run_folder_with_a_flat_config_predicts_the_same(tmp_path):
    """Train with every extension, rewrite config.json in the flat form older runs have:
    the run loads to the same model and predicts the same, bit for bit."""
    graph, summary, split = _case()
    cfg = GrapeConfig(**TINY, epochs=2, **ALL_ON)
    train_grape(graph, summary, split, cfg, tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["single_anchor"]["singles"] == 4.0 and "gain" in meta["lp_vote"]
    model, g = load_model(tmp_path)
    conds = list(summary.conditions)
    pert = [g.indices([s for s in c.split("+") if s != "ctrl"]) for c in conds]
    before = predict_with(model, pert)
    d = json.loads((tmp_path / "config.json").read_text())
    shock = d.pop("prior_shock")
    d |= {"prior_shock": True, "prior_vote": shock["vote"], "vote_hops": shock["vote_hops"]}
    d |= {"lp_vote": shock["lp_vote"]}
    (tmp_path / "config.json").write_text(json.dumps(d))
    model2, g2 = load_model(tmp_path)
    assert model2.config == model.config
    assert np.array_equal(predict_with(model2, pert), before)


def test_step_base_is_cached():
    model, graph = _model()
    z = model.encode()
    state = model.graph_state(z)
    step = Step(
        model.hgat, z["fus"], state.relations, model.is_coding, [[]], model.ctrl, model.out_pos
    )
    calls = _count_hgat(model)
    with torch.no_grad():
        first = step.base()
        assert step.base() is first and calls[0] == 1
    assert len(first) == model.config.gat_layers + 1


def test_learned_representations_read_the_models_own_input():
    """With control_input the HGAT input is Z_fus plus the control term: the representations
    and attention written back come from that input, the unperturbed pass of the model's own
    forward (not from Z_fus alone)."""
    from grapekg.model.grape.learned import representations

    model, graph = _model(control_input=True)
    with torch.no_grad():
        model.ctrl_in.weight.normal_()  # a nonzero control term
        z = model.encode()
        state = model.graph_state(z)
        step = Step(model.hgat, model.hgat_input(z), state.relations, model.is_coding, [[]],
                    model.ctrl, model.out_pos)  # fmt: skip
        own = step.base()[-1].numpy()
        plain = model.hgat(z["fus"][None], state.relations, model.is_coding)[-1][0].numpy()
    _, after = representations(model, graph)
    assert np.array_equal(after, own) and not np.allclose(after, plain)
