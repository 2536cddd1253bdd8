"""What a hostile new user tried: degenerate and non-HDF5 files given to import, two imports of
one name at once, exports aimed at the data folder, unbounded options, a malicious resume
file. Each is refused with one line (or, for imports of one name, serialised by a lock) and
leaves nothing half-written. The data below are SYNTHETIC (tiny hand-made AnnData files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grapekg.app import bounds
from grapekg.app import export as export_flow
from grapekg.errors import ConfigError, GrapeError, OutputError
from grapekg.perturb.errors import DataError
from grapekg.perturb.summaries import summarise_h5ad

HEAVY = ("pandas", "torch", "anndata", "neo4j", "numpy", "scipy", "h5py")


def _h5ad(path: Path, x: np.ndarray, conds: list[str] | None = None, sparse: bool = True) -> Path:
    """A SYNTHETIC AnnData: ``x`` cells x 4 genes, 4 control cells then 3 of A and 3 of B."""
    conds = conds or ["ctrl"] * 4 + ["TP53+ctrl"] * 3 + ["BRCA1+ctrl"] * 3
    a = ad.AnnData(
        X=sp.csr_matrix(x) if sparse else x,
        obs=pd.DataFrame({"condition": conds}, index=[f"c{i}" for i in range(len(conds))]),
        var=pd.DataFrame(
            {"gene_name": ["TP53", "BRCA1", "MDM2", "XIST"]},
            index=["ENSG00000141510", "ENSG00000012048", "ENSG00000135679", "ENSG00000229807"],
        ),
    )
    a.write_h5ad(path)
    return path


def _x(n: int = 10, seed: int = 0) -> np.ndarray:
    return np.log1p(np.random.default_rng(seed).poisson(3.0, size=(n, 4))).astype(np.float32)


def _one_line(text: str) -> str:
    t = text.strip()
    assert t.count("\n") == 0 and "Traceback" not in t, t
    return t


def _grape(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grapekg", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """A CLI environment with its own empty data folder and no server: the commands below
    must fail before they need one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "GRAPE_"))}
    env["GRAPE_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "200"
    return env


# ------------------------------------------------- help and usage errors: parse, then import
_PROBE = """
import sys
from grapekg.cli.app import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("RC", code or 0, "HEAVY", ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def _probe(env: dict[str, str], *args: str) -> tuple[int, list[str], str]:
    """rc, the heavy modules imported, and stderr of ``grape ARGS`` run in one process."""
    p = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    last = [ln for ln in p.stdout.splitlines() if ln.startswith("RC ")][-1].split()
    return int(last[1]), [m for m in (last[3] if len(last) > 3 else "").split(",") if m], p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["train", "--dataset", "d", "--device", "tpu"],
        ["train", "--dataset", "d", "--lr", "nan"],
        ["train", "--dataset", "d", "--heads", "1000"],
        ["train", "--dataset", "d", "--set", "hidden=32"],
        ["nosuch"],
    ],
)
def test_help_and_usage_errors_import_no_heavy_module(bare_env, args):
    rc, heavy, err = _probe(bare_env, *args)
    assert rc == (0 if args == ["--help"] else 2), err
    assert heavy == [], f"grape {' '.join(args)} imported {heavy}"
    if rc:
        _one_line(err)


def test_root_help_lists_every_command_without_importing_it(bare_env):
    from grapekg.cli.app import COMMANDS

    out = _grape(bare_env, "--help").stdout
    for name in COMMANDS:
        assert f" {name} " in out, name


def test_lazy_commands_resolve_to_their_modules():
    """Every registered sub-command imports and converts (a typo in the registry fails here,
    not in a user's hands)."""
    from grapekg.cli.app import COMMANDS, _load

    for name in COMMANDS:
        cmd = _load(name, "rich")
        assert cmd.name == name and (cmd.help or cmd.callback), name


# ------------------------------------------------------------ option bounds and --set keys
def test_bounds_tables_match_the_model_code():

    from grapekg.app import biodsnn, train
    from grapekg.model.biodsnn.config import BiodsnnConfig
    from grapekg.model.grape.config import GrapeConfig
    from grapekg.perturb.splits import SPLIT_NAMES

    assert bounds.ABLATIONS == {"grape": train.ABLATIONS, "biodsnn": biodsnn.ABLATIONS}
    assert bounds.SPLIT_NAMES == SPLIT_NAMES
    from grapekg.app.overrides import set_keys

    assert set(bounds.GRAPE_BOUNDS) <= set(set_keys(GrapeConfig))
    assert set(bounds.BIODSNN_BOUNDS) <= set(set_keys(BiodsnnConfig))
    assert bounds.SET_ALIASES == GrapeConfig.SET_ALIASES
    # every default is within its own limits
    bounds.check_config("grape", GrapeConfig())
    bounds.check_config("biodsnn", BiodsnnConfig())


@pytest.mark.parametrize(
    ("model", "options", "match"),
    [
        ("grape", {"lr": float("inf")}, r"--lr inf: not a finite number"),
        ("grape", {"lr": float("nan")}, r"--lr nan: not a finite number"),
        ("grape", {"lr": -1.0}, r"--lr -1.0: must be greater than 0"),
        ("grape", {"lr": 0.0}, r"--lr 0.0: must be greater than 0"),
        ("grape", {"heads": 1000, "hidden": 64}, r"--heads 1000: must be at most 32"),
        ("grape", {"heads": 32, "hidden": 512}, r"heads x hidden = 16,384"),
        ("grape", {"hidden": 100_000}, r"--hidden 100000: must be at most 2048"),
        ("grape", {"top_k": 100_000}, r"--top-k 100000: must be at most 256"),
        ("grape", {"epochs": 10**9}, r"--epochs 1000000000: must be at most 100000"),
        ("grape", {"neighbourhood": 9}, r"--neighbourhood 9: must be at most 3"),
        ("biodsnn", {"heads": 64, "hidden": 64}, r"--heads 64: must be at most 32"),
    ],
)
def test_option_bounds(model, options, match):
    with pytest.raises(ConfigError, match=match) as err:
        bounds.check_options(model, options)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


def test_option_bounds_accept_the_defaults_and_documented_values():
    bounds.check_options("grape", {"lr": 1e-3, "heads": 4, "hidden": 64, "top_k": 4})
    bounds.check_options("grape", {"heads": 32, "hidden": 256, "epochs": 100_000})
    bounds.check_options("biodsnn", {"heads": 2, "hidden": 64, "lr": 1.0})


@pytest.mark.parametrize(
    ("pairs", "match"),
    [
        (["top_k=-5"], r"--set top_k=-5: must be at least 1"),
        (["sim_top_k=-5"], r"--set sim_top_k=-5: must be at least 1"),
        (["hidden=32"], r"'hidden' is an option of grape train: use --hidden"),
        (["epochs=3"], r"use --epochs"),
        (["sim_top_k=8"], r"use --top-k"),
        (["gat_heads=2"], r"use --heads"),
        (["lr=nan"], r"--set lr=nan: not a finite number"),
        (["gat_layers=100"], r"--set gat_layers=100: must be at most 8"),
        (["dropout=1.5"], r"--set dropout=1.5: must be at most 0.99"),
    ],
)
def test_set_values_and_option_keys(pairs, match):
    with pytest.raises(ConfigError, match=match) as err:
        bounds.check_set_pairs("grape", pairs)
    assert "did you mean" not in str(err.value)


def test_set_of_settings_without_an_option_passes_the_early_check():
    bounds.check_set_pairs("grape", ["gaussian_sigma=none", "prior_shock=true", "vote_hops=2"])
    bounds.check_set_pairs("biodsnn", ["steps_per_epoch=5", "direction=sign"])


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--lr", "inf"], "--lr inf: not a finite number"),
        (["--lr", "-1"], "--lr -1.0: must be greater than 0"),
        (["--heads", "1000"], "--heads 1000: must be at most 32"),
        (["--set", "hidden=32"], "use --hidden instead of --set"),
        (["--set", "top_k=-5"], "--set top_k=-5: must be at least 1"),
        (["--model", "biodsnn", "--set", "heads=3"], "use --heads instead of --set"),
    ],
)
def test_train_usage_errors_rc2_one_line_no_run_folder(bare_env, tmp_path, args, match):
    p = _grape(bare_env, "train", "--dataset", "d", *args, timeout=120)
    assert p.returncode == 2, p.stderr
    assert match in _one_line(p.stderr)
    data = Path(bare_env["GRAPE_DATA_DIR"])
    assert not data.exists() or not any(data.rglob("run.json")), "a run folder was left"


