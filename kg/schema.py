"""The graph schema, read from ``schema.yaml`` (the single source of truth).

From it come: the Cypher constraints and indexes (``cypher/schema.cypher``), the labels and
relationship types adapters may emit (plus the ones adapters declare), the biotype-class
mapping, and the PyG edge-type names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from grapekg.errors import ConfigError

IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
REL_IDENT = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class NodeType:
    label: str
    key: tuple[str, ...]
    properties: dict[str, str]
    indexes: tuple[str, ...] = ()
    pyg: str | None = None


@dataclass(frozen=True)
class RelType:
    type: str
    src: str
    dst: str
    properties: dict[str, str] = field(default_factory=dict)
    pyg: str | None = None
    indexes: tuple[str, ...] = ()

    def pyg_edge_type(self, schema: Schema) -> tuple[str, str, str]:
        """PyG ``(src, rel, dst)`` triple, e.g. ``('gene', 'in_pathway', 'pathway')``."""
        return (
            schema.nodes[self.src].pyg or self.src.lower(),
            self.pyg or self.type.lower(),
            schema.nodes[self.dst].pyg or self.dst.lower(),
        )


@dataclass(frozen=True)
class Schema:
    nodes: dict[str, NodeType]
    relationships: dict[str, RelType]
    biotype_default: str
    biotype_map: dict[str, str]
    gene_relations: tuple[tuple[str, str, str], ...]

    def biotype_class(self, biotype: str | None) -> str:
        """Class ('c'/'nc') of a fine biotype, by the configured mapping."""
        return self.biotype_map.get(biotype or "", self.biotype_default)

    def with_extensions(
        self, nodes: list[NodeType] | None = None, rels: list[RelType] | None = None
    ) -> Schema:
        """A schema with types declared by plug-in adapters added (validated)."""
        n = dict(self.nodes)
        r = dict(self.relationships)
        for nt in nodes or []:
            _check_label(nt.label)
            n.setdefault(nt.label, nt)
        for rt in rels or []:
            _check_rel(rt.type)
            if rt.src not in n or rt.dst not in n:
                raise ConfigError(f"relationship {rt.type}: unknown end label {rt.src}/{rt.dst}")
            r.setdefault(rt.type, rt)
        return Schema(n, r, self.biotype_default, self.biotype_map, self.gene_relations)

    def constraint_statements(self) -> list[str]:
        """``CREATE CONSTRAINT`` / ``CREATE INDEX`` statements (idempotent)."""
        out: list[str] = []
        for nt in self.nodes.values():
            keys = ", ".join(f"n.{k}" for k in nt.key)
            name = f"{nt.label.lower()}_{'_'.join(nt.key)}_unique"
            out.append(
                f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{nt.label}) REQUIRE ({keys}) IS UNIQUE"
            )
            for prop in nt.indexes:
                out.append(
                    f"CREATE INDEX {nt.label.lower()}_{prop} IF NOT EXISTS FOR (n:{nt.label}) ON (n.{prop})"
                )
        for rt in self.relationships.values():
            for prop in rt.indexes:
                out.append(f"CREATE INDEX {rt.type.lower()}_{prop} IF NOT EXISTS "
                           f"FOR ()-[r:{rt.type}]-() ON (r.{prop})")
        return out

    def pyg_metadata(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        """PyG ``metadata()``-style (node types, edge types) of the knowledge graph."""
        ntypes = [nt.pyg for nt in self.nodes.values() if nt.pyg]
        etypes = [rt.pyg_edge_type(self) for rt in self.relationships.values() if rt.pyg]
        return ntypes, etypes


def _check_label(label: str) -> None:
    if not IDENT.match(label):
        raise ConfigError(f"label '{label}' is not a valid identifier")


def _check_rel(rel: str) -> None:
    if not REL_IDENT.match(rel):
        raise ConfigError(f"relationship type '{rel}' must be UPPER_SNAKE_CASE")


def parse(data: dict[str, Any], origin: str = "schema.yaml") -> Schema:
    try:
        nodes: dict[str, NodeType] = {}
        for label, spec in data["nodes"].items():
            _check_label(label)
            key = spec["key"]
            key_t = tuple(key) if isinstance(key, list) else (key,)
            props = dict(spec.get("properties", {}))
            for k in (*key_t, *spec.get("indexes", [])):
                if k not in props:
                    raise ConfigError(f"{origin}: {label}.{k} is keyed/indexed but not a property")
            nodes[label] = NodeType(label, key_t, props, tuple(spec.get("indexes", [])), spec.get("pyg"))
        rels: dict[str, RelType] = {}
        for rtype, spec in data["relationships"].items():
            _check_rel(rtype)
            if spec["from"] not in nodes or spec["to"] not in nodes:
                raise ConfigError(f"{origin}: {rtype} links unknown labels")
            rprops = dict(spec.get("properties", {}))
            for k in spec.get("indexes", []):
                if k not in rprops:
                    raise ConfigError(f"{origin}: {rtype}.{k} is indexed but not a property")
            rels[rtype] = RelType(rtype, spec["from"], spec["to"], rprops, spec.get("pyg"),
                                  tuple(spec.get("indexes", [])))
        bc = data["biotype_classes"]
        gene_rel = tuple(tuple(x) for x in data.get("gene_relations", []))
        return Schema(nodes, rels, bc["default"], dict(bc.get("map", {})), gene_rel)  # type: ignore[arg-type]
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{origin}: missing or malformed entry {exc}") from None


@cache
def load_default() -> Schema:
    text = resources.files("grapekg.kg").joinpath("schema.yaml").read_text()
    return parse(yaml.safe_load(text))


def load(path: str | Path | None = None) -> Schema:
    """The shipped schema, or a user's YAML (e.g. another biotype-class mapping)."""
    if path is None:
        return load_default()
    p = Path(path)
    try:
        return parse(yaml.safe_load(p.read_text()), str(p))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read schema: {exc}") from None


def render_schema_cypher(schema: Schema) -> str:
    """Text of ``cypher/schema.cypher``, generated from the schema."""
    head = [
        "// Constraints and indexes of the grape-kg graph.",
        "// GENERATED from kg/schema.yaml by `grape kg schema --write`; do not edit by hand.",
        "// Parameters: none. Safe to run repeatedly (IF NOT EXISTS).",
    ]
    return "\n".join(head + [s + ";" for s in schema.constraint_statements()]) + "\n"
