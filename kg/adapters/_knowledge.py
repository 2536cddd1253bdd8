"""What the knowledge-source adapters (STRING, CollecTRI, PROGENy, MSigDB) share: input roles
and typed options checked in one place, the gene-identity resolver the build hands them, and
the version of a user's file (its name and SHA-256, never the offline default's)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from grapekg.errors import ConfigError, InputError
from grapekg.kg.genes import GeneIndex
from grapekg.kg.identity import GeneResolver
from grapekg.kg.records import BaseAdapter


@dataclass
class KnowledgeAdapter(BaseAdapter):
    """Base of the knowledge sources: ``ROLES`` are the ``-p SOURCE.ROLE=FILE`` inputs,
    ``OPTIONS`` the ``-o SOURCE.KEY=VALUE`` options (name -> type)."""

    needs_genes: ClassVar[bool] = True
    #: the build sets a resolver over the KG's gene identity (synonyms included); without
    #: one, names resolve through the current symbols and ids only
    uses_resolver: ClassVar[bool] = True
    ROLES: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[dict[str, type]] = {}
    resolver: GeneResolver | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_paths(cls, paths: Mapping[str, Path], **options: Any) -> KnowledgeAdapter:
        unknown = set(paths) - set(cls.ROLES)
        if unknown:
            roles = ", ".join(f"{r}=" for r in cls.ROLES)
            raise InputError(
                ", ".join(sorted(unknown)), f"unknown {cls.name} input role (use {roles})"
            )
        return cls(**{k: Path(v) for k, v in paths.items()}, **cls.parse_options(options))

    @classmethod
    def parse_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Options as their declared types; an unknown key or a bad value is a usage error."""
        out: dict[str, Any] = {}
        for key, value in options.items():
            typ = cls.OPTIONS.get(key)
            if typ is None:
                known = ", ".join(sorted(cls.OPTIONS)) or "none"
                raise ConfigError(f"--option {cls.name}.{key}: unknown option (known: {known})")
            try:
                out[key] = typ(value) if not isinstance(value, typ) else value
            except (TypeError, ValueError):
                raise ConfigError(
                    f"--option {cls.name}.{key}={value}: expected {typ.__name__}"
                ) from None
        return out

    def gene_index(self, genes: GeneIndex | None) -> GeneIndex:
        if genes is None or not len(genes):
            raise InputError(self.name, "needs Gene nodes: load 'ensembl' first")
        return genes


def file_version(path: Path | None) -> str:
    """``<file name>-<first 12 hex of its SHA-256>`` of a user's file."""
    if path is None or not Path(path).is_file():
        return "unknown"
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(path).name)[:40]
    return f"{stem}-{h.hexdigest()[:12]}"


def sign_of(value: float) -> int:
    return 1 if value > 0 else -1 if value < 0 else 0