# ------------------------------------------------------------ degenerate and non-HDF5 files
def test_all_zero_x_is_refused(tmp_path):
    for sparse in (True, False):
        f = _h5ad(tmp_path / f"zero{sparse}.h5ad", np.zeros((10, 4), np.float32), sparse=sparse)
        with pytest.raises(DataError, match="X is all zeros") as err:
            summarise_h5ad(f)
        assert str(f) in _one_line(str(err.value))


def test_every_gene_constant_is_refused_and_some_constant_are_listed(tmp_path):
    with pytest.raises(DataError, match="same value in every cell"):
        summarise_h5ad(_h5ad(tmp_path / "flat.h5ad", np.full((10, 4), 0.5, np.float32)))
    x = _x()
    x[:, 2] = 0.0  # MDM2 never seen
    x[:, 3] = 1.25  # XIST the same everywhere
    for sparse in (True, False):
        s = summarise_h5ad(_h5ad(tmp_path / f"c{sparse}.h5ad", x, sparse=sparse))
        assert s.constant_genes == ["MDM2", "XIST"]


def test_values_beyond_float32_are_refused_with_their_place(tmp_path):
    x = _x().astype(np.float64)
    x[5, 1] = 1e300  # passes a NaN / inf check
    for sparse in (True, False):
        with pytest.raises(DataError, match="beyond the float32 range") as err:
            summarise_h5ad(_h5ad(tmp_path / f"big{sparse}.h5ad", x, sparse=sparse))
        msg = _one_line(str(err.value))
        assert "1e+300" in msg and "cell row 5, gene column 1" in msg
    x[5, 1] = -3.5e38  # just beyond float32's smallest
    with pytest.raises(DataError, match="beyond the float32 range"):
        summarise_h5ad(_h5ad(tmp_path / "neg.h5ad", x, sparse=False))


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = _h5ad(tmp_path / "good.h5ad", _x())
    data = good.read_bytes()
    files = {
        "text": "hello, this is not HDF5\n",
        "csv": "cell,condition,TP53\nc0,ctrl,1.0\n",
        "empty-ish": "\n",
    }
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.h5ad"
        out[name].write_text(text)
    for frac in (0.5, 0.1):
        p = tmp_path / f"truncated{frac}.h5ad"
        p.write_bytes(data[: int(len(data) * frac)])
        out[f"truncated{frac}"] = p
    out["junk-after-signature"] = tmp_path / "junk.h5ad"
    out["junk-after-signature"].write_bytes(data[:8] + os.urandom(4000))
    return out


