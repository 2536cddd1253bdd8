from pathlib import Path

import pytest

from grapekg.errors import ConfigError
from grapekg.settings import Settings


def test_env_then_overrides():
    s = Settings.load(
        env={"NEO4J_URI": "bolt://x:1", "NEO4J_PASSWORD": "pw", "GRAPE_DATA_DIR": "/d"},
        data_dir=Path("/e"),
    )
    assert s.neo4j_uri == "bolt://x:1"
    assert s.uses_external_server
    assert s.data_dir == Path("/e")
    assert s.neo4j_password is not None and s.neo4j_password.get_secret_value() == "pw"
    assert "pw" not in repr(s)


def test_bad_setting_is_one_line_naming_the_field():
    with pytest.raises(ConfigError, match="neo4j_port"):
        Settings.load(env={"GRAPE_NEO4J_PORT": "notaport"})
