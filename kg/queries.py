"""Internal parameterised Cypher used by library code (priors, export, write-back, PyG stores).

The files live in ``cypher/internal/`` beside the user-facing queries of ``cypher/``, with the
same header convention (first comment line = what it does; a ``// Parameters:`` line), and
are loaded by name. They are kept out of ``cypher/`` itself because most of them write, and
every top-level file there is run read-only by ``grape query`` and its tests.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from grapekg.cypher import CypherFile


@cache
def load(name: str) -> CypherFile:
    """Read ``cypher/internal/<name>.cypher``; raises KeyError for an unknown name."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise KeyError(name)
    f = resources.files("grapekg.cypher").joinpath("internal", f"{name}.cypher")
    if not f.is_file():
        raise KeyError(name)
    text = f.read_text()
    header = [ln[2:].strip() for ln in text.splitlines() if ln.startswith("//")]
    desc = next((h for h in header if h and not h.lower().startswith("param")), "")
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("//"))
    params = tuple(sorted(set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", body))))
    return CypherFile(name=name, text=text, description=desc, params=params)


def text(name: str) -> str:
    """The query text of ``cypher/internal/<name>.cypher``."""
    return load(name).text


def names() -> list[str]:
    """Names of the internal query files."""
    root = resources.files("grapekg.cypher").joinpath("internal")
    return sorted(p.name[:-7] for p in root.iterdir() if p.name.endswith(".cypher"))
