"""Data-parallel training over several processes with PyTorch's own engine.

Launched by ``torchrun --nproc-per-node N -m grapekg.cli train ...`` (one process per GPU, or
N CPU processes): torchrun sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``, and :func:`init_from_env` joins the process group (NCCL for CUDA tensors,
gloo for CPU ones). Without ``WORLD_SIZE`` (or with 1) nothing here does anything and
training is the plain single-process loop.

What the trainers share (GRAPE :mod:`~grapekg.model.grape.train`, BioDSNN
:mod:`~grapekg.model.biodsnn.train`):

- :func:`shard`: the training conditions of an epoch, shuffled by a ``DistributedSampler``
  seeded with the run's seed (``set_epoch`` every epoch) and split into equal shards, one per
  rank (the sampler pads by repeating a few conditions so every rank takes as many steps);
- :func:`local_batch`: a step's global batch ``batch_size`` split over the ranks, so one DDP
  step on N ranks is one step of the single-process loop on the union of their batches: DDP
  averages the gradients, and the mean of N equal-sized batch means is the global mean;
- :func:`wrap`: ``DistributedDataParallel`` around the model (gradients all-reduced in
  ``backward``);
- :func:`sum_over_ranks`, :func:`from_rank0`: the epoch's loss sums, and rank 0's validation
  score (so every rank stops at the same epoch);
- :func:`is_rank0`, :func:`barrier`: only rank 0 writes the run folder; the others wait.

A rank that fails exits (the CLI's one-line error); its peers' next collective then fails
("connection closed"), or times out after ``GRAPE_DIST_TIMEOUT`` seconds (default 1800) when
a peer hangs; torchrun's SIGTERM to the survivors is raised as :class:`PeerFailedError` so
rank 0 records its run as failed (:func:`grapekg.app.runs.recorded`) before it exits.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import timedelta

import torch
import torch.distributed as dist

__all__ = [
    "BACKEND_ENV",
    "TIMEOUT_ENV",
    "PeerFailedError",
    "active",
    "barrier",
    "device_for",
    "from_rank0",
    "init_from_env",
    "is_rank0",
    "local_batch",
    "peer_errors",
    "rank",
    "shard",
    "shard_of",
    "sum_over_ranks",
    "tensor_from_rank0",
    "world_size",
    "wrap",
]

#: a torch.distributed backend string that replaces the default (e.g. ``gloo``: several ranks
#: on one GPU, which NCCL refuses)
BACKEND_ENV = "GRAPE_DIST_BACKEND"
#: seconds a collective waits for a peer before it fails
TIMEOUT_ENV = "GRAPE_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0


class PeerFailedError(RuntimeError):
    """Another training process failed, hung or was stopped: this one stops too."""


def world_size() -> int:
    """Processes of the run: the group's size once joined, else ``WORLD_SIZE`` (1 unset)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def is_rank0() -> bool:
    """Whether this process writes (the run folder, checkpoints, Neo4j)."""
    return rank() == 0


def active() -> bool:
    """Whether training is data-parallel: a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _timeout() -> timedelta:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r}: expected seconds (a number)") from None
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r}: expected a positive number of seconds")
    return timedelta(seconds=seconds)


def _on_sigterm(signum: int, frame: object) -> None:
    raise PeerFailedError(
        "stopped by the launcher (another training process failed or the run was cancelled)"
    )


def init_from_env() -> bool:
    """Join the process group torchrun describes (once; later calls return at once). True
    when training is data-parallel. gloo carries CPU tensors, NCCL CUDA ones where a GPU is
    present (each process on ``cuda:LOCAL_RANK`` modulo the visible GPUs); ``GRAPE_DIST_BACKEND``
    overrides the choice."""
    if active():
        return True
    if world_size() <= 1 or not dist.is_available():
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    backend = "gloo"
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local % torch.cuda.device_count())
        if dist.is_nccl_available():
            backend = "cpu:gloo,cuda:nccl"
    backend = os.environ.get(BACKEND_ENV) or backend
    dist.init_process_group(backend=backend, timeout=_timeout())
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        with suppress(ValueError):  # not the main thread: no handler
            signal.signal(signal.SIGTERM, _on_sigterm)
    return dist.get_world_size() > 1


def device_for(device: torch.device) -> torch.device:
    """This rank's device: ``cuda`` becomes ``cuda:LOCAL_RANK`` in data-parallel runs."""
    if active() and device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def barrier() -> None:
    """Every rank waits here (a no-op in one process)."""
    if active():
        with peer_errors():
            dist.barrier()


