"""Progress reporting without a UI library: flows take a *progress factory* and the caller
(the CLI) supplies one that draws bars.

``progress(label, total)`` returns a context manager that yields ``advance(n)``; ``total`` is
None when unknown. This is the same shape as the KG exporter's and builder's ``progress``
argument and as :func:`grapekg.cli.console.progress_counter`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

__all__ = ["Advance", "Progress", "counter"]

Advance = Callable[[int], None]
Progress = Callable[[str, int | None], AbstractContextManager[Advance]]


def _ignore(n: int) -> None:
    del n


def counter(
    progress: Progress | None, label: str, total: int | None
) -> AbstractContextManager[Advance]:
    """``progress(label, total)``, or a context yielding a no-op ``advance`` when
    ``progress`` is not callable (None, or the ``True``/``False`` of older callers)."""
    if not callable(progress):
        return nullcontext(_ignore)
    return progress(label, total)
