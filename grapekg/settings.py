"""One typed settings object. Values come from explicit arguments, then the environment,
then defaults. Nothing is read at import time: call :meth:`Settings.load`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from grapekg.errors import ConfigError

#: environment variable -> settings field
ENV_VARS: dict[str, str] = {
    "NEO4J_URI": "neo4j_uri",
    "NEO4J_USER": "neo4j_user",
    "NEO4J_USERNAME": "neo4j_user",
    "NEO4J_PASSWORD": "neo4j_password",
    "NEO4J_DATABASE": "neo4j_database",
    "GRAPE_DATA_DIR": "data_dir",
    "GRAPE_CACHE_DIR": "cache_dir",
    "GRAPE_NEO4J_PORT": "neo4j_port",
    "GRAPE_NEO4J_HEAP": "neo4j_heap",
    "GRAPE_NEO4J_PAGECACHE": "neo4j_pagecache",
    "GRAPE_DEVICE": "device",
}


class Settings(BaseModel):
    """Settings of one grape-kg invocation.

    ``neo4j_uri`` set means "use that server"; unset means the local server managed by
    ``grape db start`` under ``data_dir``. The password is a secret and never printed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str = "neo4j"
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".grape")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "grape-kg")
    neo4j_port: int = Field(default=0, ge=0, le=65535, description="0 = pick a free port")
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings: ``overrides`` (e.g. CLI options) > environment > defaults."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {}
        for var, field in ENV_VARS.items():
            if env.get(var):
                values.setdefault(field, env[var])
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"setting '{field}': {err['msg']}") from None

    @property
    def neo4j_home(self) -> Path:
        """Home of the local server: conf/, data/, logs/, run/ live here."""
        return self.data_dir / "neo4j"

    @property
    def uses_external_server(self) -> bool:
        return bool(self.neo4j_uri)
