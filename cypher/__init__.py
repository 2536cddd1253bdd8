"""Parameterised Cypher files, loaded by name. Each starts with a header comment saying what
it answers and which parameters it takes; the files run unchanged in Neo4j Browser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class CypherFile:
    name: str
    text: str
    description: str
    params: tuple[str, ...]


def names() -> list[str]:
    """Names of the shipped query files (without ``.cypher``)."""
    root = resources.files(__name__)
    return sorted(p.name[:-7] for p in root.iterdir() if p.name.endswith(".cypher"))


def load(name: str) -> CypherFile:
    """Read ``cypher/<name>.cypher``; raises KeyError for an unknown name."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise KeyError(name)
    f = resources.files(__name__).joinpath(f"{name}.cypher")
    if not f.is_file():
        raise KeyError(name)
    text = f.read_text()
    header = [ln[2:].strip() for ln in text.splitlines() if ln.startswith("//")]
    desc = next((h for h in header if h and not h.lower().startswith("param")), "")
    params = tuple(sorted(set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", _strip_comments(text)))))
    return CypherFile(name=name, text=text, description=desc, params=params)


def _strip_comments(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))
