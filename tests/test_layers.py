"""Guard tests of the layering: who may import ``neo4j``, that no Python string
holds Cypher, the import rules between the subpackages, and that grapekg's modules import
each other without cycles. Everything is read with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: repository folder -> import package (see [tool.setuptools] package-dir in pyproject.toml)
PACKAGES = {
    "grapekg": "grapekg",
    "kg": "grapekg.kg",
    "model": "grapekg.model",
    "cli": "grapekg.cli",
    "cypher": "grapekg.cypher",
}
#: the only module that may import the Neo4j driver
STORE = "grapekg.kg.store"
#: the only module whose string literals may hold Cypher: it generates the schema's statements
CYPHER_GENERATOR = "grapekg.kg.schema"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT)
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts).replace("/", ".")


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            out[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return out


SOURCES = _sources()
MODULES = set(SOURCES)


def _is_package(mod: str) -> bool:
    return SOURCES[mod][0].name == "__init__.py"


def _imports(
    mod: str, nodes: list[ast.stmt] | ast.Module, *, top_level: bool
) -> Iterator[tuple[str, int]]:
    """(imported module, line) of every import in ``nodes``: all of them (any depth, inside
    functions too), or with ``top_level`` only those run when the module is imported
    (module body, incl. ``if``/``try`` blocks, but not ``if TYPE_CHECKING:``)."""
    if top_level:
        todo = list(nodes.body if isinstance(nodes, ast.Module) else nodes)
        stmts: list[ast.stmt] = []
        while todo:
            st = todo.pop(0)
            if isinstance(st, ast.If):
                if "TYPE_CHECKING" in ast.unparse(st.test):
                    todo.extend(st.orelse)
                    continue
                todo.extend(st.body + st.orelse)
            elif isinstance(st, ast.Try):
                todo.extend(
                    st.body + st.orelse + st.finalbody + [s for h in st.handlers for s in h.body]
                )
            elif isinstance(st, ast.With):
                todo.extend(st.body)
            else:
                stmts.append(st)
        walk: list[ast.AST] = list(stmts)
    else:
        walk = _runtime_nodes(nodes) if isinstance(nodes, ast.AST) else nodes
    for node in walk:
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = mod if _is_package(mod) else mod.rpartition(".")[0]
                for _ in range(node.level - 1):
                    pkg = pkg.rpartition(".")[0]
                base = f"{pkg}.{node.module}" if node.module else pkg
            else:
                base = node.module or ""
            for a in node.names:
                sub = f"{base}.{a.name}"
                yield (sub if sub in MODULES else base), node.lineno


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` at any depth (function bodies included) except those under an
    ``if TYPE_CHECKING:`` (annotations only, never run)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _under(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


# --------------------------------------------------------------------------- (a) neo4j
def test_only_the_store_imports_neo4j():
    bad = [
        f"{SOURCES[m][0].relative_to(ROOT)}:{line}"
        for m in sorted(SOURCES)
        if m != STORE
        for target, line in _imports(m, SOURCES[m][1], top_level=False)
        if _under(target, "neo4j")
    ]
    assert not bad, f"neo4j imported outside {STORE}: {bad}"


# --------------------------------------------------------------------------- (b) Cypher
CYPHER = re.compile(
    r"\b(?:OPTIONAL\s+)?MATCH\s*\("  # MATCH (n ...
    r"|\bMERGE\s*[(\[]"  # MERGE (n ...
    r"|\bCREATE\s*\("  # CREATE (n ...
    r"|\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:VECTOR\s+|RANGE\s+|TEXT\s+)?(?:INDEX|CONSTRAINT)\b"
    r"|\bDROP\s+(?:INDEX|CONSTRAINT)\b"
    r"|\bSHOW\s+(?:\w+\s+)?(?:INDEXES|CONSTRAINTS)\b"
    r"|\bUNWIND\s+\S+\s+AS\s+\w"  # UNWIND $rows AS row
    r"|\bRETURN\s+(?:DISTINCT\s+)?[\w.()*]+\s+AS\s+\w"  # RETURN x.y AS z
    r"|\bCALL\s+(?:db|dbms|apoc|gds)\.\w"  # CALL db.awaitIndexes(...)
    r"|\bDETACH\s+DELETE\b"
    r"|\bSET\s+\w+(?:\.\w+|\[[^\]]+\])\s*=|\bSET\s+\w+\s*\+="  # SET n.x = / SET n += ...
    r"|\bALTER\s+(?:CURRENT\s+)?USER\b"
)


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _cypher_literals(tree: ast.Module) -> Iterator[tuple[int, str]]:
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
            if CYPHER.search(text):
                yield node.lineno, text
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and CYPHER.search(node.value)
        ):
            yield node.lineno, node.value


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (g:Gene) RETURN count(g) AS n",
        "UNWIND $rows AS row MERGE (n:Gene {id: row.id})",
        "CALL db.awaitIndexes(300)",
        "SHOW VECTOR INDEXES YIELD name",
        "SET g.feat = row.v",
        "MATCH (n) DETACH DELETE n",
        "CREATE INDEX gene_idx IF NOT EXISTS FOR (n:Gene) ON (n.idx)",
        "ALTER CURRENT USER SET PASSWORD FROM $a TO $b",
        "SET g += row.props",
    ],
)
def test_the_cypher_pattern_sees_statements(text):
    assert CYPHER.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "match the genes to the KG",
        "Return the rows, then set the index.",
        "--genes: no genes MEASURED_IN a Dataset named x",
        "create the folder",
        "the query returns rows",
        "RETURN values as a table",
    ],
)
def test_the_cypher_pattern_passes_prose(text):
    assert not CYPHER.search(text)


def test_no_python_string_holds_cypher():
    bad = [
        f"{SOURCES[m][0].relative_to(ROOT)}:{line}: {text[:60]!r}"
        for m in sorted(SOURCES)
        if m != CYPHER_GENERATOR
        for line, text in _cypher_literals(SOURCES[m][1])
    ]
    assert not bad, "Cypher in Python strings (put it in a .cypher file):\n" + "\n".join(bad)


# --------------------------------------------------------------------------- (c) import rules
FORBIDDEN = {
    "grapekg.kg": (
        "grapekg.model",
        "grapekg.perturb",
        "grapekg.evaluation",
        "grapekg.app",
        "grapekg.cli",
    ),
    "grapekg.model": (
        "grapekg.kg",
        "grapekg.perturb",
        "grapekg.app",
        "grapekg.cli",
        "grapekg.evaluation",
    ),
    "grapekg.evaluation": ("grapekg.kg", "grapekg.model", "grapekg.app", "grapekg.cli"),
    "grapekg.perturb": (
        "grapekg.kg",
        "grapekg.model",
        "grapekg.evaluation",
        "grapekg.app",
        "grapekg.cli",
    ),
    "grapekg.cypher": (
        "grapekg.kg",
        "grapekg.model",
        "grapekg.perturb",
        "grapekg.evaluation",
        "grapekg.app",
        "grapekg.cli",
    ),
    "grapekg.app": ("grapekg.cli",),
}
CLI_IMPORTERS = ("grapekg.cli", "grapekg.__main__")


def import_rule_violations() -> list[str]:
    out = []
    for m in sorted(SOURCES):
        path = SOURCES[m][0].relative_to(ROOT)
        layer = next((p for p in FORBIDDEN if _under(m, p)), None)
        for target, line in _imports(m, SOURCES[m][1], top_level=False):
            if layer and any(_under(target, f) for f in FORBIDDEN[layer]):
                out.append(f"{path}:{line}: {layer} imports {target}")
            elif _under(target, "grapekg.cli") and not any(_under(m, c) for c in CLI_IMPORTERS):
                out.append(f"{path}:{line}: {m} imports {target}")
    return out


def test_import_rules_between_subpackages():
    bad = import_rule_violations()
    assert not bad, "import rules broken:\n" + "\n".join(bad)


# --------------------------------------------------------------------------- (d) no cycles
def module_graph() -> dict[str, set[str]]:
    """Who imports whom, imports inside functions included: a cycle that only a deferred
    import keeps from failing at start-up is still two modules that need each other."""
    graph: dict[str, set[str]] = {m: set() for m in SOURCES}
    for m in SOURCES:
        for target, _ in _imports(m, SOURCES[m][1], top_level=False):
            if target in MODULES and target != m:
                graph[m].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    cycles = import_cycles(module_graph())
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)
