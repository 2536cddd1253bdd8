"""Typed records adapters yield, and the adapter contract.

An adapter reads one source and yields frozen :class:`Node` and :class:`Edge` records, each
stamped with its :class:`SourceInfo`. Contract: a node is yielded before any edge that points
at it (the loader writes edges in batches as they come). Adapters never write:
:mod:`grapekg.kg.loader` does.
Adapters are found by name in the ``grapekg.adapters`` entry-point group, so a user package
can add one without touching grape-kg.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from grapekg.errors import ConfigError

if TYPE_CHECKING:
    from grapekg.kg.genes import GeneIndex
    from grapekg.kg.schema import NodeType, RelType


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Provenance of one source release; stored as a ``Source`` node."""

    name: str
    version: str
    licence: str
    url: str = ""
    retrieved: str = ""

    @property
    def key(self) -> str:
        """The ``source`` stamp put on every node and relationship, ``name@version``."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class Node:
    label: str
    key: str
    props: Mapping[str, Any]
    source: str


@dataclass(frozen=True, slots=True)
class Edge:
    type: str
    src_label: str
    src_key: str
    dst_label: str
    dst_key: str
    props: Mapping[str, Any]
    source: str


Record = Node | Edge


@runtime_checkable
class Adapter(Protocol):
    """What the loader needs from an adapter."""

    name: ClassVar[str]
    needs_genes: ClassVar[bool]

    def source(self) -> SourceInfo: ...

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]: ...

    @property
    def stats(self) -> Counter[str]: ...


@dataclass
class BaseAdapter:
    """Convenience base: keeps counters (``unmapped_*`` are reported to the user)."""

    name: ClassVar[str] = "base"
    needs_genes: ClassVar[bool] = False
    #: extra node / relationship types this adapter emits beyond kg/schema.yaml
    extra_nodes: ClassVar[tuple[NodeType, ...]] = ()
    extra_relationships: ClassVar[tuple[RelType, ...]] = ()
    stats: Counter[str] = field(default_factory=Counter, init=False)

    def source(self) -> SourceInfo:  # pragma: no cover - abstract
        raise NotImplementedError

    def records(self, genes: GeneIndex | None = None) -> Iterator[Record]:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def from_paths(cls, paths: Mapping[str, Path]) -> BaseAdapter:
        """Build from ``--path role=FILE`` options; the default builds the offline source."""
        raise NotImplementedError  # pragma: no cover


def available() -> dict[str, Any]:
    """Adapter classes registered in the ``grapekg.adapters`` entry-point group."""
    return {ep.name: ep for ep in entry_points(group="grapekg.adapters")}


def get(name: str) -> type[BaseAdapter]:
    eps = available()
    if name not in eps:
        raise ConfigError(f"unknown source '{name}'; registered adapters: {', '.join(sorted(eps))}")
    return eps[name].load()  # type: ignore[no-any-return]
