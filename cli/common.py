"""Settings, workspace paths and database handles for commands, and the generic checks of
option values that every command runs before any side effect (a bad ``--device`` must fail
before four minutes of prior edges are built). Each check raises
:class:`~grapekg.errors.ConfigError` (rc 2) naming the option and the cut value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from grapekg.errors import ConfigError, show

if TYPE_CHECKING:
    from grapekg.app.workspace import Workspace
    from grapekg.kg.store import Store
    from grapekg.settings import Settings

#: devices a command accepts (``auto``: CUDA when available, else CPU)
DEVICES = ("auto", "cpu", "cuda")
#: the most seeds one command runs
MAX_SEEDS = 1000


# The imports below are made inside the functions: this module is imported by every command
# before its options are checked, and neo4j (which imports pandas) and pydantic take seconds.
def settings() -> Settings:
    from grapekg.settings import Settings

    return Settings.load()


def workspace(s: Settings | None = None) -> Workspace:
    """Every path a command reads or writes, from the settings."""
    from grapekg.app.workspace import Workspace

    return Workspace(s or settings())


@contextmanager
def open_store(s: Settings | None = None) -> Iterator[Store]:
    """The KG connection of a command (:func:`grapekg.app.db.open_store`)."""
    from grapekg.app import db as db_flow

    with db_flow.open_store(s or settings()) as store:
        yield store


# ---------------------------------------------------------------------------- option checks
def check_int(
    option: str, value: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` within ``[minimum, maximum]``, else a usage error naming ``option``."""
    if minimum is not None and value < minimum:
        raise ConfigError(f"{option} {value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{option} {value}: must be at most {maximum}")
    return value


def check_float(
    option: str,
    value: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> float:
    """A finite ``value`` within the bounds (``positive``: strictly above 0)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{option} {value}: not a finite number")
    if positive and value <= 0:
        raise ConfigError(f"{option} {value}: must be greater than 0")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{option} {value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{option} {value}: must be at most {maximum}")
    return value


def check_choice(option: str, value: str, choices: Sequence[str]) -> str:
    """``value`` one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{option} {show(value)}: choose from {', '.join(choices)}")
    return value


def check_device(value: str, option: str = "--device") -> str:
    """``auto``, ``cpu`` or ``cuda`` (whether CUDA is present is checked where it is used)."""
    return check_choice(option, value, DEVICES)


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """``A..B`` (inclusive) or a comma list of non-negative integers, at most
    :data:`MAX_SEEDS` of them, no duplicates."""
    t = text.strip()
    m = re.fullmatch(r"(\d+)\.\.(\d+)", t)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if b < a:
            raise ConfigError(f"{option} {show(text)}: the range ends before it starts")
        if b - a + 1 > MAX_SEEDS:
            raise ConfigError(f"{option} {show(text)}: more than {MAX_SEEDS} seeds")
        return list(range(a, b + 1))
    parts = [p.strip() for p in t.split(",")]
    if not t or not all(re.fullmatch(r"\d{1,9}", p) for p in parts):
        raise ConfigError(
            f"{option} {show(text)}: use A..B or a comma list of non-negative integers"
        )
    seeds = [int(p) for p in parts]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{option} {show(text)}: a seed is listed twice")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"{option} {show(text)}: more than {MAX_SEEDS} seeds")
    return seeds


def check_input_file(option: str, path: Path, suffixes: Iterable[str] = ()) -> Path:
    """An existing, non-empty regular file (a directory is refused), with one of
    ``suffixes`` when given."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{option} {show(str(p))}: no such file")
    if p.is_dir():
        raise ConfigError(f"{option} {show(str(p))}: is a directory, not a file")
    if not p.is_file():
        raise ConfigError(f"{option} {show(str(p))}: not a regular file")
    sfx = tuple(suffixes)
    if sfx and not p.name.lower().endswith(sfx):
        raise ConfigError(f"{option} {show(str(p))}: expected a {' or '.join(sfx)} file")
    if p.stat().st_size == 0:
        raise ConfigError(f"{option} {show(str(p))}: the file is empty")
    return p
