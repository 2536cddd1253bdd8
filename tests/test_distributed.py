"""Data-parallel GRAPE training (DistributedDataParallel, gloo) with 2 CPU processes on a small
SYNTHETIC simulation, against the single-process loop on the same global batches.

Each case starts two processes of this module (``python -m tests.test_distributed MODE OUT``)
with torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, a free loopback MASTER_PORT)
and a short gloo timeout, and reads what they leave in OUT.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
REL = {"cc": ("c", "c"), "cn": ("c", "nc"), "nn": ("nc", "nc")}
#: small and without dropout: one DDP step must be the single-process step on the same rows
CFG = dict(
    hidden=16,
    batch_size=8,
    align_epochs=0,
    gat_heads=2,
    sim_heads=2,
    sim_top_k=4,
    seed=3,
    patience=100,
    dropout=0.0,
    epochs=2,
)
#: |loss(DDP) - loss(one process)| allowed: float32 sums in another order (a gradient
#: averaged over 2 ranks vs over one batch of twice the rows), a few ulps per step
LOSS_TOL = 1e-5
PARAM_TOL = 1e-5
WORLD = 2
TIMEOUT_S = 20  # gloo's wait for a peer (GRAPE_DIST_TIMEOUT)


def _data() -> dict[str, object]:
    """A SYNTHETIC 100-gene simulation, the same in every process (seeded)."""
    from grapekg.model.grape import GeneGraph
    from grapekg.model.grape.graph import directed_edge_types
    from grapekg.perturb.simulate import simulate, synthetic_genes
    from grapekg.perturb.splits import make_split
    from grapekg.perturb.summaries import summarise_adata

    genes = synthetic_genes(100, seed=0)
    sim = simulate(
        genes,
        relations=REL,
        n_conditions=28,
        cells_per_condition=6,
        seed=0,
        n_control_cells=30,
        add_de=False,
    )
    summary = summarise_adata(sim.adata)
    split = make_split("random", summary.conditions, seed=1, test_fraction=0.2, val_fraction=0.15)
    graph = GeneGraph.from_gene_table(
        genes,
        sim.edges.sample(frac=0.5, random_state=0),
        edge_types=directed_edge_types([(a, r, b) for r, (a, b) in REL.items()]),
    )
    return {"summary": summary, "split": split, "graph": graph}


#: BioDSNN without the VAE's sampling and without dropout. Its BatchNorm layers normalise each
#: rank's local batch (plain DDP; a SyncBatchNorm would hang where a rank's batch has no
#: perturbed row), so a DDP step is the single-process step up to those batch statistics:
#: the losses agree to BIO_REL_TOL (relative), not to float precision
BIO_REL_TOL = 0.02
BIO = dict(
    hidden=16,
    heads=2,
    ff_hidden=32,
    batch_size=8,
    epochs=2,
    steps_per_epoch=3,
    dropout=0.0,
    no_vae=True,
    seed=2,
)


def _bio(d: dict) -> tuple[object, object]:
    """BioDSNN's inputs on the same SYNTHETIC simulation: no GO edges, the control mean and
    the condition means as co-expression samples, the genes' pathways as the mask."""
    import numpy as np

    from grapekg.model.biodsnn.config import BiodsnnConfig
    from grapekg.model.biodsnn.train import BiodsnnData

    s = d["summary"]
    cfg = BiodsnnConfig(**BIO)
    ids = [str(g) for g in s.gene_ids]
    pw = [list(range(i, min(i + 10, len(ids)))) for i in range(0, len(ids), 10)]
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    names = [str(g) for g in s.gene_names]
    data = BiodsnnData.build(ids, [], none, np.asarray(s.mean, np.float32), pw, cfg, symbols=names)
    return data, cfg


def _fresh(d: dict) -> tuple[object, list[list[int]], torch.Tensor]:
    """The model every process starts from, the training conditions' perturbed nodes and
    their mean profiles."""
    import numpy as np

    from grapekg.model.grape import GrapeConfig
    from grapekg.model.grape.train import build_model, perturbed_indices, seed_everything

    s, split, g = d["summary"], d["split"], d["graph"]
    cfg = GrapeConfig(**CFG)
    seed_everything(cfg.seed)
    model, _ = build_model(g, cfg, s.gene_ids, s.ctrl_mean)
    train = [c for c in split.train if c in s.conditions]
    targets = torch.as_tensor(np.stack([s.mean[s.index(c)] for c in train]), dtype=torch.float32)
    return model, perturbed_indices(g, train), targets


