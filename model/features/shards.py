"""Feature extraction over several processes (``torchrun``): which genes a rank encodes, and
what the ranks encoded, gathered to rank 0.

The genes to encode go in rounds of ``chunk x world`` genes; each round is split into
``world`` consecutive parts of equal size (the last ones may be shorter or empty) and rank r
encodes part r. After every round the parts travel to rank 0 (:func:`gather_to_rank0`), the
one process that writes them (to the embedding cache and to Neo4j), so a run that stops
keeps the rounds written before it. In one process a round is one page of ``chunk`` genes,
encoded and written by that process: the single-process loop.

The process group is :mod:`grapekg.model.distributed`'s (joined by ``init_from_env``); object
collectives go over gloo (the CPU half of ``cpu:gloo,cuda:nccl``). They pickle the parts:
this is only ever between the processes of one run, never a file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import torch.distributed as dist

from grapekg.model import distributed as ddp

__all__ = ["gather_to_rank0", "object_from_rank0", "part_of", "rounds"]

T = TypeVar("T")


def part_of(block: Sequence[T], world: int, rank: int) -> list[T]:
    """Rank ``rank``'s consecutive share of ``block``: ``ceil(len / world)`` items (fewer or
    none for the last ranks)."""
    size = -(-len(block) // world) if block else 0
    return list(block[rank * size : (rank + 1) * size])


def rounds(
    todo: Sequence[T], chunk: int, world: int | None = None, rank: int | None = None
) -> Iterator[tuple[list[T], list[T]]]:
    """(the round's genes, this rank's part) for every round over ``todo``; every rank sees
    the same number of rounds (module docstring)."""
    world = ddp.world_size() if world is None else world
    rank = ddp.rank() if rank is None else rank
    step = chunk * world
    for lo in range(0, len(todo), step):
        block = list(todo[lo : lo + step])
        yield block, part_of(block, world, rank)


def gather_to_rank0(obj: Any) -> list[Any] | None:
    """Every rank's ``obj`` on rank 0, in rank order; None on the other ranks; ``[obj]`` in
    one process."""
    if not ddp.active():
        return [obj]
    out: list[Any] | None = [None] * ddp.world_size() if ddp.is_rank0() else None
    with ddp.peer_errors():
        dist.gather_object(obj, out, dst=0)
    return out


def object_from_rank0(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (``obj`` itself in one process)."""
    if not ddp.active():
        return obj
    box = [obj if ddp.is_rank0() else None]
    with ddp.peer_errors():
        dist.broadcast_object_list(box, src=0)
    return box[0]
