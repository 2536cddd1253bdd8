"""A user package adds an adapter through the `grapekg.adapters` entry-point group, without
touching grape-kg; docs/knowledge-graph.md's example is this very file."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

from grapekg.kg import records
from grapekg.kg.build import build
from tests.conftest import cy
from tests.test_loader import mini_paths

PLUGIN = Path(__file__).parent / "fixtures" / "plugin" / "grape_interactions.py"


def _install_plugin(site: Path) -> None:
    """A minimal installed distribution: module + dist-info with an entry point."""
    shutil.copy(PLUGIN, site / "grape_interactions.py")
    info = site / "grape_interactions-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: grape-interactions\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[grapekg.adapters]\ninteractions = grape_interactions:InteractionsAdapter\n"
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()


def test_docs_show_the_plugin():
    readme = (Path(__file__).parents[1] / "docs" / "knowledge-graph.md").read_text()
    assert PLUGIN.read_text().strip() in readme


def test_plugin_adapter_loads_a_new_edge_type(store, neo4j_settings, kg_fixtures, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_plugin(site)
    try:
        assert "interactions" in records.available()
        tsv = tmp_path / "trrust.tsv"
        tsv.write_text(
            "TP53\tMDM2\tActivation\t0.9\nTP53\tCDKN1A\tActivation\t0.8\nFOO\tTP53\tRepression\t1\n"
        )
        paths = mini_paths(kg_fixtures)
        paths["interactions"] = {"tsv": tsv}
        reps = build(store, neo4j_settings, ["interactions", "ensembl"], paths)
        assert [r.source.name for r in reps] == ["ensembl", "interactions"]
        assert reps[1].stats["unmapped_interactions"] == 1
        rows = store.read(
            cy(
                "MATCH (a:Gene)-[r:INTERACTS_WITH]->(b:Gene) "
                "RETURN a.symbol AS a, b.symbol AS b, r.score AS s, r.source AS src ORDER BY b"
            )
        )
        assert rows == [
            {"a": "TP53", "b": "CDKN1A", "s": 0.8, "src": "interactions@1"},
            {"a": "TP53", "b": "MDM2", "s": 0.9, "src": "interactions@1"},
        ]
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("grape_interactions", None)
        importlib.invalidate_caches()