# ------------------------------------------------------------------------- the processes
def _worker(mode: str, out: Path) -> None:
    """One rank: ``ok`` trains a few DDP steps with the trainer's own epoch
    (``parallel_epoch``) and saves its losses and weights, then runs ``train_grape`` under
    the app's rank-0 record; ``raise`` / ``kill``: rank 1 raises / is killed after its
    first epoch of ``train_grape``."""
    torch.set_num_threads(1)
    from grapekg.app.train import rank0_recorded
    from grapekg.model import distributed as ddp
    from grapekg.model.grape import GrapeConfig
    from grapekg.model.grape.train import parallel_epoch, train_grape

    assert ddp.init_from_env() and ddp.world_size() == WORLD
    r = ddp.rank()
    d = _data()
    if mode == "ok":
        model, pert, targets = _fresh(d)
        net = ddp.wrap(model, torch.device("cpu"))
        opt = torch.optim.AdamW(model.parameters(), lr=model.config.lr)
        losses = []
        for epoch in range(CFG["epochs"]):
            model.eval()
            model.refresh_candidates()
            model.candidates = ddp.tensor_from_rank0(model.candidates)
            losses.append(
                parallel_epoch(model, net, opt, pert, targets, epoch, torch.device("cpu"))
            )
        torch.save({"losses": losses, "state": model.state_dict()}, out / f"steps{r}.pt")
    fail_at = {"raise": 1, "kill": 1}.get(mode)

    def progress(done: int, total: int, val: float) -> None:
        if r == 1 and fail_at is not None and done >= fail_at:
            if mode == "kill":
                os.kill(os.getpid(), 9)
            raise ValueError("rank 1 fails on purpose")

    run = out / f"run{r}"  # each rank names its own folder: only rank 0's may appear
    with rank0_recorded(run, {"run_id": run.name, "model": "grape"}):
        cfg = GrapeConfig(**{**CFG, "epochs": 4 if fail_at else 2})
        res = train_grape(d["graph"], d["summary"], d["split"], cfg, run, progress=progress)
    (out / f"history{r}.json").write_text(json.dumps(res.history))
    if mode == "ok":
        from grapekg.model.biodsnn.train import fit

        data, bcfg = _bio(d)
        got = fit(data, d["summary"], d["split"], bcfg, out / f"bio{r}")
        (out / f"bio_history{r}.json").write_text(json.dumps(got.history))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(mode: str, out: Path) -> list[subprocess.Popen]:
    """Two ranks of ``_worker`` on a free loopback port."""
    port = _free_port()
    procs = []
    for r in range(WORLD):
        env = {
            **os.environ,
            "RANK": str(r),
            "LOCAL_RANK": str(r),
            "WORLD_SIZE": str(WORLD),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "GRAPE_DIST_TIMEOUT": str(TIMEOUT_S),
            "OMP_NUM_THREADS": "1",
            "CUDA_VISIBLE_DEVICES": "",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.test_distributed", mode, str(out)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


def _finish(procs: list[subprocess.Popen], wait_s: float) -> list[tuple[int, float, str]]:
    """(return code, monotonic time of exit, stderr) of each rank, all ended within
    ``wait_s`` (else every rank is killed and the test fails)."""
    deadline = time.monotonic() + wait_s
    ended: dict[int, float] = {}
    while len(ended) < len(procs):
        for i, p in enumerate(procs):
            if i not in ended and p.poll() is not None:
                ended[i] = time.monotonic()
        if time.monotonic() > deadline:
            for p in procs:
                p.kill()
            pytest.fail(f"a rank was still running after {wait_s:.0f} s")
        time.sleep(0.1)
    return [(p.returncode, ended[i], p.stderr.read()) for i, p in enumerate(procs)]  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ the tests
def _reference(d: dict) -> tuple[list[float], dict[str, torch.Tensor]]:
    """The single-process loop on the same global batches: step k of epoch e takes rank 0's
    and rank 1's k-th local batch together (the DistributedSampler's shards, seeded)."""
    from torch.utils.data import DistributedSampler

    from grapekg.model.grape.train import _step

    model, pert, targets = _fresh(d)
    opt = torch.optim.AdamW(model.parameters(), lr=model.config.lr)
    local = CFG["batch_size"] // WORLD
    losses = []
    for epoch in range(CFG["epochs"]):
        model.eval()
        model.refresh_candidates()
        model.train()
        shards = []
        for r in range(WORLD):
            s = DistributedSampler(range(len(pert)), WORLD, r, shuffle=True, seed=CFG["seed"])
            s.set_epoch(epoch)
            shards.append(list(s))
        total, n = 0.0, 0
        for lo in range(0, len(shards[0]), local):
            idx = [i for sh in shards for i in sh[lo : lo + local]]
            out = _step(model, opt, [pert[i] for i in idx], targets[idx], torch.device("cpu"))
            total += out["loss"] * len(idx)
            n += len(idx)
        losses.append(total / n)
    return losses, model.state_dict()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list]]:
    """The three 2-process runs, started together (each is mostly waiting on imports)."""
    started = {}
    for mode in ("ok", "raise", "kill"):
        out = tmp_path_factory.mktemp(f"ddp-{mode}")
        started[mode] = (out, _start(mode, out))
    return {mode: (out, _finish(procs, 150.0)) for mode, (out, procs) in started.items()}