def test_non_hdf5_files_are_one_line_errors(tmp_path):
    for name, f in _bad_files(tmp_path).items():
        with pytest.raises(DataError) as err:
            summarise_h5ad(f)
        msg = _one_line(str(err.value))
        assert msg.startswith(f"{f}: not a") and "HDF5/h5ad file (" in msg, (name, msg)
        assert "file signature not found" not in msg or "not an HDF5/h5ad file" in msg


def test_import_cli_of_a_text_file_is_one_line(cli_env, store, neo4j_settings, kg_fixtures):
    from grapekg.kg.build import build
    from tests.test_loader import mini_paths

    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    f = Path(neo4j_settings.data_dir) / "not_h5.h5ad"
    f.write_text("condition,TP53\nctrl,1\n")
    p = _grape(cli_env, "data", "import", str(f), "--name", "texty")
    assert p.returncode == 1
    assert _one_line(p.stderr) == f"error: {f}: not an HDF5/h5ad file (file signature not found)"


def test_import_warns_constant_genes_with_a_count(store, neo4j_settings, kg_fixtures, tmp_path):
    from grapekg.app import datasets
    from grapekg.kg.build import build
    from grapekg.perturb import bundle as bundle_mod
    from tests.test_loader import mini_paths

    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    x = _x()
    x[:, 3] = 0.0
    rep = datasets.import_h5ad(store, neo4j_settings, _h5ad(tmp_path / "c.h5ad", x), name="cst")
    assert rep.constant_genes == ["XIST"]
    (warning,) = rep.warnings()
    assert warning.startswith("1 of 4 genes have the same value in every cell (e.g. XIST)")
    assert bundle_mod.load(rep.bundle).meta["constant_genes"] == 1


