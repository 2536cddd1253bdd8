"""``grape query NAME --param k=v``: run a parameterised query file from cypher/."""

from __future__ import annotations

import csv
import json
import re
import sys
from typing import Annotated, Any

import typer

from grapekg.app import query as query_flow
from grapekg.cli.common import open_store
from grapekg.cli.console import console, table
from grapekg.errors import ConfigError, cut, show


def parse_param(item: str) -> tuple[str, Any]:
    """``k=v`` -> (k, typed v): integers, floats, true/false, JSON lists, else a string."""
    key, sep, raw = item.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ConfigError(f"--param {show(item)}: expected NAME=VALUE")
    value: Any = raw
    if re.fullmatch(r"-?\d+", raw):
        value = int(raw)
        if not -(2**63) <= value < 2**63:  # Neo4j integers are 64-bit
            raise ConfigError(f"--param {key}={cut(raw, 40)}: integer out of the 64-bit range")
    elif re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", raw):
        value = float(raw)
    elif raw in ("true", "false"):
        value = raw == "true"
    elif raw.startswith("["):
        try:
            value = json.loads(raw)
        except ValueError:
            raise ConfigError(f"--param {show(item)}: not a JSON list") from None
    return key, value


def query(
    name: Annotated[
        str, typer.Argument(help="Query file name in cypher/ (without .cypher); 'list' shows them.")
    ],
    param: Annotated[list[str], typer.Option("--param", "-p", help="NAME=VALUE, repeatable.")] = [],  # noqa: B006
    fmt: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
) -> None:
    """Run a parameterised Cypher file and print its rows (a value '@latest' stands for the
    newest complete model run)."""
    if fmt not in ("table", "csv"):  # checked before the query runs
        raise ConfigError(f"--format {show(fmt)}: use table or csv")
    if name == "list":
        rows = [(q.name, q.description, ", ".join(q.params)) for q in query_flow.user_queries()]
        console.print(table("Queries (cypher/)", ["name", "answers", "parameters"], rows))
        return
    params = dict(parse_param(p) for p in param)
    qf = query_flow.prepare(name, params)
    with open_store() as store:
        rows = query_flow.run(store, qf, params)
    cols = list(rows[0].keys()) if rows else []
    if fmt == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        for r in rows:
            w.writerow([json.dumps(v) if isinstance(v, list | dict) else v for v in r.values()])
    elif fmt == "table":
        console.print(
            table(
                f"{name}: {qf.description}",
                cols or ["(no rows)"],
                [[_fmt(v) for v in r.values()] for r in rows],
            )
        )
    else:
        raise ConfigError(f"--format '{fmt}': use table or csv")


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(map(str, v[:8])) + (" …" if len(v) > 8 else "")
    return v