def test_two_processes_match_one_process_on_the_same_global_batch(runs: dict) -> None:
    out, codes = runs["ok"]
    assert [c for c, _, _ in codes] == [0, 0], [e[-800:] for _, _, e in codes]
    ranks = [torch.load(out / f"steps{r}.pt", weights_only=True) for r in range(WORLD)]
    torch.set_num_threads(1)
    ref_losses, ref_state = _reference(_data())
    ddp_losses = [e["loss"] for e in ranks[0]["losses"]]
    assert len(ddp_losses) == len(ref_losses) == CFG["epochs"]
    diff = max(abs(a - b) for a, b in zip(ddp_losses, ref_losses, strict=True))
    print(f"DDP vs one process: epoch losses {ddp_losses} vs {ref_losses}, max |diff| {diff:.2e}")
    assert diff <= LOSS_TOL
    assert ddp_losses[1] != ddp_losses[0]  # the weights moved between the epochs
    # the ranks agree on the loss (all-reduced) and hold identical weights before a save
    assert ranks[1]["losses"] == ranks[0]["losses"]
    worst = 0.0
    for k, v in ranks[0]["state"].items():
        assert torch.equal(v, ranks[1]["state"][k]), k
        if v.is_floating_point():
            worst = max(worst, float((v - ref_state[k]).abs().max()) if v.numel() else 0.0)
    print(f"largest weight difference DDP vs one process: {worst:.2e}")
    assert worst <= PARAM_TOL


def test_only_rank0_writes_and_the_run_is_complete(runs: dict) -> None:
    out, codes = runs["ok"]
    assert [c for c, _, _ in codes] == [0, 0]
    assert not (out / "run1").exists()
    rec = json.loads((out / "run0" / "run.json").read_text())
    assert rec["status"] == "complete" and rec["processes"] == WORLD
    for f in ("config.json", "model.pt", "last.pt", "meta.json", "graph.pt"):
        assert (out / "run0" / f).is_file(), f
    h0, h1 = (json.loads((out / f"history{r}.json").read_text()) for r in range(WORLD))
    assert h0 == h1 and len(h0) == 2  # one validation score, one stopping rule
    meta = json.loads((out / "run0" / "meta.json").read_text())
    assert meta["history"] == h0


def test_biodsnn_two_processes_match_one_process(runs: dict, tmp_path: Path) -> None:
    """BioDSNN: each rank takes every second condition of the shared seeded epoch order, so
    the two ranks' steps together cover the single-process steps' conditions (BatchNorm
    statistics per rank: see BIO_REL_TOL); the ranks agree on every number; rank 1 writes
    nothing."""
    from grapekg.model.biodsnn.train import fit

    out, codes = runs["ok"]
    assert [c for c, _, _ in codes] == [0, 0]
    assert not (out / "bio1").exists()
    h0, h1 = (json.loads((out / f"bio_history{r}.json").read_text()) for r in range(WORLD))
    assert h0 == h1
    torch.set_num_threads(1)
    d = _data()
    data, cfg = _bio(d)
    one = fit(data, d["summary"], d["split"], cfg, tmp_path / "one")
    rel = max(abs(a["loss"] / b["loss"] - 1) for a, b in zip(h0, one.history, strict=True))
    print(
        f"BioDSNN DDP vs one process: losses {[h['loss'] for h in h0]} vs "
        f"{[h['loss'] for h in one.history]}, max relative diff {rel:.2e}"
    )
    assert len(h0) == len(one.history) == BIO["epochs"] and rel <= BIO_REL_TOL
    assert h0[1]["loss"] < h0[0]["loss"]
    assert json.loads((out / "bio0" / "meta.json").read_text())["history"] == h0


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_a_failing_rank_fails_the_run_cleanly(mode: str, runs: dict) -> None:
    out, codes = runs[mode]
    (rc0, t0, err0), (rc1, t1, _) = codes
    assert rc1 != 0 and rc0 != 0, err0[-800:]
    assert t0 - t1 < TIMEOUT_S + 10  # rank 0 stops soon after its peer, never hangs
    assert "another training process failed" in err0
    rec = json.loads((out / "run0" / "run.json").read_text())
    assert rec["status"] == "failed"
    assert "another training process failed" in rec["reason"]
    assert not (out / "run0" / "meta.json").exists()  # no finished run folder
    assert not (out / "run1").exists()
    assert not (out / "history0.json").exists()
    print(f"{mode}: rank 0 ended {t0 - t1:.1f} s after rank 1; its record: {rec['reason']}")


if __name__ == "__main__":
    _worker(sys.argv[1], Path(sys.argv[2]))
