"""Cypher statements, one ``.cypher`` file each, loaded by name: the one loader of grape-kg.

Every file starts with a header comment saying what it does (the first comment line) and
which parameters it takes (a ``// Parameters:`` line); the files run unchanged in Neo4j
Browser. Four kinds, by place:

- ``user``: ``cypher/<name>.cypher``, read-only queries for people (:func:`load`, ``grape query``);
- ``internal``: ``cypher/internal/<name>.cypher``, statements the library runs (writes, paging;
  :func:`internal`), never runnable through ``grape query``;
- ``ddl``: ``cypher/ddl/<name>.cypher``, schema and administration commands (:func:`ddl`);
- ``generated``: text that depends on the graph schema (constraints, indexes, the loader's
  per-type ``MERGE``), made by :mod:`grapekg.kg.schema` only; ``cypher/ddl/schema.cypher`` is
  such a text, written to disk by ``grape kg schema --write``.

:class:`~grapekg.kg.store.Store` runs only :class:`CypherFile` objects, never strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

KINDS = ("user", "internal", "ddl", "generated")
_NAME = re.compile(r"[a-z0-9_]+")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class NotAUserQuery(KeyError):
    """The name is an internal or DDL statement of grape-kg, not a user query."""


@dataclass(frozen=True)
class CypherFile:
    """One Cypher statement (or, for DDL files, several separated by ``;``)."""

    name: str
    text: str
    description: str = ""
    params: tuple[str, ...] = ()
    kind: str = "user"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Cypher kind {self.kind!r} is not one of {', '.join(KINDS)}")

    @property
    def body(self) -> str:
        """The text without comment lines."""
        return strip_comments(self.text)

    def statements(self) -> list[CypherFile]:
        """The ``;``-separated statements of the file, each a CypherFile of the same kind."""
        parts = [s.strip() for s in self.body.split(";")]
        return [
            CypherFile(f"{self.name}[{i}]", s, self.description, _params(s), self.kind)
            for i, s in enumerate(p for p in parts if p)
        ]


def strip_comments(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))


def _params(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(_PARAM.findall(strip_comments(text)))))


def _names(*sub: str) -> list[str]:
    root = resources.files(__name__).joinpath(*sub)
    return sorted(p.name[:-7] for p in root.iterdir() if p.name.endswith(".cypher"))


def _read(name: str, sub: tuple[str, ...], kind: str) -> CypherFile:
    if not _NAME.fullmatch(name):
        raise KeyError(name)
    f = resources.files(__name__).joinpath(*sub, f"{name}.cypher")
    if not f.is_file():
        raise KeyError(name)
    text = f.read_text()
    header = [ln[2:].strip() for ln in text.splitlines() if ln.startswith("//")]
    desc = next((h for h in header if h and not h.lower().startswith("parameters")), "")
    if kind == "ddl" and any(h.startswith("GENERATED") for h in header):
        kind = "generated"
    return CypherFile(name=name, text=text, description=desc, params=_params(text), kind=kind)


def names() -> list[str]:
    """Names of the user query files (``cypher/*.cypher``, without ``.cypher``)."""
    return _names()


def internal_names() -> list[str]:
    return _names("internal")


def ddl_names() -> list[str]:
    return _names("ddl")


def load(name: str) -> CypherFile:
    """The user query ``cypher/<name>.cypher``. Raises :class:`NotAUserQuery` for the name of
    an internal or DDL file, KeyError for an unknown name."""
    try:
        return _read(name, (), "user")
    except KeyError:
        if _NAME.fullmatch(name) and (name in internal_names() or name in ddl_names()):
            raise NotAUserQuery(name) from None
        raise


@cache
def internal(name: str) -> CypherFile:
    """The library statement ``cypher/internal/<name>.cypher`` (cached); KeyError if unknown."""
    return _read(name, ("internal",), "internal")


@cache
def ddl(name: str) -> CypherFile:
    """The DDL file ``cypher/ddl/<name>.cypher`` (cached); KeyError if unknown."""
    return _read(name, ("ddl",), "ddl")
