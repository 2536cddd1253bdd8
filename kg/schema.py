"""The graph schema, read from ``schema.yaml`` (the single source of truth).

From it come: the Cypher constraints and indexes (``cypher/ddl/schema.cypher`` and the
on-demand subset), the loader's per-type ``MERGE`` statements, per-type counts and the vector
indexes of gene features (all generated here, and only here, with every identifier checked
against the schema), the labels and relationship types adapters may emit (plus the ones
adapters declare), the declared properties, the biotype-class mapping, the typed gene
relations and the PyG edge-type names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from grapekg.cypher import CypherFile
from grapekg.errors import ConfigError

IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
REL_IDENT = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class VectorSpec:
    """Gene feature vectors: property ``<prefix><modality>`` (+ ``..._model``), cosine index."""

    prefix: str = "feat_"
    modality: str = r"^[a-z][a-z0-9_]{0,30}$"
    similarity: str = "cosine"


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
    vectors: VectorSpec = field(default_factory=VectorSpec)
    on_demand: tuple[str, ...] = ()

    # ------------------------------------------------------------------ gene classes
    def gene_node_types(self) -> tuple[str, ...]:
        """The biotype classes = PyG node types of the gene graph, e.g. ``('c', 'nc')``."""
        out: dict[str, None] = {}
        for s, _, d in self.gene_relations:
            out.setdefault(s)
            out.setdefault(d)
        return tuple(out)

    def gene_edge_types(self) -> tuple[tuple[str, str, str], ...]:
        """PyG triples of the typed gene relations, each cross-class relation followed by its
        reverse ``rev_<rel>``: ``(('c','cc','c'), ('c','cn','nc'), ('nc','rev_cn','c'), ...)``."""
        out: list[tuple[str, str, str]] = []
        for s, r, d in self.gene_relations:
            out.append((s, r, d))
            if s != d:
                out.append((d, f"rev_{r}", s))
        return tuple(out)

    def gene_relation(self, src_class: str, dst_class: str) -> str:
        """Name of the (undirected) relation between genes of two classes, e.g. 'cn'."""
        for s, r, d in self.gene_relations:
            if (s, d) in ((src_class, dst_class), (dst_class, src_class)):
                return r
        raise ConfigError(f"no gene relation between classes {src_class!r} and {dst_class!r}")

    def gene_relation_names(self) -> tuple[str, ...]:
        return tuple(r for _, r, _ in self.gene_relations)

    def relation_of_classes(self) -> dict[str, str]:
        """``{'<src class>><dst class>': relation}`` for every ordered pair of classes."""
        return {
            f"{a}>{b}": self.gene_relation(a, b)
            for a in self.gene_node_types()
            for b in self.gene_node_types()
        }

    # ------------------------------------------------------------------ properties
    def has_property(self, type_name: str, prop: str) -> bool:
        """Whether ``prop`` is declared on node label or relationship type ``type_name``
        (gene feature vector properties included)."""
        if type_name in self.nodes:
            if prop in self.nodes[type_name].properties:
                return True
            return type_name == "Gene" and self.vector_modality(prop) is not None
        if type_name in self.relationships:
            return prop in self.relationships[type_name].properties
        return False

    def vector_property(self, modality: str) -> str:
        """``feat_<modality>``; the modality must match the schema's pattern."""
        if not re.match(self.vectors.modality, modality):
            raise ConfigError(f"modality '{modality}' must be lower_snake_case")
        return f"{self.vectors.prefix}{modality}"

    def vector_modality(self, prop: str) -> str | None:
        """The modality of a declared vector property (``feat_x`` or ``feat_x_model``)."""
        if not prop.startswith(self.vectors.prefix):
            return None
        rest = prop[len(self.vectors.prefix) :]
        for m in (rest, rest.removesuffix("_model")):
            if re.match(self.vectors.modality, m):
                return m
        return None

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
        return replace(self, nodes=n, relationships=r)

    def constraint_statements(self) -> list[str]:
        """``CREATE CONSTRAINT`` / ``CREATE INDEX`` statements (idempotent)."""
        out: list[str] = []
        for nt in self.nodes.values():
            keys = ", ".join(f"n.{k}" for k in nt.key)
            name = f"{nt.label.lower()}_{'_'.join(nt.key)}_unique"
            out.append(
                f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{nt.label}) "
                f"REQUIRE ({keys}) IS UNIQUE"
            )
            for prop in nt.indexes:
                out.append(
                    f"CREATE INDEX {nt.label.lower()}_{prop} IF NOT EXISTS "
                    f"FOR (n:{nt.label}) ON (n.{prop})"
                )
        for rt in self.relationships.values():
            for prop in rt.indexes:
                out.append(
                    f"CREATE INDEX {rt.type.lower()}_{prop} IF NOT EXISTS "
                    f"FOR ()-[r:{rt.type}]-() ON (r.{prop})"
                )
        return out

    # ------------------------------------------------------------------ generated Cypher
    def ddl(self) -> list[CypherFile]:
        """Every constraint and index statement, one :class:`CypherFile` each."""
        return [
            _generated(f"schema[{i}]", s, "constraint or index of kg/schema.yaml")
            for i, s in enumerate(self.constraint_statements())
        ]

    def on_demand_ddl(self) -> list[CypherFile]:
        """The constraints/indexes of ``on_demand_indexes`` (exporter, PyG stores, write-back)."""
        wanted = set(self.on_demand)
        keep = []
        for nt in self.nodes.values():
            keys = ", ".join(f"n.{k}" for k in nt.key)
            name = f"{nt.label.lower()}_{'_'.join(nt.key)}_unique"
            if nt.label in wanted:
                keep.append(
                    f"CREATE CONSTRAINT {name} IF NOT EXISTS FOR (n:{nt.label}) "
                    f"REQUIRE ({keys}) IS UNIQUE"
                )
            for prop in nt.indexes:
                if nt.label in wanted or f"{nt.label}.{prop}" in wanted:
                    keep.append(
                        f"CREATE INDEX {nt.label.lower()}_{prop} IF NOT EXISTS "
                        f"FOR (n:{nt.label}) ON (n.{prop})"
                    )
        for rt in self.relationships.values():
            if rt.type in wanted:
                keep += [
                    f"CREATE INDEX {rt.type.lower()}_{prop} IF NOT EXISTS "
                    f"FOR ()-[r:{rt.type}]-() ON (r.{prop})"
                    for prop in rt.indexes
                ]
        return [
            _generated(f"on_demand[{i}]", s, "on-demand constraint or index")
            for i, s in enumerate(keep)
        ]

    def node_merge(self, label: str) -> CypherFile:
        """``UNWIND $rows`` + ``MERGE`` of nodes of ``label`` on their key (the loader's),
        stamped with the staging id ``$load`` (``load_created`` only on nodes it creates, so a
        failed load can remove exactly what it added)."""
        nt = self._node(label)
        key = nt.key[0]
        return _generated(
            f"merge_{label}",
            f"UNWIND $rows AS row MERGE (n:{label} {{{key}: row.key}}) "
            "ON CREATE SET n.load_created = $load "
            "SET n += row.props, n.source = row.source, n.load = $load",
            f"merge {label} nodes on {key}",
            ("rows", "load"),
        )

    def edge_merge(
        self, rtype: str, src: str, dst: str, list_keys: tuple[str, ...] = ()
    ) -> CypherFile:
        """``UNWIND $rows`` + ``MERGE`` of ``rtype`` edges between keyed nodes; the properties
        in ``list_keys`` are merged as sets. Returns the number of edges matched as ``n``."""
        rt = self.relationships.get(rtype)
        if rt is None:
            raise ConfigError(f"relationship type {rtype} is not in the schema")
        skey, dkey = self._node(src).key[0], self._node(dst).key[0]
        for k in list_keys:
            if not IDENT.match(k) or k not in rt.properties:
                raise ConfigError(f"{rtype}.{k} is not a declared property of the schema")
        unions = "".join(
            f", r.{k} = reduce(acc = coalesce(r.{k}, []), x IN coalesce(row.lists.{k}, []) | "
            f"CASE WHEN x IN acc THEN acc ELSE acc + x END)"
            for k in list_keys
        )
        return _generated(
            f"merge_{rtype}",
            f"UNWIND $rows AS row MATCH (a:{src} {{{skey}: row.src}}) "
            f"MATCH (b:{dst} {{{dkey}: row.dst}}) "
            f"MERGE (a)-[r:{rtype}]->(b) ON CREATE SET r.load_created = $load "
            f"SET r += row.props, r.source = row.source, r.load = $load{unions} "
            "RETURN count(r) AS n",
            f"merge {rtype} edges",
            ("rows", "load"),
        )

    def count_nodes(self, label: str) -> CypherFile:
        self._node(label)
        return _generated(
            f"count_{label}", f"MATCH (n:{label}) RETURN count(n) AS n", f"number of {label} nodes"
        )

    def count_relationships(self, rtype: str) -> CypherFile:
        if rtype not in self.relationships:
            raise ConfigError(f"relationship type {rtype} is not in the schema")
        return _generated(
            f"count_{rtype}",
            f"MATCH ()-[r:{rtype}]->() RETURN count(r) AS n",
            f"number of {rtype} relationships",
        )

    def vector_index_name(self, modality: str) -> str:
        return f"gene_{self.vector_property(modality)}"

    def vector_index(self, modality: str) -> CypherFile:
        """``CREATE VECTOR INDEX`` on the Gene vectors of ``modality`` (width ``$dim``)."""
        prop = self.vector_property(modality)
        return _generated(
            f"vector_index_{modality}",
            f"CREATE VECTOR INDEX {self.vector_index_name(modality)} IF NOT EXISTS "
            f"FOR (g:Gene) ON (g.{prop}) OPTIONS {{indexConfig: {{`vector.dimensions`: $dim, "
            f"`vector.similarity_function`: '{self.vectors.similarity}'}}}}",
            f"vector index of Gene.{prop}",
            ("dim",),
        )

    def drop_vector_index(self, modality: str) -> CypherFile:
        name = self.vector_index_name(modality)
        return _generated(
            f"drop_{name}", f"DROP INDEX {name} IF EXISTS", f"drop the vector index {name}"
        )

    def _node(self, label: str) -> NodeType:
        nt = self.nodes.get(label)
        if nt is None:
            raise ConfigError(f"label {label} is not in the schema")
        return nt

    def pyg_metadata(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        """PyG ``metadata()``-style (node types, edge types) of the knowledge graph."""
        ntypes = [nt.pyg for nt in self.nodes.values() if nt.pyg]
        etypes = [rt.pyg_edge_type(self) for rt in self.relationships.values() if rt.pyg]
        return ntypes, etypes


def _generated(name: str, text: str, description: str, params: tuple[str, ...] = ()) -> CypherFile:
    return CypherFile(
        name=name, text=text, description=description, params=params, kind="generated"
    )


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
            nodes[label] = NodeType(
                label, key_t, props, tuple(spec.get("indexes", [])), spec.get("pyg")
            )
        rels: dict[str, RelType] = {}
        for rtype, spec in data["relationships"].items():
            _check_rel(rtype)
            if spec["from"] not in nodes or spec["to"] not in nodes:
                raise ConfigError(f"{origin}: {rtype} links unknown labels")
            rprops = dict(spec.get("properties", {}))
            for k in spec.get("indexes", []):
                if k not in rprops:
                    raise ConfigError(f"{origin}: {rtype}.{k} is indexed but not a property")
            rels[rtype] = RelType(
                rtype,
                spec["from"],
                spec["to"],
                rprops,
                spec.get("pyg"),
                tuple(spec.get("indexes", [])),
            )
        bc = data["biotype_classes"]
        gene_rel = tuple(tuple(x) for x in data.get("gene_relations", []))
        classes = {bc["default"], *bc.get("map", {}).values()}
        for rel in gene_rel:
            if len(rel) != 3 or rel[0] not in classes or rel[2] not in classes:
                raise ConfigError(
                    f"{origin}: gene relation {list(rel)} must be "
                    "[class, name, class] over the biotype classes"
                )
        vec = (
            VectorSpec(**nodes_vectors)
            if (nodes_vectors := data["nodes"].get("Gene", {}).get("vectors"))
            else VectorSpec()
        )
        on_demand = tuple(data.get("on_demand_indexes", []))
        for item in on_demand:
            base = item.split(".", 1)[0]
            if base not in nodes and base not in rels:
                raise ConfigError(f"{origin}: on_demand_indexes names unknown type {base}")
            if "." in item and item.split(".", 1)[1] not in nodes[base].indexes:
                raise ConfigError(f"{origin}: on_demand_indexes: {item} is not an index")
        return Schema(
            nodes,
            rels,
            bc["default"],
            dict(bc.get("map", {})),
            gene_rel,  # type: ignore[arg-type]
            vec,
            on_demand,
        )
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
    """Text of ``cypher/ddl/schema.cypher``, generated from the schema."""
    head = [
        "// Constraints and indexes of the grape-kg graph.",
        "// GENERATED from kg/schema.yaml by `grape kg schema --write`; do not edit by hand.",
        "// Parameters: none. Safe to run repeatedly (IF NOT EXISTS).",
    ]
    return "\n".join(head + [s + ";" for s in schema.constraint_statements()]) + "\n"
