"""``python -m grapekg.cli``: the ``grape`` command as a module, so that PyTorch's launcher can
start it once per process: ``torchrun --nproc-per-node N -m grapekg.cli train ...`` trains
each seed data-parallel over N processes (:mod:`grapekg.model.distributed`).

In such a launch (``WORLD_SIZE`` > 1) rank 0 is the command the user sees: it prints, writes
the run folders and the Neo4j write-back, and prints the evaluation. The other ranks train
alongside it silently (their console is quiet; errors still go to stderr) and skip the
evaluation tables (``--no-evaluate`` is added to their ``train``), which rank 0 writes.
"""

from __future__ import annotations

import os
import sys


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def follower_args(argv: list[str]) -> list[str]:
    """The arguments of a rank other than 0: ``train`` without the evaluation tables."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command == "train" and not any(a in ("--evaluate", "--no-evaluate") for a in argv):
        return [*argv, "--no-evaluate"]
    return [a if a != "--evaluate" else "--no-evaluate" for a in argv]


def run(argv: list[str]) -> None:
    from grapekg.cli.app import main

    if _int_env("WORLD_SIZE", 1) > 1 and _int_env("RANK", 0) > 0:
        from grapekg.cli.console import console

        console.quiet = True
        argv = follower_args(argv)
    main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