@contextmanager
def peer_errors() -> Iterator[None]:
    """A collective that failed because a peer died, hung or closed its connection is raised
    as one line (:class:`PeerFailedError`) naming this rank."""
    try:
        yield
    except PeerFailedError:
        raise
    except (RuntimeError, dist.DistError) as exc:
        if not active() and not dist.is_initialized():
            raise
        msg = " ".join(str(exc).split())
        if not _looks_like_peer_failure(exc, msg):
            raise
        raise PeerFailedError(
            f"process {rank()} of {world_size()}: another training process failed or stopped "
            f"({msg[:160]})"
        ) from None


def _looks_like_peer_failure(exc: BaseException, msg: str) -> bool:
    if isinstance(exc, dist.DistError):
        return True
    words = ("connection closed", "connection reset", "timed out", "timeout", "gloo", "nccl")
    low = msg.lower()
    return any(w in low for w in words)


def shard(n: int, epoch: int, seed: int) -> list[int]:
    """This rank's indices of ``n`` items for ``epoch``: a seeded ``DistributedSampler``
    (shuffled with ``seed + epoch``; padded so every rank has ``ceil(n / world)``)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(
        range(n), num_replicas=world_size(), rank=rank(), shuffle=True, seed=seed
    )
    sampler.set_epoch(epoch)
    return list(sampler)


def shard_of(items: list[int]) -> list[int]:
    """This rank's share of an epoch's order that every rank drew alike (a seeded shuffle):
    a ``DistributedSampler`` without shuffling, i.e. every ``world``-th item from this rank's
    position, padded so every rank has as many. Local batches of ``batch_size / world`` of
    these shares together are exactly the order's consecutive global batches."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(items, num_replicas=world_size(), rank=rank(), shuffle=False)
    return [items[i] for i in sampler]


def local_batch(batch_size: int) -> int:
    """Conditions per rank and step: the global ``batch_size`` split evenly (at least 1)."""
    return max(1, -(-batch_size // world_size()))


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``DistributedDataParallel`` around ``model`` (``model`` itself in one process).
    Buffers are not broadcast at every forward (a trainer syncs what changes, e.g. GRAPE's
    candidate edges); parameters unused in a step are allowed (ablations switch parts off)."""
    if not active():
        return model
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    # the name of "do not broadcast buffers at every forward" changed across torch versions
    known = inspect.signature(DistributedDataParallel.__init__).parameters
    no_sync = {
        "forward_sync_buffers" if "forward_sync_buffers" in known else "broadcast_buffers": False
    }
    with peer_errors():
        return DistributedDataParallel(
            model, device_ids=ids, find_unused_parameters=True, **no_sync
        )


def sum_over_ranks(values: Mapping[str, float]) -> dict[str, float]:
    """Each value summed over the ranks (float64 on the CPU; gloo)."""
    if not active():
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64)
    with peer_errors():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {k: float(v) for k, v in zip(keys, t.tolist(), strict=True)}


def from_rank0(values: list[float]) -> list[float]:
    """Rank 0's ``values`` on every rank (e.g. its validation score: one stopping rule)."""
    if not active():
        return list(values)
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    with peer_errors():
        dist.broadcast(t, src=0)
    return [float(v) for v in t.tolist()]


def tensor_from_rank0(t: torch.Tensor) -> torch.Tensor:
    """Rank 0's tensor (any shape; same dtype on every rank) on every rank, on ``t``'s
    device. Used for values computed on every rank that must agree exactly."""
    if not active():
        return t
    with peer_errors():
        shape = torch.tensor(list(t.shape) + [0] * (8 - t.dim()), dtype=torch.long)
        dist.broadcast(shape, src=0)
        dims = [int(x) for x in shape.tolist()[: t.dim()]]
        buf = t.detach().cpu().contiguous() if is_rank0() else torch.empty(dims, dtype=t.dtype)
        dist.broadcast(buf, src=0)
    return buf.to(t.device)
