"""Run the user queries of ``cypher/`` (``grape query``): internal and DDL statements are
refused; a parameter value ``@latest`` stands for the newest complete model run in the graph
(:func:`grapekg.app.runs.latest_run_id`, the one definition every command uses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grapekg import cypher
from grapekg.cypher import CypherFile
from grapekg.errors import ConfigError
from grapekg.kg.store import Store

LATEST = "@latest"


def user_queries() -> list[CypherFile]:
    """Every user query file of ``cypher/``."""
    return [cypher.load(n) for n in cypher.names()]


def prepare(name: str, params: Mapping[str, Any]) -> CypherFile:
    """The user query ``name``, checked against ``params`` (missing or unknown ones)."""
    try:
        qf = cypher.load(name)
    except cypher.NotAUserQuery:
        raise ConfigError(
            f"'{name}' is an internal statement of grape-kg, not a query; "
            "'grape query list' shows the queries"
        ) from None
    except KeyError:
        raise ConfigError(f"no query '{name}' in cypher/; 'grape query list' shows them") from None
    missing = [p for p in qf.params if p not in params]
    if missing:
        raise ConfigError(f"query '{name}' needs --param {', '.join(f'{m}=…' for m in missing)}")
    unknown = [p for p in params if p not in qf.params]
    if unknown:
        raise ConfigError(f"query '{name}' takes no parameter(s) {', '.join(unknown)}")
    return qf


def run(store: Store, qf: CypherFile, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of a prepared user query (``@latest`` resolved first)."""
    params = dict(params)
    if LATEST in params.values():
        from grapekg.app.runs import latest_run_id

        latest = latest_run_id(store)
        params = {k: latest if v == LATEST else v for k, v in params.items()}
    return store.read(qf, params)