# ------------------------------------------------------------- evaluation: how many scored
def _evaluation(conditions_per_seed: dict[int, list[str]]):
    """A stand-in Evaluation of two models over hand-listed test conditions per seed."""
    from types import SimpleNamespace

    rows = [
        {"model": m, "seed": seed, "condition": c, "subgroup": "all", "metric": k, "value": 0.5}
        for seed, conds in conditions_per_seed.items()
        for c in conds
        for m in ("mean", "no-change")
        for k in ("rmse", "dac")
    ]
    tab = pd.DataFrame({"rmse": ["0.1", "0.2"], "dac": ["1.0", "1.0"]}, index=["mean", "no-change"])
    result = SimpleNamespace(
        per_condition=pd.DataFrame(rows), notes=[], table=lambda digits=3: tab, synthetic=True
    )
    return SimpleNamespace(result=result)


def test_every_table_says_how_many_test_conditions_and_warns_below_five():
    from grapekg.cli.console import console
    from grapekg.cli.evaluate import print_evaluation, scored_conditions

    two = _evaluation({1: ["A+ctrl", "B+ctrl"], 2: ["A+ctrl", "B+ctrl"]})
    assert scored_conditions(two.result.per_condition) == (2, 2)
    with console.capture() as cap:
        print_evaluation(two, "d, simulation split, seeds 1..2")
    out = " ".join(cap.get().split())
    assert "scored on 2 test conditions" in out
    assert "warning: only 2 test conditions in a seed (fewer than 5)" in out
    many = _evaluation({1: [f"G{i}+ctrl" for i in range(7)], 2: [f"G{i}+ctrl" for i in range(6)]})
    with console.capture() as cap:
        print_evaluation(many, "d")
    out = " ".join(cap.get().split())
    assert "scored on 6-7 test conditions per seed" in out and "warning" not in out


# ------------------------------------------------------------------- export's output path
def test_export_never_writes_into_the_data_folder(tmp_path):
    data = tmp_path / "data"
    (data / "datasets" / "d").mkdir(parents=True)
    (data / "datasets" / "d" / "meta.json").write_text('{"name": "d"}')
    for out, fmt in ((data / "datasets" / "d", "npz"), (data / "x.pt", "pyg"), (data, "npz")):
        for overwrite in (False, True):
            with pytest.raises(ConfigError, match="inside the data folder"):
                export_flow.check_out(out, fmt, overwrite=overwrite, protected=(data,))
    assert json.loads((data / "datasets" / "d" / "meta.json").read_text()) == {"name": "d"}


def test_export_refuses_a_non_empty_folder_or_an_existing_file_without_overwrite(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="the folder is not empty; .* --overwrite"):
        export_flow.check_out(full, "npz")
    assert export_flow.check_out(full, "npz", overwrite=True) == full
    assert export_flow.check_out(tmp_path / "empty_or_new", "npz") == tmp_path / "empty_or_new"
    f = tmp_path / "g.pt"
    f.write_bytes(b"x")
    with pytest.raises(ConfigError, match="the file exists; pass --overwrite"):
        export_flow.check_out(f, "pyg")
    export_flow.check_out(f, "pyg", overwrite=True)
    with pytest.raises(ConfigError, match="is a folder; pyg writes one file"):
        export_flow.check_out(full, "pyg", overwrite=True)


