"""``grape train --set KEY=VALUE``: typed GrapeConfig overrides, one-line errors."""

from __future__ import annotations

import pytest

from grapekg.app.train import config_overrides
from grapekg.errors import ConfigError


def test_typed_values():
    got = config_overrides(
        ["gaussian_sigma=none", "epochs=3", "shared_head=false", "graph_source=prior", "lr=0.01"]
    )
    assert got == {
        "gaussian_sigma": None,
        "epochs": 3,
        "shared_head": False,
        "graph_source": "prior",
        "lr": 0.01,
    }
    assert isinstance(got["epochs"], int) and got["shared_head"] is False


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("epoch=1", "did you mean epochs"),
        ("noeq", "KEY=VALUE"),
        ("epochs=a", "not a valid int"),
        ("shared_head=maybe", "not a valid bool"),
        ("graph_source=foo", "graph_source must be"),
        ("hidden=none", "not a valid int"),
    ],
)
def test_bad_pairs_are_one_line_errors(pair, words):
    with pytest.raises(ConfigError) as exc:
        config_overrides([pair])
    msg = str(exc.value)
    assert words in msg and "\n" not in msg and msg.startswith("--set")