def test_export_to_an_unwritable_path_is_one_line_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "sub" / "g.pt"
    with pytest.raises(OutputError) as err:
        export_flow.check_out(out, "pyg")
    msg = _one_line(str(err.value))
    assert msg.startswith(f"{out}: cannot write here") and err.value.exit_code == 1


def test_export_cli_refuses_the_data_folder_before_any_database_work(bare_env):
    data = Path(bare_env["GRAPE_DATA_DIR"])
    (data / "datasets" / "d").mkdir(parents=True)
    meta = data / "datasets" / "d" / "meta.json"
    meta.write_text('{"name": "d"}')
    p = _grape(bare_env, "export", "--format", "npz", "--out", str(meta.parent), "--overwrite")
    assert p.returncode == 2 and "inside the data folder" in _one_line(p.stderr)
    assert meta.read_text() == '{"name": "d"}'
    junk = data.parent / "full"
    junk.mkdir()
    (junk / "notes.txt").write_text("keep")
    p = _grape(bare_env, "export", "--format", "npz", "--out", str(junk))
    assert p.returncode == 2 and "not empty" in _one_line(p.stderr)
    p = _grape(bare_env, "export", "--out", str(data.parent / "notes" / "x" / "g.pt"))
    # no server in this environment: past the path checks, the one-line database error
    assert p.returncode == 1 and "no Neo4j server" in _one_line(p.stderr)


# ------------------------------------------------------------------- two imports, one name
def _datasets_dir(neo4j_settings) -> Path:
    return Path(neo4j_settings.data_dir) / "datasets"


def test_import_lock_refuses_a_second_import_naming_the_lock(
    cli_env, store, neo4j_settings, kg_fixtures, tmp_path
):
    """While one import of a name holds its lock, another import of that name fails at once
    with one line naming the lock, and the dataset stays exactly as the first left it."""
    from grapekg.app import datasets
    from grapekg.app.workspace import Workspace
    from grapekg.kg.build import build
    from tests.test_loader import mini_paths

    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    datasets.import_h5ad(store, neo4j_settings, _h5ad(tmp_path / "a.h5ad", _x()), name="lk")
    meta = (_datasets_dir(neo4j_settings) / "lk" / "meta.json").read_text()
    other = _h5ad(tmp_path / "b.h5ad", _x(13, seed=1), ["ctrl"] * 7 + ["TP53+ctrl"] * 6)
    with datasets.import_lock(Workspace(neo4j_settings), "lk") as lock:
        p = _grape(cli_env, "data", "import", str(other), "--name", "lk")
    assert p.returncode == 1, p.stderr
    msg = _one_line(p.stderr)
    assert "dataset lk is being imported by another process" in msg and str(lock) in msg
    assert f"(pid {os.getpid()})" in msg
    assert (_datasets_dir(neo4j_settings) / "lk" / "meta.json").read_text() == meta
    # the lock went with its holder: the same import now succeeds
    assert _grape(cli_env, "data", "import", str(other), "--name", "lk").returncode == 0
    assert (
        json.loads((_datasets_dir(neo4j_settings) / "lk" / "meta.json").read_text())["n_cells"]
        == 13
    )


def test_two_imports_of_one_name_at_once_never_mix(
    cli_env, store, neo4j_settings, kg_fixtures, tmp_path
):
    """Two `grape data import --name same` started together: one wins and the other fails
    with one line naming the lock, or they run one after the other; the dataset is always
    one file's, whole (meta, summaries and the KG agree), and no staging folder is left."""
    from grapekg.kg.build import build
    from grapekg.perturb import bundle as bundle_mod
    from tests.conftest import cy
    from tests.test_loader import mini_paths

    build(store, neo4j_settings, ["ensembl"], mini_paths(kg_fixtures))
    files = {
        10: _h5ad(tmp_path / "ten.h5ad", _x()),
        16: _h5ad(
            tmp_path / "sixteen.h5ad",
            _x(16, seed=2),
            ["ctrl"] * 6 + ["TP53+ctrl"] * 5 + ["BRCA1+ctrl"] * 3 + ["MDM2+ctrl"] * 2,
        ),
    }
    for attempt in range(2):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "grapekg", "data", "import", str(f), "--name", "same"],
                env=cli_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for f in files.values()
        ]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        ok = [rc == 0 for rc, _ in results]
        assert any(ok), results
        for rc, err in results:
            if rc:
                assert rc == 1 and ".same.lock" in _one_line(err), err
        b = bundle_mod.load(_datasets_dir(neo4j_settings) / "same")
        n = int(b.summary.n_cells.sum())
        assert n in files and b.meta["n_cells"] == n, (n, b.meta["n_cells"])
        assert len(b.summary.conditions) - 1 == b.meta["n_conditions"]
        kg = store.read(
            cy(
                "MATCH (:Dataset {name:'same'})-[:HAS_CONDITION]->(c:Condition) "
                "RETURN sum(c.n_cells) AS n, count(c) AS k"
            )
        )[0]
        assert kg["n"] == n and kg["k"] == len(b.summary.conditions), (attempt, kg, n)
        leftovers = [p.name for p in _datasets_dir(neo4j_settings).iterdir() if "same." in p.name]
        assert leftovers == [".same.lock"], leftovers


# ---------------------------------------------------------------- resume: no pickle loaded
class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_resume_never_unpickles_objects_from_a_run_folder(tmp_path):
    import torch

    from grapekg.model.grape.train import _load_last

    marker = tmp_path / "pwned"
    last = tmp_path / "last.pt"
    torch.save({"model": {}, "evil": _Evil(str(marker))}, last)
    with pytest.raises(ValueError, match="cannot resume from this file") as err:
        _load_last(last)
    assert not marker.exists() and str(last) in _one_line(str(err.value))


def test_resume_state_is_plain_and_loads_weights_only(tmp_path):
    import torch

    from grapekg.model.grape.config import GrapeConfig
    from grapekg.model.grape.train import train_grape
    from tests.test_grape_train import FAST

    data = _tiny_training_data()
    cfg = GrapeConfig(**{**FAST, "epochs": 2, "align_epochs": 1})
    train_grape(data["graph"], data["summary"], data["split"], cfg, tmp_path)
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and isinstance(state["best_val"], float)
    assert all(isinstance(v, int | float) for h in state["history"] for v in h.values())
    res = train_grape(
        data["graph"],
        data["summary"],
        data["split"],
        GrapeConfig(**{**FAST, "epochs": 3, "align_epochs": 1}),
        tmp_path,
        resume=True,
    )
    assert [h["epoch"] for h in res.history] == [0, 1, 2]


def _tiny_training_data() -> dict:
    """The SYNTHETIC training inputs of tests/test_grape_train.py, smaller."""
    from grapekg.model.grape import GeneGraph
    from grapekg.model.grape.graph import directed_edge_types
    from grapekg.perturb.simulate import simulate, synthetic_genes
    from grapekg.perturb.splits import make_split
    from grapekg.perturb.summaries import summarise_adata
    from tests.test_grape_train import REL

    genes = synthetic_genes(80, seed=0)
    sim = simulate(
        genes, relations=REL, n_conditions=16, cells_per_condition=8, seed=0,
        n_control_cells=30, add_de=False,
    )  # fmt: skip
    summary = summarise_adata(sim.adata)
    split = make_split("random", summary.conditions, seed=1, test_fraction=0.25, val_fraction=0.15)
    graph = GeneGraph.from_gene_table(
        genes,
        sim.edges.sample(frac=0.5, random_state=0),
        edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()]),
    )
    return {"graph": graph, "summary": summary, "split": split}


def test_grape_error_classes_keep_their_codes():
    assert OutputError("p", "m").exit_code == 1 and isinstance(OutputError("p", "m"), GrapeError)
